package ringnet

import "golang.org/x/sys/unix"

// tcpKeepIdle is the option for the idle time before the first keep-alive
// probe.
const tcpKeepIdle = unix.TCP_KEEPIDLE

// MultipathTCP reports whether the connection uses MPTCP, as
// net.TCPConn.MultipathTCP does: false, and no error, when the socket
// cannot say (a closed Conn).
func (c *Conn) MultipathTCP() (bool, error) {
	var proto int
	err := c.s.WithFD(func(fd int) error {
		var e error
		proto, e = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
		return e
	})
	return err == nil && proto == unix.IPPROTO_MPTCP, nil
}

// newSocket makes a non-blocking, close-on-exec stream socket.
func newSocket(family int) (int, error) {
	return unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}
