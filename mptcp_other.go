//go:build darwin || dragonfly || freebsd || netbsd

package ringnet

// MultipathTCP reports whether the connection uses MPTCP: never, on this
// platform, as net.TCPConn.MultipathTCP says.
func (*Conn) MultipathTCP() (bool, error) {
	return false, nil
}
