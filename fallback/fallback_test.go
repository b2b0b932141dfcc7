//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/stream"
)

// waitModes are the two ways a loop can sleep; the tests that exercise
// the loop's waiting run in both.
var waitModes = []struct {
	name string
	mode int
}{
	{"netpoll", waitNetpoll},
	{"blocking", waitBlocking},
}

func withMode(t *testing.T, mode int, f func(t *testing.T)) {
	old := waitMode
	waitMode = mode
	defer func() { waitMode = old }()
	f(t)
	waitAllStopped(t)
}

func TestNetConn(t *testing.T) {
	for _, m := range waitModes {
		t.Run(m.name, func(t *testing.T) {
			withMode(t, m.mode, func(t *testing.T) {
				nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
					ln := listen(t, Config{})
					s, d := pair(t, ln)
					return s, d, func() {
						s.Close()
						d.Close()
						ln.Close()
					}, nil
				})
			})
		})
	}
}

func TestEcho(t *testing.T) {
	const (
		conns = 100
		size  = 1 << 20
	)
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"default", Config{}},
		{"1loop-4KiB", Config{Loops: 1, BufferSize: 4 << 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t, tc.cfg)
			var srv sync.WaitGroup
			srv.Add(1)
			go func() {
				defer srv.Done()
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					srv.Add(1)
					go func() {
						defer srv.Done()
						defer c.Close()
						_, _ = io.Copy(c, c)
					}()
				}
			}()

			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for i := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- echoOne(ln.Addr().String(), i, size)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				assert.NoError(t, err)
			}
			require.NoError(t, ln.Close())
			srv.Wait()
			eventually(t, 10*time.Second, func() bool { return len(Running()) == 0 }, "group still running")
			waitAllStopped(t)
		})
	}
}

// echoOne sends size pattern bytes on a new connection, half-closes, and
// checks that the same bytes come back in order, then EOF.
func echoOne(addr string, seed, size int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	werr := make(chan error, 1)
	go func() {
		buf := make([]byte, 24<<10)
		for off := 0; off < size; {
			n := min(len(buf), size-off)
			pattern(buf[:n], seed, off)
			if _, err := c.Write(buf[:n]); err != nil {
				werr <- err
				return
			}
			off += n
		}
		werr <- c.(*net.TCPConn).CloseWrite()
	}()
	got := make([]byte, 32<<10)
	want := make([]byte, 32<<10)
	off := 0
	for {
		n, err := c.Read(got)
		if n > 0 {
			if off+n > size {
				return fmt.Errorf("conn %d: %d bytes echoed, sent %d", seed, off+n, size)
			}
			pattern(want[:n], seed, off)
			if !bytes.Equal(got[:n], want[:n]) {
				return fmt.Errorf("conn %d: bytes %d..%d differ", seed, off, off+n)
			}
			off += n
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("conn %d at %d: %w", seed, off, err)
		}
	}
	if off != size {
		return fmt.Errorf("conn %d: %d bytes echoed, sent %d", seed, off, size)
	}
	return <-werr
}

// A connection whose user never reads holds a bounded number of bytes,
// and the loop it shares keeps serving the other connections.
func TestNeverReadBounded(t *testing.T) {
	for _, m := range waitModes {
		t.Run(m.name, func(t *testing.T) {
			withMode(t, m.mode, testNeverReadBounded)
		})
	}
}

