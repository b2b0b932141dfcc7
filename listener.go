package ringnet

import (
	"context"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/stream"
)

// Listen announces on the local network address, as net.Listen does, and
// serves the listener's connections on the event loops. The networks
// "tcp", "tcp4", "tcp6" and "unix" are served by the loops; other networks
// are served by the net package unchanged.
func Listen(network, address string) (net.Listener, error) {
	var lc ListenConfig
	return lc.Listen(context.Background(), network, address)
}

// Listen announces on the local network address, as
// net.ListenConfig.Listen does.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	nlc := net.ListenConfig{Control: lc.Control, KeepAlive: lc.KeepAlive}
	if !servedNetwork(network) {
		// Unknown networks get net's own errors; known unserved ones its
		// listeners.
		return nlc.Listen(ctx, network, address)
	}
	cfg := config{Loops: lc.Loops, RingEntries: lc.RingEntries, Buffers: lc.Buffers, BufferSize: lc.BufferSize}
	if err := cfg.validate(); err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	// The socket is made, bound and set listening by the net package, so
	// that address parsing, name resolution, Control and every error are
	// exactly net's; the loops then take over a duplicate of its fd.
	sl, err := nlc.Listen(ctx, network, address)
	if err != nil {
		return nil, err
	}
	addr := sl.Addr()
	unlink := ""
	if ul, ok := sl.(*net.UnixListener); ok {
		// The path is removed by our Close, not by net's below.
		ul.SetUnlinkOnClose(false)
		if name := addr.String(); name != "" && name[0] != '@' {
			unlink = name
		}
	}
	fd, err := dupFD(sl.(syscall.Conn))
	_ = sl.Close()
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	g, err := cfg.acquire()
	if err != nil {
		_ = unix.Close(fd)
		if unlink != "" {
			_ = os.Remove(unlink)
		}
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	ln := &Listener{ln: g.Listen(fd), addr: addr, network: network, keepAlive: lc.KeepAlive, unlink: unlink}
	g.Release()
	return ln, nil
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

// Listener is a TCP or Unix listener whose connections are served by the
// event loops. It implements net.Listener; Accept returns *Conn values.
type Listener struct {
	ln        backend.Listener
	addr      net.Addr
	network   string
	keepAlive time.Duration
	unlink    string // socket file to remove on Close
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
	if l.network != "unix" {
		c.setupAccepted(l.keepAlive)
	}
	return c, nil
}

// Close stops listening. A pending Accept returns an error wrapping
// net.ErrClosed; connections already accepted stay open. A Unix listener
// removes its socket file, as net.UnixListener does.
func (l *Listener) Close() error {
	if err := l.ln.Close(); err != nil {
		return l.opErr("close", err)
	}
	if l.unlink != "" {
		_ = os.Remove(l.unlink)
	}
	return nil
}

// Addr returns the listener's address: a *net.TCPAddr, or a *net.UnixAddr.
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
