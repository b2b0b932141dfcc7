//go:build dragonfly || freebsd || netbsd

package ringnet

import "golang.org/x/sys/unix"

// tcpKeepIdle is the option for the idle time before the first keep-alive
// probe.
const tcpKeepIdle = unix.TCP_KEEPIDLE

// ipprotoMPTCP is Multipath TCP's protocol number; none here, as with net.
const ipprotoMPTCP = 0

// newSocket makes a non-blocking, close-on-exec stream socket of protocol
// proto (0: the family's default).
func newSocket(family, proto int) (int, error) {
	return unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
}
