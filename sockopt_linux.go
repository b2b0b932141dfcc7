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

// ipprotoMPTCP is Multipath TCP's protocol number.
const ipprotoMPTCP = unix.IPPROTO_MPTCP

// newSocket makes a non-blocking, close-on-exec stream socket of protocol
// proto (0: the family's default).
func newSocket(family, proto int) (int, error) {
	return unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
}
