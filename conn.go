//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/stream"
)

// Conn is a TCP or Unix stream connection served by an event loop. It
// implements net.Conn with the semantics of *net.TCPConn (and
// *net.UnixConn).
type Conn struct {
	s     *stream.Stream
	net   string
	laddr net.Addr
	raddr net.Addr
}

var (
	_ net.Conn     = (*Conn)(nil)
	_ syscall.Conn = (*Conn)(nil)
)

// newConn wraps a connected stream. peer is the peer's address as the
// accept reported it, as net takes it from accept(2); if nil, it is read
// from the socket, as is the local address. They are read with package
// syscall, as net does: x/sys/unix's Getsockname and Getpeername ask the
// socket's protocol with one more getsockopt(SO_PROTOCOL) each on Linux
// (to tell L2TP apart), system calls per connection that net does not make.
func newConn(s *stream.Stream, network string, peer syscall.Sockaddr) *Conn {
	c := &Conn{s: s, net: network}
	_ = s.WithFD(func(fd int) error {
		if sa, err := syscall.Getsockname(fd); err == nil {
			c.laddr = sockaddrToAddr(sa)
		}
		if peer == nil {
			peer, _ = syscall.Getpeername(fd)
		}
		return nil
	})
	if peer != nil {
		c.raddr = sockaddrToAddr(peer)
	}
	return c
}

// setupKeepAlive applies net's keep-alive setup of every TCP connection
// it accepts or dials: probes as cfg says if it is enabled, else after
// keepAlive idle (zero: 15 seconds) unless that is negative.
func (c *Conn) setupKeepAlive(keepAlive time.Duration, cfg net.KeepAliveConfig) {
	if !cfg.Enable && keepAlive >= 0 {
		cfg = net.KeepAliveConfig{Enable: true, Idle: keepAlive}
	}
	if cfg.Enable {
		_ = c.SetKeepAliveConfig(cfg)
	}
}

func sockaddrToAddr(sa syscall.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: "unix"}
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *syscall.SockaddrInet6:
		a := &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	}
	return nil
}

// opErr wraps err the way net wraps the errors of a TCP connection: an
// errno as a failed system call named op, the closed stream as
// net.ErrClosed, in a *net.OpError for op.
func (c *Conn) opErr(op string, err error) error {
	return c.wrapErr(op, netErr(op, err))
}

// wrapErr wraps err, already in the form net gives it, in a *net.OpError
// for op on this connection.
func (c *Conn) wrapErr(op string, err error) error {
	return &net.OpError{Op: op, Net: c.net, Source: c.laddr, Addr: c.raddr, Err: err}
}

// netErr gives an error of the stream the form net's internals give it: a
// system call's errno wrapped in an *os.SyscallError named syscallName,
// and the closed stream net.ErrClosed.
func netErr(syscallName string, err error) error {
	if e, ok := err.(syscall.Errno); ok {
		return os.NewSyscallError(syscallName, e)
	}
	if err == stream.ErrClosed {
		return net.ErrClosed
	}
	return err
}

// localOpErr is opErr for the operations net reports against the local
// address alone (deadlines, buffer sizes, a raw Control).
func (c *Conn) localOpErr(op string, err error) error {
	oe := c.opErr(op, err).(*net.OpError)
	oe.Source, oe.Addr = nil, c.laddr
	return oe
}

// Read reads data from the connection. At the end of the stream it
// returns a bare io.EOF.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.s.Read(b)
	if err != nil && err != io.EOF {
		err = c.opErr("read", err)
	}
	return n, err
}

// Write writes all of b to the connection or returns an error saying why
// it could not. Bytes are handed to the loop, which sends them in order;
// Write blocks only while too many written bytes are still unsent.
// Concurrent Writes never interleave their bytes.
func (c *Conn) Write(b []byte) (int, error) {
	n, err := c.s.Write(b)
	if err != nil {
		err = c.opErr("write", err)
	}
	return n, err
}

// Close closes the connection: pending Reads and Writes return
// net.ErrClosed, bytes already written are still sent (for up to five
// seconds), and the peer then sees the connection end.
func (c *Conn) Close() error {
	if err := c.s.Close(); err != nil {
		return c.opErr("close", err)
	}
	return nil
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if c.s.Closed() {
		return c.localOpErr("set", stream.ErrClosed)
	}
	c.s.SetReadDeadline(t)
	c.s.SetWriteDeadline(t)
	return nil
}

