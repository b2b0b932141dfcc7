package nettest_test

import "golang.org/x/sys/windows"

// The socket options the tests read and set, with their Windows names.
const (
	solSocket   = windows.SOL_SOCKET
	soKeepAlive = windows.SO_KEEPALIVE
	soRcvBuf    = windows.SO_RCVBUF
	ipprotoTCP  = windows.IPPROTO_TCP
	tcpNoDelay  = windows.TCP_NODELAY
	// tcpKeepIdle is the option holding the idle time, in seconds, before
	// the first keep-alive probe (net sets it where Windows has it).
	tcpKeepIdle = windows.TCP_KEEPIDLE
)

// getsockoptInt reads an integer socket option of the socket fd.
func getsockoptInt(fd uintptr, level, opt int) (int, error) {
	return windows.GetsockoptInt(windows.Handle(fd), level, opt)
}

// setsockoptInt sets an integer socket option of the socket fd.
func setsockoptInt(fd uintptr, level, opt, value int) error {
	return windows.SetsockoptInt(windows.Handle(fd), level, opt, value)
}