func testNeverReadBounded(t *testing.T) {
	const total = 8 << 20
	ln := listen(t, Config{Loops: 1})
	idle, idleClient := pair(t, ln)
	busy, busyClient := pair(t, ln)

	// Flood the idle connection; the writer blocks once the socket
	// buffers are full.
	wdone := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for off := 0; off < total; off += len(buf) {
			pattern(buf, 1, off)
			if _, err := idleClient.Write(buf); err != nil {
				wdone <- err
				return
			}
		}
		wdone <- nil
	}()
	eventually(t, 10*time.Second, func() bool { return idle.s.RecvPaused() }, "receive never paused")
	limit := stream.RecvHighWater + DefaultBufferSize
	unread, _ := idle.s.Buffered()
	assert.LessOrEqual(t, unread, limit)
	// The loop counts the pause just after Deliver reported it.
	eventually(t, 5*time.Second, func() bool { return sumStats().RecvPauses >= 1 }, "pause not counted")

	// The loop still serves the other connection.
	go func() { _, _ = io.Copy(busy, busy) }()
	msg, buf := []byte("ping-pong-message"), make([]byte, 17)
	for range 200 {
		_, err := busyClient.Write(msg)
		require.NoError(t, err)
		_, err = io.ReadFull(busyClient, buf)
		require.NoError(t, err)
		require.Equal(t, msg, buf)
	}
	unread, _ = idle.s.Buffered()
	assert.LessOrEqual(t, unread, limit, "the paused connection kept receiving")
	select {
	case err := <-wdone:
		t.Fatalf("writer finished early: %v", err)
	default:
	}

	// Reading resumes receiving, in order, to the end.
	got := make([]byte, 64<<10)
	want := make([]byte, 64<<10)
	for off := 0; off < total; off += len(got) {
		_, err := io.ReadFull(idle, got)
		require.NoError(t, err, "at %d", off)
		pattern(want, 1, off)
		require.True(t, bytes.Equal(got, want), "bytes at %d differ", off)
		u, _ := idle.s.Buffered()
		require.LessOrEqual(t, u, limit)
	}
	require.NoError(t, <-wdone)

	for _, c := range []io.Closer{idle, idleClient, busy, busyClient, ln} {
		c.Close()
	}
}

func TestListenerClose(t *testing.T) {
	ln := listen(t, Config{Loops: 2})

	// A connection accepted by the loop but never taken is closed with the
	// listener: its peer sees the end.
	d, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer d.Close()
	eventually(t, 5*time.Second, func() bool { return sumStats().Accepts == 1 }, "not accepted")

	accepted := make(chan error, 1)
	go func() {
		s, _, err := ln.ln.Accept()
		if err == nil {
			// The pending connection: take it, and wait for the next.
			s.Close()
			_, _, err = ln.ln.Accept()
		}
		accepted <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, ln.Close())
	select {
	case err := <-accepted:
		assert.ErrorIs(t, err, stream.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Accept not unblocked by Close")
	}
	assert.ErrorIs(t, ln.ln.Close(), stream.ErrClosed, "second Close")
	_, _, err = ln.ln.Accept()
	assert.ErrorIs(t, err, stream.ErrClosed)

	// Dialing a closed listener fails.
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err)
	waitAllStopped(t)
}

func TestListenerCloseUnaccepted(t *testing.T) {
	ln := listen(t, Config{Loops: 2})
	var clients []net.Conn
	for range 4 {
		d, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		clients = append(clients, d)
	}
	eventually(t, 5*time.Second, func() bool { return sumStats().Accepts == 4 }, "not accepted")
	require.NoError(t, ln.Close())
	for _, d := range clients {
		_ = d.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := d.Read(make([]byte, 1))
		assert.True(t, err == io.EOF || errors.Is(err, syscall.ECONNRESET), "got %v", err)
		d.Close()
	}
	waitAllStopped(t)
}

func TestAcceptDeadline(t *testing.T) {
	ln := listen(t, Config{Loops: 1})
	defer ln.Close()
	ln.ln.SetDeadline(time.Now().Add(20 * time.Millisecond))
	_, _, err := ln.ln.Accept()
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	ln.ln.SetDeadline(time.Time{})
	s, d := pair(t, ln)
	s.Close()
	d.Close()
}

// An accept that fails with EMFILE is reported once per Accept call, and
// accepting resumes when Accept is called after descriptors are free.
func TestAcceptEMFILE(t *testing.T) {
	for _, m := range waitModes {
		t.Run(m.name, func(t *testing.T) {
			withMode(t, m.mode, testAcceptEMFILE)
		})
	}
}

