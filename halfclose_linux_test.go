//go:build linux

package ringnet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/stream"
)

// halfClosePair returns a connection of impl ("net" or a backend) over
// network ("tcp" or "unix") and its peer, one of net's own; both are
// closed when the test ends. The backend's listener has one loop: shared
// puts a second connection on it first, so that the loop receives for the
// connection; otherwise it is the loop's only one, and its reader receives
// (solo). Either way the peer has sent it a few bytes it read
// (primeSolo), on net's as on the backends'.
func halfClosePair(t *testing.T, impl, network string, shared bool) (c, peer net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		dir, err := os.MkdirTemp("", "ringnet-halfclose")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "s")
	}
	var ln net.Listener
	var err error
	if impl == "net" {
		ln, err = net.Listen(network, addr)
	} else {
		ln, err = (&ListenConfig{Backend: impl, Loops: 1}).Listen(t.Context(), network, addr)
	}
	require.NoError(t, err)
	defer ln.Close()
	connect := func() (c, peer net.Conn) {
		peer, err := net.Dial(network, ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { peer.Close() })
		c, err = ln.Accept()
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c, peer
	}
	if shared && impl != "net" {
		connect()
	}
	c, peer = connect()
	primeSolo(t, peer, c)
	if rc, ok := c.(*Conn); ok {
		require.Eventually(t, func() bool { return rc.s.LoopReceives() == shared }, 5*time.Second, time.Millisecond,
			"shared=%v: the loop does not receive as it should", shared)
	}
	return c, peer
}

// halfCloseRuns runs f on net's connection, then on each backend's, alone
// on its loop and sharing it, over TCP and Unix sockets, and checks that
// each backend's observations are net's.
func halfCloseRuns(t *testing.T, networks []string, f func(t *testing.T, network string, c, peer net.Conn) []string) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			var want []string
			t.Run("net", func(t *testing.T) {
				c, peer := halfClosePair(t, "net", network, false)
				want = f(t, network, c, peer)
				t.Logf("net:\n%s", strings.Join(want, "\n"))
			})
			for _, backend := range testBackends {
				for _, shared := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/shared=%v", backend, shared), func(t *testing.T) {
						c, peer := halfClosePair(t, backend, network, shared)
						got := f(t, network, c, peer)
						assert.Equal(t, want, got, "observations, against net's")
					})
				}
			}
		})
	}
}

// describe names an error by what net's callers look at: the operation,
// the system call, and io.EOF, net.ErrClosed, a timeout or the errno.
func describe(err error) string {
	switch {
	case err == nil:
		return "nil"
	case err == io.EOF:
		return "EOF"
	}
	var parts []string
	var oe *net.OpError
	if errors.As(err, &oe) {
		parts = append(parts, oe.Op)
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		parts = append(parts, se.Syscall)
	}
	var errno syscall.Errno
	switch {
	case errors.Is(err, net.ErrClosed):
		parts = append(parts, "closed")
	case errors.Is(err, os.ErrDeadlineExceeded):
		parts = append(parts, "timeout")
	case errors.As(err, &errno):
		parts = append(parts, errno.Error())
	default:
		parts = append(parts, fmt.Sprintf("%T %v", err, err))
	}
	return strings.Join(parts, ": ")
}

// readFor is one Read of up to 64 bytes under a read deadline d away,
// described.
func readFor(c net.Conn, d time.Duration) string {
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return "SetReadDeadline: " + describe(err)
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	_ = c.SetReadDeadline(time.Time{})
	return fmt.Sprintf("%q %s", buf[:n], describe(err))
}

// peerWrite writes b on peer and, on TCP, waits until the other side's
// kernel has acknowledged it: it is then in that socket's receive queue,
// or with the loop that took it from there.
func peerWrite(t *testing.T, network string, peer net.Conn, b string) error {
	t.Helper()
	_, err := peer.Write([]byte(b))
	if err == nil && network == "tcp" {
		rc, rerr := peer.(syscall.Conn).SyscallConn()
		require.NoError(t, rerr)
		require.Eventually(t, func() bool {
			unacked := -1
			_ = rc.Control(func(fd uintptr) { unacked, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) })
			return unacked == 0
		}, 5*time.Second, time.Millisecond, "the peer's bytes were never acknowledged")
	}
	return err
}

type halfCloser interface {
	CloseRead() error
	CloseWrite() error
	SetWriteBuffer(int) error
}