// SetReadDeadline sets the deadline for Reads, including one already
// blocked; a past deadline makes it return at once.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.s.Closed() {
		return c.localOpErr("set", stream.ErrClosed)
	}
	c.s.SetReadDeadline(t)
	return nil
}

// SetWriteDeadline sets the deadline for Writes, including one already
// blocked.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.s.Closed() {
		return c.localOpErr("set", stream.ErrClosed)
	}
	c.s.SetWriteDeadline(t)
	return nil
}

// CloseRead shuts down the reading side, as net.TCPConn.CloseRead does:
// Read returns the bytes already received, then io.EOF at once whenever
// none are there; on Linux, bytes a TCP peer sends afterwards are still
// returned by a later Read (a Unix socket's peer can no longer write).
// The loop receives nothing more for the connection: Read asks the kernel
// itself, without waiting.
func (c *Conn) CloseRead() error {
	if err := c.shutdown(unix.SHUT_RD); err != nil {
		return err
	}
	c.s.ShutRead()
	return nil
}

// CloseWrite shuts down the writing side and returns at once, as
// net.TCPConn.CloseWrite does: bytes earlier Writes queued are still sent,
// then the peer reads io.EOF. Later Writes fail.
func (c *Conn) CloseWrite() error {
	now, err := c.s.CloseWrite()
	if err != nil {
		return c.opErr("close", err)
	}
	if now {
		return c.shutdown(unix.SHUT_WR)
	}
	return nil
}

// shutdown shuts the socket down now, with net's errors.
func (c *Conn) shutdown(how int) error {
	err := c.s.WithFD(func(fd int) error { return unix.Shutdown(fd, how) })
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError("shutdown", errno)
	}
	if err != nil {
		return c.opErr("close", err)
	}
	return nil
}

// setsockoptInt sets an int socket option; a failed call's errno comes
// back as net's *os.SyscallError, for the caller to wrap.
func (c *Conn) setsockoptInt(level, opt, value int) error {
	err := c.s.WithFD(func(fd int) error { return unix.SetsockoptInt(fd, level, opt, value) })
	if errno, ok := err.(syscall.Errno); ok {
		return os.NewSyscallError("setsockopt", errno)
	}
	return err
}

// setsockopt sets a TCP-level option, with net's error for it.
func (c *Conn) setsockopt(level, opt, value int) error {
	if err := c.setsockoptInt(level, opt, value); err != nil {
		return c.opErr("set", err)
	}
	return nil
}

// setBuffer sets a socket buffer size, with net's error for it (which
// names the local address alone).
func (c *Conn) setBuffer(opt, bytes int) error {
	if err := c.setsockoptInt(unix.SOL_SOCKET, opt, bytes); err != nil {
		return c.localOpErr("set", err)
	}
	return nil
}

func boolint(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SetNoDelay controls Nagle's algorithm; it is off (no delay) by default.
func (c *Conn) SetNoDelay(noDelay bool) error {
	return c.setsockopt(unix.IPPROTO_TCP, unix.TCP_NODELAY, boolint(noDelay))
}

// SetKeepAlive enables or disables keep-alive probes.
func (c *Conn) SetKeepAlive(keepalive bool) error {
	return c.setsockopt(unix.SOL_SOCKET, unix.SO_KEEPALIVE, boolint(keepalive))
}

// SetKeepAlivePeriod sets the idle time before the first keep-alive
// probe, rounded up to whole seconds, as net.TCPConn.SetKeepAlivePeriod
// does: zero means 15 seconds, and a negative period changes nothing.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	return c.setKeepAliveSecs(tcpKeepIdle, d, defaultKeepAliveIdle)
}

// setKeepAliveSecs sets the keep-alive option opt (idle or interval) to d
// rounded up to whole seconds: def if d is zero, unchanged if negative.
func (c *Conn) setKeepAliveSecs(opt int, d, def time.Duration) error {
	if d == 0 {
		d = def
	} else if d < 0 {
		return nil
	}
	return c.setsockopt(unix.IPPROTO_TCP, opt, int((d+time.Second-1)/time.Second))
}

