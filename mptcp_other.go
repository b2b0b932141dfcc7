//go:build darwin || dragonfly || freebsd || netbsd

package ringnet

import "github.com/ringnet/ringnet/internal/stream"

// MultipathTCP reports whether the connection uses MPTCP: never, on this
// platform.
func (c *Conn) MultipathTCP() (bool, error) {
	if c.s.Closed() {
		return false, c.opErr("get", stream.ErrClosed)
	}
	return false, nil
}