// TestCloseReadLikeNet: after CloseRead, Read returns the bytes already
// received, then io.EOF at once when none are there; a TCP peer's later
// bytes are still returned (Linux queues them), a Unix peer's later
// writes fail with EPIPE; what the peer sees at Close, deadlines, a Close
// racing Read and every error are net's. On each backend, for a
// connection alone on its loop and one sharing it.
func TestCloseReadLikeNet(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, network string, c, peer net.Conn) []string
	}{
		{"peer writes after CloseRead, then Close", func(t *testing.T, network string, c, peer net.Conn) []string {
			var obs []string
			rec := func(format string, args ...any) { obs = append(obs, fmt.Sprintf(format, args...)) }
			// Before: the reader (solo) or the loop (shared) receives.
			require.NoError(t, peerWrite(t, network, peer, "hello"))
			rec("read: %s", readFor(c, 5*time.Second))
			require.NoError(t, peerWrite(t, network, peer, "early"))
			rec("CloseRead: %s", describe(c.(halfCloser).CloseRead()))
			rec("read: %s", readFor(c, 2*time.Second))
			rec("read with nothing pending: %s", readFor(c, 2*time.Second))
			rec("peer writes: %s", describe(peerWrite(t, network, peer, "late")))
			rec("read: %s", readFor(c, 2*time.Second))
			rec("read: %s", readFor(c, 2*time.Second))
			rec("Close: %s", describe(c.Close()))
			rec("peer reads: %s", readFor(peer, 5*time.Second))
			return obs
		}},
		{"CloseRead while Read waits", func(t *testing.T, network string, c, peer net.Conn) []string {
			var obs []string
			rec := func(format string, args ...any) { obs = append(obs, fmt.Sprintf(format, args...)) }
			read := make(chan string, 1)
			go func() { read <- readFor(c, 5*time.Second) }()
			time.Sleep(50 * time.Millisecond) // Read waits
			rec("CloseRead: %s", describe(c.(halfCloser).CloseRead()))
			rec("the waiting read: %s", <-read)
			rec("peer writes: %s", describe(peerWrite(t, network, peer, "late")))
			rec("read: %s", readFor(c, 2*time.Second))
			rec("read: %s", readFor(c, 2*time.Second))
			return obs
		}},
		{"CloseRead, then Close with the peer's bytes unread", func(t *testing.T, network string, c, peer net.Conn) []string {
			var obs []string
			rec := func(format string, args ...any) { obs = append(obs, fmt.Sprintf(format, args...)) }
			rec("CloseRead: %s", describe(c.(halfCloser).CloseRead()))
			rec("peer writes: %s", describe(peerWrite(t, network, peer, "late")))
			rec("Close: %s", describe(c.Close()))
			rec("peer reads: %s", readFor(peer, 5*time.Second))
			return obs
		}},
		{"deadlines and Close after CloseRead", func(t *testing.T, network string, c, peer net.Conn) []string {
			var obs []string
			rec := func(format string, args ...any) { obs = append(obs, fmt.Sprintf(format, args...)) }
			rec("CloseRead: %s", describe(c.(halfCloser).CloseRead()))
			rec("peer writes: %s", describe(peerWrite(t, network, peer, "late")))
			require.NoError(t, c.SetReadDeadline(time.Unix(1, 0)))
			n, err := c.Read(make([]byte, 8))
			rec("read past the deadline: %d %s", n, describe(err))
			require.NoError(t, c.SetReadDeadline(time.Time{}))
			rec("read: %s", readFor(c, 2*time.Second))
			// A Close racing Reads that return io.EOF at once: they
			// end with net.ErrClosed.
			ended := make(chan error, 1)
			go func() {
				buf := make([]byte, 8)
				for {
					if _, err := c.Read(buf); err != io.EOF {
						ended <- err
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
			time.Sleep(20 * time.Millisecond)
			rec("Close: %s", describe(c.Close()))
			rec("the reads end with: %s", describe(<-ended))
			rec("read after Close: %s", readFor(c, time.Second))
			return obs
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { halfCloseRuns(t, []string{"tcp", "unix"}, tt.run) })
	}
}

// TestCloseWriteLikeNet: CloseWrite returns at once, with bytes earlier
// Writes queued still to be sent (net's are in the kernel by then), and
// the peer still reads every one of them, in order, then io.EOF; Write
// after CloseWrite fails as net's does; Close after CloseWrite still
// flushes; a send that fails while flushing (the peer resets) is reported
// by a later Read or Write, as net's blocked Write reports it; CloseWrite
// on a reset connection fails as net's does. On each backend, for a
// connection alone on its loop and one sharing it.
func TestCloseWriteLikeNet(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), 200<<10/36) // ~200 KiB
	// queue makes the kernel's buffers small: most of data waits in the
	// connection's send queue (net's Write waits for the peer instead).
	queue := func(t *testing.T, c, peer net.Conn) {
		require.NoError(t, c.(halfCloser).SetWriteBuffer(4096))
		require.NoError(t, peer.(interface{ SetReadBuffer(int) error }).SetReadBuffer(32<<10))
	}
	tests := []struct {
		name     string
		networks []string
		run      func(t *testing.T, network string, c, peer net.Conn) []string
	}{
		{"CloseWrite with bytes queued, Write, Close", []string{"tcp", "unix"}, func(t *testing.T, network string, c, peer net.Conn) []string {
			var obs []string
			rec := func(format string, args ...any) { obs = append(obs, fmt.Sprintf(format, args...)) }
			queue(t, c, peer)
			closeWritten := make(chan struct{})
			read := make(chan string, 1)
			// The peer reads once CloseWrite has returned; net's Write
			// returns only once it reads, so there it starts after 300 ms.
			start := 300 * time.Millisecond
			if _, ok := c.(*Conn); ok {
				start = 10 * time.Second // a bound, should Write or CloseWrite wait
			}
			go func() {
				select {
				case <-closeWritten:
				case <-time.After(start):
				}
				_ = peer.SetReadDeadline(time.Now().Add(20 * time.Second))
				got, err := io.ReadAll(peer)
				read <- fmt.Sprintf("%d bytes, intact and in order: %v, then %s", len(got), bytes.Equal(got, data), describe(err))
			}()
			n, err := c.Write(data)
			rec("Write: %d %s", n, describe(err))
			began := time.Now()
			rec("CloseWrite: %s", describe(c.(halfCloser).CloseWrite()))
			if rc, ok := c.(*Conn); ok {
				_, unsent := rc.s.Buffered()
				assert.NotZero(t, unsent, "CloseWrite returned before the peer read: bytes are still queued")
				assert.Less(t, time.Since(began), stream.LingerTimeout/2, "CloseWrite waited for the queued bytes")
			}
			close(closeWritten)
			n, err = c.Write([]byte("x"))
			rec("Write after CloseWrite: %d %s", n, describe(err))
			rec("Close: %s", describe(c.Close()))
			rec("peer reads %s", <-read)
			return obs
		}},
		{"CloseWrite on a reset connection", []string{"tcp", "unix"}, func(t *testing.T, network string, c, peer net.Conn) []string {
			var obs []string
			rec := func(format string, args ...any) { obs = append(obs, fmt.Sprintf(format, args...)) }
			if tc, ok := peer.(*net.TCPConn); ok {
				require.NoError(t, tc.SetLinger(0))
			}
			require.NoError(t, peer.Close())
			if network == "tcp" {
				require.Eventually(t, func() bool { return tcpState(t, c) == unix.BPF_TCP_CLOSE }, 5*time.Second,
					time.Millisecond, "the reset never arrived")
			}
			rec("CloseWrite: %s", describe(c.(halfCloser).CloseWrite()))
			return obs
		}},
		{"a send failing after CloseWrite is reported", []string{"tcp"}, func(t *testing.T, network string, c, peer net.Conn) []string {
			queue(t, c, peer)
			var errs []error
			wrote := make(chan error, 1)
			go func() { _, err := c.Write(data); wrote <- err }() // net's waits for the peer
			time.Sleep(100 * time.Millisecond)
			closeWrite := make(chan error, 1)
			go func() { closeWrite <- c.(halfCloser).CloseWrite() }()
			time.Sleep(100 * time.Millisecond)
			// The peer resets, its bytes unread: the rest cannot go out.
			require.NoError(t, peer.(*net.TCPConn).SetLinger(0))
			require.NoError(t, peer.Close())
			errs = append(errs, <-wrote, <-closeWrite)
			require.Eventually(t, func() bool { return tcpState(t, c) == unix.BPF_TCP_CLOSE }, 5*time.Second,
				time.Millisecond, "the reset never arrived")
			require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
			_, err := c.Read(make([]byte, 8))
			errs = append(errs, err)
			reported := func() bool {
				for _, err := range errs {
					if errors.Is(err, syscall.ECONNRESET) {
						return true
					}
				}
				return false
			}
			// Until the loop has met the failed send (an instant after the
			// reset), Writes fail as after any CloseWrite.
			for end := time.Now().Add(2 * time.Second); !reported() && time.Now().Before(end); time.Sleep(time.Millisecond) {
				_, err = c.Write([]byte("x"))
				require.Error(t, err, "Write after CloseWrite")
				errs = append(errs, err)
			}
			t.Logf("Write, CloseWrite, Read, Writes: %v", errs)
			return []string{fmt.Sprintf("the reset is reported: %v", reported())}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { halfCloseRuns(t, tt.networks, tt.run) })
	}
}

// tcpState is the TCP state of c's socket (-1 if it cannot be read).
func tcpState(t *testing.T, c net.Conn) int {
	rc, err := c.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	st := -1
	_ = rc.Control(func(fd uintptr) {
		if ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			st = int(ti.State)
		}
	})
	return st
}