func testAcceptEMFILE(t *testing.T) {
	const clients = 3
	fd, addr := rawListen(t)
	var dialed []net.Conn
	defer func() {
		for _, d := range dialed {
			d.Close()
		}
	}()
	// The connections wait in the backlog until the backend accepts.
	for range clients {
		d, err := net.Dial("tcp", addr.String())
		require.NoError(t, err)
		dialed = append(dialed, d)
	}
	g, err := Acquire(Config{Loops: 2})
	require.NoError(t, err)
	defer g.Release()

	var lim unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &lim))
	maxFD := 0
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	for _, e := range ents {
		var n int
		if _, err := fmt.Sscan(e.Name(), &n); err == nil {
			maxFD = max(maxFD, n)
		}
	}
	low := lim
	setCur(&low.Cur, maxFD+8)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &low))
	var fillers []int
	restored := false
	restore := func() {
		if restored {
			return
		}
		restored = true
		for _, f := range fillers {
			_ = unix.Close(f)
		}
		require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	}
	defer restore()
	for {
		f, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			require.ErrorIs(t, err, unix.EMFILE)
			break
		}
		fillers = append(fillers, f)
	}

	before := sumStats()
	ln := g.Listen(fd)
	_, _, err = ln.Accept()
	require.ErrorIs(t, err, syscall.EMFILE)
	// Accept asked again: one more attempt, one more error, then nothing
	// until the next Accept — no spin.
	eventually(t, 5*time.Second, func() bool { return sumStats().AcceptErrors-before.AcceptErrors == 2 }, "no retry")
	mid := sumStats()
	time.Sleep(100 * time.Millisecond)
	after := sumStats()
	assert.Equal(t, mid.AcceptErrors, after.AcceptErrors, "accept retried without Accept")
	assert.LessOrEqual(t, after.Sleeps-mid.Sleeps, uint64(2), "the loops spin")
	assert.Zero(t, after.Accepts-before.Accepts)

	restore()
	got, errs := 0, 0
	for got < clients {
		s, _, err := ln.Accept()
		if err != nil {
			require.ErrorIs(t, err, syscall.EMFILE)
			errs++
			require.LessOrEqual(t, errs, 1, "stale errors")
			continue
		}
		got++
		require.NoError(t, s.Close())
	}
	require.NoError(t, ln.Close())
}

func TestHalfClose(t *testing.T) {
	ln := listen(t, Config{})
	defer ln.Close()
	s, d := pair(t, ln)
	defer d.Close()
	defer s.Close()

	// Server half-closes after a write: the client reads it, then EOF,
	// and can still send.
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	go func() {
		_, _ = s.Write(big)
		_ = s.CloseWrite()
	}()
	got, err := io.ReadAll(d)
	require.NoError(t, err)
	require.True(t, bytes.Equal(big, got))
	_, err = s.Write([]byte("x"))
	require.ErrorIs(t, err, syscall.EPIPE)

	_, err = d.Write([]byte("still open"))
	require.NoError(t, err)
	require.NoError(t, d.(*net.TCPConn).CloseWrite())
	got, err = io.ReadAll(s)
	require.NoError(t, err)
	require.Equal(t, "still open", string(got))
}