// SetLinger sets what Close does with unsent data, as
// net.TCPConn.SetLinger: negative lingers in the background (the default),
// zero discards it, including what Writes queued, and resets the
// connection, positive lingers that many seconds. Close returns at once in
// every case: a lingering close(2) blocks a goroutine of its own, not the
// caller nor the loop. SO_LINGER set through SyscallConn or on File's
// duplicate counts the same.
func (c *Conn) SetLinger(sec int) error {
	l := unix.Linger{}
	if sec >= 0 {
		l.Onoff, l.Linger = 1, int32(sec)
	}
	err := c.s.WithFD(func(fd int) error { return unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &l) })
	if err != nil {
		if errno, ok := err.(syscall.Errno); ok {
			err = os.NewSyscallError("setsockopt", errno)
		}
		return c.opErr("set", err)
	}
	c.s.SetLinger(sec)
	return nil
}

// SetReadBuffer sets the size of the kernel's receive buffer.
func (c *Conn) SetReadBuffer(bytes int) error {
	return c.setBuffer(unix.SO_RCVBUF, bytes)
}

// SetWriteBuffer sets the size of the kernel's send buffer.
func (c *Conn) SetWriteBuffer(bytes int) error {
	return c.setBuffer(unix.SO_SNDBUF, bytes)
}

// SyscallConn returns a raw network connection for socket options. Its
// Control runs while the fd is guaranteed open; Read and Write wait for
// readiness with poll(2), since the loop, not Go's netpoller, owns the
// socket, under the connection's read or write deadline. As with net,
// the raw connection of a closed Conn fails each call with net.ErrClosed.
//
// The loop of a connection that shares it with others receives on the
// socket all along: bytes it has already taken are seen by Read, not by a
// read(2) in the raw connection's Read, which sees a reset as the end of
// the stream once the loop has taken the error (the kernel keeps
// reporting the end itself).
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	c.s.NoteRawAccess()
	return rawConn{c}, nil
}

type rawConn struct{ c *Conn }

func (r rawConn) Control(f func(fd uintptr)) error {
	err := r.c.s.WithFD(func(fd int) error { f(uintptr(fd)); return nil })
	if err != nil {
		return r.c.localOpErr("raw-control", err)
	}
	return nil
}

func (r rawConn) Read(f func(fd uintptr) bool) error {
	return r.wait("raw-read", unix.POLLIN, r.c.s.ReadDeadline, f)
}

// Write holds the sending side while f runs, once the bytes Writes queued
// have gone out, so that what f writes follows them and no Write
// interleaves (net's raw Write holds its write lock likewise).
func (r rawConn) Write(f func(fd uintptr) bool) error {
	held, err := r.c.holdSend()
	switch {
	case held:
		defer r.c.s.UnlockSend(nil)
	case isErrno(err):
		// After CloseWrite, or an earlier send failure: f meets the
		// socket's state itself, as it would under net.
	default:
		return r.c.opErr("raw-write", err) // closed, or past the deadline
	}
	return r.wait("raw-write", unix.POLLOUT, r.c.s.WriteDeadline, f)
}

// holdSend takes the sending side for a caller about to write to the
// socket itself (the raw connection's Write, File) once the bytes earlier
// Writes queued are in the kernel (under the write deadline); held says
// the caller must give it back with UnlockSend. After CloseWrite it takes
// nothing, but still waits for those bytes and then shuts the socket down
// (the loop does so too once they are out; the second shutdown changes
// nothing), so that what the caller writes meets a shut socket, as after
// net's CloseWrite, instead of overtaking them. Errors are LockSend's:
// ErrWriteShut (EPIPE) after CloseWrite, the errno of a failed send,
// ErrClosed or os.ErrDeadlineExceeded.
func (c *Conn) holdSend() (held bool, err error) {
	err = c.s.LockSend(true)
	if err == nil {
		return true, nil
	}
	if isErrno(err) && c.s.WriteShut() {
		if serr := c.s.WithFD(func(fd int) error { _ = unix.Shutdown(fd, unix.SHUT_WR); return nil }); serr != nil {
			return false, serr // closed
		}
	}
	return false, err
}

// isErrno reports whether err is a syscall.Errno.
func isErrno(err error) bool {
	_, ok := err.(syscall.Errno)
	return ok
}

func (r rawConn) wait(op string, events int16, deadline func() time.Time, f func(fd uintptr) bool) error {
	if r.c.s.Closed() {
		// Closed before the deadline, as net's raw calls check.
		return r.c.opErr(op, stream.ErrClosed)
	}
	if err := pollRaw(r.c.s.WithFD, events, deadline, f); err != nil {
		return r.c.opErr(op, err)
	}
	return nil
}
