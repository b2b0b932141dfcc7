package ringnet

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/stream"
	"github.com/ringnet/ringnet/loop"
)

// Listen announces on the local network address, as net.Listen does, and
// serves the listener's connections on io_uring loops. The network must be
// "tcp", "tcp4" or "tcp6"; other stream networks are served by the net
// package unchanged.
func Listen(network, address string) (net.Listener, error) {
	var lc ListenConfig
	return lc.Listen(context.Background(), network, address)
}

// Listen announces on the local network address, as
// net.ListenConfig.Listen does.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	nlc := net.ListenConfig{Control: lc.Control, KeepAlive: lc.KeepAlive}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		// Unknown networks get net's own errors; known non-TCP ones its
		// listeners.
		return nlc.Listen(ctx, network, address)
	}
	if lc.Buffers < 0 || lc.Buffers > 1<<15 || lc.Buffers&(lc.Buffers-1) != 0 {
		return nil, &net.OpError{Op: "listen", Net: network, Err: fmt.Errorf("ringnet: Buffers = %d is not a power of two in [0, 32768]", lc.Buffers)}
	}
	// The socket is made, bound and set listening by the net package, so
	// that address parsing, name resolution, Control and every error are
	// exactly net's; the loops then take over a duplicate of its fd.
	sl, err := nlc.Listen(ctx, network, address)
	if err != nil {
		return nil, err
	}
	tl := sl.(*net.TCPListener)
	addr := tl.Addr().(*net.TCPAddr)
	fd, err := dupFD(tl)
	_ = tl.Close()
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	g, err := loop.Backend.Acquire(lc.backendConfig())
	if err != nil {
		_ = unix.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	ln := &Listener{ln: g.Listen(fd), addr: addr, network: network, keepAlive: lc.KeepAlive}
	g.Release()
	return ln, nil
}

func (lc *ListenConfig) backendConfig() backend.Config {
	return backend.Config{
		Loops:       lc.Loops,
		RingEntries: lc.RingEntries,
		Buffers:     uint16(lc.Buffers),
		BufferSize:  lc.BufferSize,
	}
}

// dupFD returns a close-on-exec duplicate of c's socket.
func dupFD(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("fcntl", derr)
	}
	return fd, nil
}

// Listener is a TCP listener whose connections are served by io_uring
// loops. It implements net.Listener; Accept returns *Conn values.
type Listener struct {
	ln        backend.Listener
	addr      *net.TCPAddr
	network   string
	keepAlive time.Duration
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
	s, err := l.ln.Accept()
	if err != nil {
		return nil, l.opErr("accept", err)
	}
	c := newConn(s, l.network)
	c.setupAccepted(l.keepAlive)
	return c, nil
}

// Close stops listening. A pending Accept returns an error wrapping
// net.ErrClosed; connections already accepted stay open.
func (l *Listener) Close() error {
	if err := l.ln.Close(); err != nil {
		return l.opErr("close", err)
	}
	return nil
}

// Addr returns the listener's address, a *net.TCPAddr.
func (l *Listener) Addr() net.Addr { return l.addr }

// SetDeadline sets the deadline of Accept calls; the zero time means none.
func (l *Listener) SetDeadline(t time.Time) error {
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