// Close sends what was written before it, then the FIN.
func TestCloseFlushes(t *testing.T) {
	ln := listen(t, Config{Loops: 1})
	defer ln.Close()
	s, d := pair(t, ln)
	defer d.Close()
	const size = 8 << 20
	data := make([]byte, size)
	pattern(data, 7, 0)
	done := make(chan error, 1)
	go func() {
		// The client does not read yet, so most of it is queued.
		_, err := s.Write(data)
		if err == nil {
			err = s.Close()
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	got, err := io.ReadAll(d)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.Equal(t, size, len(got))
	require.True(t, bytes.Equal(data, got))
}

// A peer's reset ends Read with ECONNRESET and fails later Writes.
func TestPeerReset(t *testing.T) {
	ln := listen(t, Config{})
	defer ln.Close()
	s, d := pair(t, ln)
	defer s.Close()
	_, err := d.Write([]byte("hello"))
	require.NoError(t, err)
	buf := make([]byte, 5)
	_, err = io.ReadFull(s, buf)
	require.NoError(t, err)
	require.NoError(t, d.(*net.TCPConn).SetLinger(0))
	require.NoError(t, d.Close())
	_, err = s.Read(buf)
	require.ErrorIs(t, err, syscall.ECONNRESET)
	var werr error
	for range 100 {
		if _, werr = s.Write(make([]byte, 64<<10)); werr != nil {
			break
		}
	}
	require.Error(t, werr)
	assert.True(t, errors.Is(werr, syscall.EPIPE) || errors.Is(werr, syscall.ECONNRESET), "got %v", werr)
}

// Adopt serves a socket dialed elsewhere.
func TestAdopt(t *testing.T) {
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer nl.Close()
	d, err := net.Dial("tcp", nl.Addr().String())
	require.NoError(t, err)
	fd := dupFD(t, d.(*net.TCPConn))
	require.NoError(t, d.Close())
	peer, err := nl.Accept()
	require.NoError(t, err)
	defer peer.Close()

	g, err := Backend.Acquire(Config{Loops: 3})
	require.NoError(t, err)
	c := newSConn(g.Adopt(fd))
	g.Release()

	// Not io.Copy: TCPConn.ReadFrom splices through pipes that net
	// caches, which the fd count at the end would see.
	go func() {
		buf := make([]byte, 4<<10)
		for {
			n, err := peer.Read(buf)
			if err != nil {
				return
			}
			if _, err := peer.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	for i := range 50 {
		msg := []byte(fmt.Sprintf("message %d", i))
		_, err := c.Write(msg)
		require.NoError(t, err)
		buf := make([]byte, len(msg))
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		require.Equal(t, msg, buf)
	}
	require.NoError(t, c.Close())
	assert.ErrorIs(t, c.s.Close(), stream.ErrClosed)
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, net.ErrClosed)
	waitAllStopped(t)
}

// The group lives while it has users, and stops with the last.
func TestGroupLifetime(t *testing.T) {
	cfg := Config{Loops: 2, BufferSize: 8 << 10}
	g1, err := Acquire(cfg)
	require.NoError(t, err)
	g2, err := Acquire(Config{Loops: 2, BufferSize: 8 << 10, RingEntries: 7})
	require.NoError(t, err)
	require.Same(t, g1, g2, "configs differing in ignored fields share a group")
	require.Len(t, g1.Loops(), 2)
	g2.Release()

	fd, addr := rawListen(t)
	ln := g1.Listen(fd)
	g1.Release()
	require.Len(t, Running(), 1, "the listener keeps the group")

	d, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	s, _, err := ln.Accept()
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	time.Sleep(10 * time.Millisecond)
	require.Len(t, Running(), 1, "the connection keeps the group")
	st := Backend.Stats()
	require.Len(t, st, 2)
	var conns int64
	for i, x := range st {
		assert.Equal(t, "poll", x.Backend)
		conns += x.Conns
		_ = i
	}
	assert.Equal(t, int64(1), conns)

	require.NoError(t, s.Close())
	d.Close()
	eventually(t, 5*time.Second, func() bool { return len(Running()) == 0 }, "group not stopped")
	WaitStopped()
	assert.Empty(t, Backend.Stats())
}

func TestStats(t *testing.T) {
	ln := listen(t, Config{Loops: 2})
	before := sumStats()
	var conns []net.Conn
	for range 4 {
		s, d := pair(t, ln)
		conns = append(conns, s, d)
		_, err := d.Write([]byte("0123456789"))
		require.NoError(t, err)
		_, err = io.ReadFull(s, make([]byte, 10))
		require.NoError(t, err)
	}
	st := sumStats()
	assert.Equal(t, uint64(4), st.Accepts-before.Accepts)
	assert.Equal(t, int64(4), st.Conns)
	assert.Equal(t, uint64(40), st.BytesIn-before.BytesIn)
	assert.NotZero(t, st.Sleeps)
	assert.NotZero(t, st.Polls)
	assert.NotZero(t, st.WakesWritten+st.WakesCoalesced)
	// Both loops got connections.
	for _, s := range Backend.Stats() {
		assert.Equal(t, int64(2), s.Conns, "loop %d", s.Loop)
	}
	for _, c := range conns {
		c.Close()
	}
	ln.Close()
	waitAllStopped(t)
}

// A listener closed before its loop registered it is closed once, and
// drops its group reference once.
func TestListenCloseAtOnce(t *testing.T) {
	g, err := Acquire(Config{Loops: 2})
	require.NoError(t, err)
	for range 50 {
		fd, _ := rawListen(t)
		ln := g.Listen(fd)
		require.NoError(t, ln.Close())
	}
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, []*Group{g}, Running(), "the Acquire reference keeps the group")
	g.Release()
	waitAllStopped(t)
}

// Loops park in Go's netpoller where it accepts the poller fd (epoll),
// and block a thread where it does not (kqueue).
func TestWaitModeChosen(t *testing.T) {
	g, err := Acquire(Config{Loops: 1})
	require.NoError(t, err)
	defer waitAllStopped(t)
	defer g.Release()
	l := g.Loops()[0]
	if runtime.GOOS == "linux" {
		assert.Equal(t, waitNetpoll, l.mode)
		assert.NotNil(t, l.pf)
	} else {
		// Expected: waitBlocking; not verified on a real kqueue system.
		t.Logf("wait mode on %s: %d", runtime.GOOS, l.mode)
	}
}

// setCur sets a resource limit, whose type varies between systems.
func setCur[T ~int64 | ~uint64](p *T, v int) { *p = T(v) }

// Close keeps flushing to a peer that does not read for
// stream.LingerTimeout, then gives up and closes the socket.
func TestCloseLingerAbort(t *testing.T) {
	ln := listen(t, Config{Loops: 1})
	s, d := pair(t, ln)
	defer d.Close()
	require.NoError(t, ln.Close())
	require.NoError(t, d.(*net.TCPConn).SetReadBuffer(4<<10))

	// Fill the socket buffers and the send queue.
	require.NoError(t, s.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
	buf := make([]byte, 64<<10)
	var err error
	for err == nil {
		_, err = s.Write(buf)
	}
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	_, unsent := s.s.Buffered()
	require.Positive(t, unsent)

	start := time.Now()
	require.NoError(t, s.Close())
	time.Sleep(stream.LingerTimeout / 2)
	require.Equal(t, int64(1), sumStats().Conns, "closed before the linger timeout")
	eventually(t, stream.LingerTimeout+5*time.Second, func() bool { return len(Running()) == 0 }, "not aborted")
	assert.GreaterOrEqual(t, time.Since(start), stream.LingerTimeout)
	waitAllStopped(t)
}

// A descriptor the poller refuses (a regular file) fails the stream's
// reads and writes with the poller's errno, and is still closed.
func TestAdoptUnpollable(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "notasocket")
	require.NoError(t, err)
	fd := dupFD(t, f)
	require.NoError(t, f.Close())

	g, err := Acquire(Config{Loops: 1})
	require.NoError(t, err)
	s := g.Adopt(fd)
	g.Release()
	_, err = s.Read(make([]byte, 1))
	require.ErrorIs(t, err, syscall.EPERM)
	s.SetWriteDeadline(time.Now().Add(time.Second))
	_, err = s.Write(make([]byte, 1))
	require.Error(t, err)
	require.NoError(t, s.Close())
	waitAllStopped(t)
}

// A listening descriptor the poller refuses is reported by Accept, once
// per call.
func TestListenUnpollable(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "notasocket")
	require.NoError(t, err)
	fd := dupFD(t, f)
	require.NoError(t, f.Close())

	g, err := Acquire(Config{Loops: 1})
	require.NoError(t, err)
	ln := g.Listen(fd)
	g.Release()
	for range 3 {
		_, _, err = ln.Accept()
		require.ErrorIs(t, err, syscall.EPERM)
	}
	require.NoError(t, ln.Close())
	waitAllStopped(t)
}
