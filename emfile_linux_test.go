//go:build linux

package ringnet

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/fallback"
	"github.com/ringnet/ringnet/loop"
)

// withFreeFDs runs f while the process can open exactly n more
// descriptors: RLIMIT_NOFILE is lowered and the descriptors below it
// filled, then both are undone.
func withFreeFDs(t *testing.T, n int, f func()) {
	t.Helper()
	var lim unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &lim))
	lowest, err := unix.Dup(0)
	require.NoError(t, err)
	require.NoError(t, unix.Close(lowest))
	low := lim
	low.Cur = uint64(lowest) + 256
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &low))
	var fill []int
	defer func() {
		for _, fd := range fill {
			_ = unix.Close(fd)
		}
		require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	}()
	for {
		fd, err := unix.Dup(0)
		if err != nil {
			require.ErrorIs(t, err, unix.EMFILE)
			break
		}
		fill = append(fill, fd)
	}
	require.GreaterOrEqual(t, len(fill), n)
	for range n {
		_ = unix.Close(fill[len(fill)-1])
		fill = fill[:len(fill)-1]
	}
	f()
}

// openFDs lists the process's open descriptors and what each refers to.
func openFDs(t *testing.T) map[string]string {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	fds := make(map[string]string, len(ents))
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // closed since the listing (the listing's own descriptor among them)
		}
		fds[e.Name()] = target
	}
	return fds
}

// newFDs returns the descriptors open now that were not open (or referred
// to something else) in before. Descriptors of earlier tests may close
// meanwhile (a lingering close finishes on its own goroutine): that is no
// leak of this test's.
func newFDs(t *testing.T, before map[string]string) []string {
	var added []string
	for fd, target := range openFDs(t) {
		if before[fd] != target {
			added = append(added, fd+" -> "+target)
		}
	}
	return added
}

// TestFewFDs: a Listen or Dial that must start its loops with only a
// few descriptors left fails at whichever step runs out (making the
// socket, the ring or poller, a wake fd, the duplicate) with a
// *net.OpError, or works; it never panics, and nothing it opened stays
// open.
func TestFewFDs(t *testing.T) {
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer peer.Close()
	go func() {
		for {
			c, err := peer.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	forEachBackend(t, func(t *testing.T, backend string) {
		// Groups of earlier tests wind down first, for a clean count.
		require.Eventually(t, func() bool { return !anyLoop(backend) }, 10*time.Second, 10*time.Millisecond)
		loop.WaitStopped()
		fallback.WaitStopped()
		before := openFDs(t)
		failed := 0
		for n := 0; n < 24; n++ {
			for _, op := range []string{"listen", "dial"} {
				// A loop shape of its own, so that every call starts
				// a group rather than joining a running one.
				size := 4096 + 2*n
				if op == "dial" {
					size++
				}
				var c io.Closer
				var err error
				withFreeFDs(t, n, func() {
					if op == "listen" {
						lc := ListenConfig{Backend: backend, Loops: 2, BufferSize: size}
						c, err = lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
					} else {
						d := Dialer{Backend: backend, Loops: 2, BufferSize: size}
						c, err = d.Dial("tcp", peer.Addr().String())
					}
				})
				if err != nil {
					failed++
					var oe *net.OpError
					assert.ErrorAs(t, err, &oe, "%s with %d free descriptors", op, n)
					continue
				}
				require.NoError(t, c.Close())
			}
		}
		assert.NotZero(t, failed, "some calls ran out of descriptors")
		require.Eventually(t, func() bool { return !anyLoop(backend) }, 5*time.Second, 10*time.Millisecond,
			"every group stopped")
		loop.WaitStopped()
		fallback.WaitStopped()
		// (Eventually: the peer's accept loop closes the last dial's
		// connection on its own goroutine.)
		if !assert.Eventually(t, func() bool { return len(newFDs(t, before)) == 0 }, 5*time.Second, 10*time.Millisecond) {
			assert.Empty(t, newFDs(t, before), "descriptors left open")
		}
	})
}

// anyLoop reports whether a loop of backend runs.
func anyLoop(backend string) bool {
	for _, s := range Stats() {
		if s.Backend == backend {
			return true
		}
	}
	return false
}

// TestProbeOutOfFDs: a process whose first Listen finds it out of file
// descriptors fails that Listen with EMFILE, as net would, and does not
// give up on io_uring for good: the probe runs again at the next call. It
// runs in a child process, whose probe has not run yet.
func TestProbeOutOfFDs(t *testing.T) {
	if os.Getenv("RINGNET_TEST_PROBE_CHILD") != "" {
		var backend, reason string
		var err error
		withFreeFDs(t, 0, func() {
			backend, reason = Backend(), BackendReason()
			_, err = Listen("tcp", "127.0.0.1:0")
		})
		assert.Equal(t, "undecided", backend)
		assert.Contains(t, reason, "too many open files")
		var oe *net.OpError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "listen", oe.Op)
		assert.ErrorIs(t, err, syscall.EMFILE)

		assert.Equal(t, "io_uring", Backend(), "probed again, with descriptors to spare")
		ln, err := Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		require.NoError(t, ln.Close())
		return
	}
	require.Equal(t, "io_uring", Backend(), "this test needs io_uring")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestProbeOutOfFDs$", "-test.v")
	cmd.Env = append(os.Environ(), "RINGNET_TEST_PROBE_CHILD=1", BackendEnv+"=auto")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child output:\n%s", out)
	assert.Contains(t, string(out), "--- PASS: TestProbeOutOfFDs")
}

// TestUnixListenFailsCleanly: a Unix Listen that fails after net made the
// socket file (here on the duplicate for the loops) removes the file, as
// net's failed Listen leaves none, so the path can be listened on again.
func TestUnixListenFailsCleanly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		path := filepath.Join(t.TempDir(), "s")
		var err error
		withFreeFDs(t, 1, func() { // the socket, and no room for its duplicate
			lc := ListenConfig{Backend: backend}
			_, err = lc.Listen(t.Context(), "unix", path)
		})
		require.Error(t, err)
		assert.ErrorIs(t, err, syscall.EMFILE)
		_, serr := os.Stat(path)
		assert.ErrorIs(t, serr, os.ErrNotExist, "the socket file is left behind")
		ln, err := Listen("unix", path)
		require.NoError(t, err, "listening on the path again")
		require.NoError(t, ln.Close())
	})
}

