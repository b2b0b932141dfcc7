//go:build freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// accept accepts one connection as a non-blocking, close-on-exec socket
// and returns its peer's address.
func accept(fd int) (int, syscall.Sockaddr, error) {
	return syscall.Accept4(fd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
}

// sendmsg sends b without raising SIGPIPE.
func sendmsg(fd int, b []byte) (int, error) {
	return unix.SendmsgN(fd, b, nil, nil, unix.MSG_NOSIGNAL)
}

func setNoSigpipe(int) {}

// Datagram flags: descriptors received close-on-exec, sends that raise no
// SIGPIPE.
const (
	msgCmsgCloexec = unix.MSG_CMSG_CLOEXEC
	sendNoSignal   = unix.MSG_NOSIGNAL
)
