//go:build unix

package nettest_test

import "golang.org/x/sys/unix"

// The socket options the tests read and set, with their Unix names.
const (
	solSocket   = unix.SOL_SOCKET
	soKeepAlive = unix.SO_KEEPALIVE
	soRcvBuf    = unix.SO_RCVBUF
	ipprotoTCP  = unix.IPPROTO_TCP
	tcpNoDelay  = unix.TCP_NODELAY
)

// getsockoptInt reads an integer socket option of the socket fd.
func getsockoptInt(fd uintptr, level, opt int) (int, error) {
	return unix.GetsockoptInt(int(fd), level, opt)
}

// setsockoptInt sets an integer socket option of the socket fd.
func setsockoptInt(fd uintptr, level, opt, value int) error {
	return unix.SetsockoptInt(int(fd), level, opt, value)
}