// TestConfigLimits: a loop shape out of range fails Listen and Dial with a
// *net.OpError that says why, before anything starts.
func TestConfigLimits(t *testing.T) {
	tests := []struct {
		name string
		cfg  config
		want string
	}{
		{"Buffers not a power of two", config{Buffers: 3}, "power of two"},
		{"Buffers negative", config{Buffers: -1}, "power of two"},
		{"Buffers too many", config{Buffers: 1 << 16}, "power of two"},
		{"Loops negative", config{Loops: -1}, "negative"},
		{"BufferSize negative", config{BufferSize: -1}, "negative"},
		{"BufferSize too large", config{BufferSize: 1<<30 + 1}, "above"},
		{"RingEntries too many", config{RingEntries: 1<<15 + 1}, "above"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := ListenConfig{Loops: tt.cfg.Loops, RingEntries: tt.cfg.RingEntries, Buffers: tt.cfg.Buffers, BufferSize: tt.cfg.BufferSize}
			_, lerr := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			d := Dialer{Loops: tt.cfg.Loops, RingEntries: tt.cfg.RingEntries, Buffers: tt.cfg.Buffers, BufferSize: tt.cfg.BufferSize}
			_, derr := d.Dial("tcp", "127.0.0.1:1")
			for op, err := range map[string]error{"listen": lerr, "dial": derr} {
				var oe *net.OpError
				require.ErrorAs(t, err, &oe, op)
				assert.Equal(t, op, oe.Op)
				assert.Contains(t, err.Error(), tt.want, op)
			}
		})
	}
}

// TestDialLoopsCannotStart: a Dial whose loops cannot start (here for want
// of descriptors) fails with a *net.OpError naming the address, as net's
// does when it cannot make the socket.
func TestDialLoopsCannotStart(t *testing.T) {
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer peer.Close()
	require.Equal(t, "io_uring", Backend())                          // the probe has its verdict before descriptors run out
	d := Dialer{Backend: "io_uring", Loops: 1, BufferSize: 4096 + 7} // a group of its own
	var c net.Conn
	withFreeFDs(t, 1, func() { c, err = d.Dial("tcp", peer.Addr().String()) }) // the ring's, and no more
	if c != nil {
		c.Close()
	}
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "dial", oe.Op)
	require.NotNil(t, oe.Addr)
	assert.Equal(t, peer.Addr().String(), oe.Addr.String())
}
