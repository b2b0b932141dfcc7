//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/stream"
)

// Listener is a TCP or Unix listener whose connections are served by the
// event loops. It implements net.Listener; Accept returns *Conn values.
type Listener struct {
	ln              backend.Listener
	addr            net.Addr
	network         string
	keepAlive       time.Duration
	keepAliveConfig net.KeepAliveConfig
	path            string      // a Unix socket's file ("" for TCP or an abstract name)
	unlink          atomic.Bool // remove path on Close
	userOptions     bool        // accepted sockets may inherit options the user set (opts)
}

// Accept waits for and returns the next connection, a *Conn.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.AcceptRing()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptRing is Accept with the concrete type, like net.TCPListener's
// AcceptTCP.
func (l *Listener) AcceptRing() (*Conn, error) {
	s, peer, err := l.ln.Accept()
	if err != nil {
		return nil, l.opErr("accept", err)
	}
	c := newConn(s, l.network, peer)
	if l.userOptions {
		c.s.NoteRawAccess()
	}
	if l.network != "unix" {
		_ = c.SetNoDelay(true) // as net does; a dial sets it before connecting
		c.setupKeepAlive(l.keepAlive, l.keepAliveConfig)
	}
	return c, nil
}

// Close stops listening. A pending Accept returns an error wrapping
// net.ErrClosed; connections already accepted stay open. A Unix listener
// removes its socket file, as net.UnixListener does, if Listen made it
// (see SetUnlinkOnClose).
func (l *Listener) Close() error {
	if err := l.ln.Close(); err != nil {
		return l.opErr("close", err)
	}
	if l.path != "" && l.unlink.Load() {
		_ = os.Remove(l.path)
	}
	return nil
}

// SetUnlinkOnClose sets whether Close removes a Unix listener's socket
// file, as net.UnixListener.SetUnlinkOnClose does: by default it does
// when Listen created the file, and not for a listener from FileListener.
// It means nothing for TCP.
func (l *Listener) SetUnlinkOnClose(unlink bool) { l.unlink.Store(unlink) }

// Addr returns the listener's address: a *net.TCPAddr, or a *net.UnixAddr.
func (l *Listener) Addr() net.Addr { return l.addr }

// SetDeadline sets the deadline of Accept calls; the zero time means none.
// On a closed Listener it returns net.ErrClosed, as net's listeners do.
func (l *Listener) SetDeadline(t time.Time) error {
	if err := l.ln.WithFD(func(int) error { return nil }); err != nil {
		return net.ErrClosed
	}
	l.ln.SetDeadline(t)
	return nil
}

func (l *Listener) opErr(op string, err error) error {
	switch e := err.(type) {
	case syscall.Errno:
		err = os.NewSyscallError("accept4", e)
	default:
		if err == stream.ErrClosed {
			err = net.ErrClosed
		}
	}
	return &net.OpError{Op: op, Net: l.network, Addr: l.addr, Err: err}
}
