//go:build darwin

package fallback

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// accept accepts one connection as a non-blocking, close-on-exec socket
// and returns its peer's address. darwin has no accept4: ForkLock keeps a
// concurrent fork+exec from inheriting the socket before it is marked
// close-on-exec.
func accept(fd int) (int, syscall.Sockaddr, error) {
	syscall.ForkLock.RLock()
	nfd, peer, err := syscall.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, nil, err
	}
	if err = unix.SetNonblock(nfd, true); err != nil {
		_ = unix.Close(nfd)
		return -1, nil, err
	}
	return nfd, peer, nil
}

// sendmsg sends b; the socket does not raise SIGPIPE (setNoSigpipe).
func sendmsg(fd int, b []byte) (int, error) {
	return unix.SendmsgN(fd, b, nil, nil, 0)
}

// setNoSigpipe makes writes to a socket the peer has closed fail with
// EPIPE instead of raising SIGPIPE.
func setNoSigpipe(fd int) {
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_NOSIGPIPE, 1)
}

// Datagram flags: darwin has no MSG_CMSG_CLOEXEC (descriptors received are
// marked close-on-exec afterwards) and sends rely on SO_NOSIGPIPE.
const (
	msgCmsgCloexec = 0
	sendNoSignal   = 0
)
