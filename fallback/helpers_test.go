//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/leakcheck"
	"github.com/ringnet/ringnet/internal/stream"
)

// TestMain checks, after the package's tests, that no group still runs and
// every loop told to stop has exited; then that no goroutine is left and the
// process holds no more file descriptors than before (internal/leakcheck).
func TestMain(m *testing.M) {
	leakcheck.Main(m, leakcheck.Config{Name: "fallback", Checks: []func() error{checkGroupsStopped}})
}

// checkGroupsStopped waits until no group runs, then until every loop told
// to stop has closed its poller and wake pipe.
func checkGroupsStopped() error {
	err := leakcheck.Within(10*time.Second, func() error {
		if n := len(Running()); n != 0 {
			return fmt.Errorf("after all tests, %d groups still run (a user not released?)", n)
		}
		return nil
	})
	WaitStopped()
	return err
}

// stopAll waits for every loop told to stop; tests that start groups call
// it at the end so that the next test starts from a clean state.
func waitAllStopped(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(Running()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("groups still running: %d", len(Running()))
		}
		time.Sleep(time.Millisecond)
	}
	WaitStopped()
}

// sconn turns a *stream.Stream into a net.Conn, with minimal error
// wrapping: io.EOF stays bare, ErrClosed becomes net.ErrClosed, the rest
// goes into a *net.OpError (deadline errors then report Timeout()).
type sconn struct {
	s            *stream.Stream
	laddr, raddr net.Addr
}

var _ net.Conn = (*sconn)(nil)

func newSConn(s *stream.Stream) *sconn {
	c := &sconn{s: s}
	_ = s.WithFD(func(fd int) error {
		if sa, err := unix.Getsockname(fd); err == nil {
			c.laddr = tcpAddr(sa)
		}
		if sa, err := unix.Getpeername(fd); err == nil {
			c.raddr = tcpAddr(sa)
		}
		// As net does for every TCP connection.
		return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	})
	return c
}

func tcpAddr(sa unix.Sockaddr) net.Addr {
	if sa, ok := sa.(*unix.SockaddrInet4); ok {
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	}
	return nil
}

func (c *sconn) wrap(op string, err error) error {
	switch {
	case err == nil || err == io.EOF:
		return err
	case err == stream.ErrClosed:
		err = net.ErrClosed
	}
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}

func (c *sconn) Read(b []byte) (int, error) {
	n, err := c.s.Read(b)
	return n, c.wrap("read", err)
}

func (c *sconn) Write(b []byte) (int, error) {
	n, err := c.s.Write(b)
	return n, c.wrap("write", err)
}

func (c *sconn) Close() error { return c.wrap("close", c.s.Close()) }
func (c *sconn) CloseWrite() error {
	now, err := c.s.CloseWrite()
	if err == nil && now {
		err = c.s.WithFD(func(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) })
	}
	return c.wrap("close", err)
}
func (c *sconn) LocalAddr() net.Addr  { return c.laddr }
func (c *sconn) RemoteAddr() net.Addr { return c.raddr }

func (c *sconn) SetDeadline(t time.Time) error {
	if c.s.Closed() {
		return c.wrap("set", stream.ErrClosed)
	}
	c.s.SetReadDeadline(t)
	c.s.SetWriteDeadline(t)
	return nil
}

func (c *sconn) SetReadDeadline(t time.Time) error {
	if c.s.Closed() {
		return c.wrap("set", stream.ErrClosed)
	}
	c.s.SetReadDeadline(t)
	return nil
}

func (c *sconn) SetWriteDeadline(t time.Time) error {
	if c.s.Closed() {
		return c.wrap("set", stream.ErrClosed)
	}
	c.s.SetWriteDeadline(t)
	return nil
}

// tlistener is a net.Listener over a backend.Listener.
type tlistener struct {
	ln   backend.Listener
	addr net.Addr
}

// dupFD returns a close-on-exec duplicate of c's socket.
func dupFD(t testing.TB, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	fd := -1
	var derr error
	require.NoError(t, rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}))
	require.NoError(t, derr)
	return fd
}

// rawListen returns a listening socket on 127.0.0.1 made by net, and its
// address.
func rawListen(t testing.TB) (int, net.Addr) {
	t.Helper()
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fd := dupFD(t, nl.(*net.TCPListener))
	addr := nl.Addr()
	require.NoError(t, nl.Close())
	return fd, addr
}

// listen starts a backend listener for cfg on 127.0.0.1.
func listen(t testing.TB, cfg Config) *tlistener {
	t.Helper()
	fd, addr := rawListen(t)
	g, err := Backend.Acquire(cfg)
	if err != nil {
		_ = unix.Close(fd)
		t.Fatal(err)
	}
	ln := &tlistener{ln: g.Listen(fd), addr: addr}
	g.Release()
	return ln
}

func (l *tlistener) Accept() (net.Conn, error) {
	c, err := l.accept()
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (l *tlistener) accept() (*sconn, error) {
	s, _, err := l.ln.Accept()
	if err != nil {
		if err == stream.ErrClosed {
			err = net.ErrClosed
		}
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err}
	}
	return newSConn(s), nil
}

func (l *tlistener) Close() error {
	if err := l.ln.Close(); err != nil {
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	return nil
}

func (l *tlistener) Addr() net.Addr { return l.addr }

// pair returns a connection accepted by ln and the net.Conn that dialed it.
func pair(t testing.TB, ln *tlistener) (*sconn, net.Conn) {
	t.Helper()
	d, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, err := ln.accept()
	require.NoError(t, err)
	return s, d
}

// sumStats adds up the counters of every running loop.
func sumStats() (st backend.Stats) {
	for _, s := range Backend.Stats() {
		st.Conns += s.Conns
		st.Accepts += s.Accepts
		st.AcceptErrors += s.AcceptErrors
		st.Polls += s.Polls
		st.Sleeps += s.Sleeps
		st.WakesWritten += s.WakesWritten
		st.WakesCoalesced += s.WakesCoalesced
		st.BytesIn += s.BytesIn
		st.RecvPauses += s.RecvPauses
	}
	return st
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(msg, args...)
		}
		time.Sleep(time.Millisecond)
	}
}

// pattern fills b with a sequence that depends on seed and the offset, so
// that reordered, lost or duplicated bytes are detected.
func pattern(b []byte, seed, off int) {
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		v := uint32(off+i)*0x9E3779B1 ^ x
		b[i] = byte(v>>24) ^ byte(v>>11) ^ byte(v)
	}
}
