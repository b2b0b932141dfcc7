//go:build linux

package wake

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var kinds = []Kind{Eventfd, Pipe}

// newHandle creates a Handle and closes it at the end of the test unless the
// test closed it itself.
func newHandle(t testing.TB, kind Kind) *Handle {
	t.Helper()
	h, err := New(kind)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// within fails the test if f does not return within d: used to prove that
// calls on non-blocking descriptors do not block.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("call blocked for more than %v", d)
	}
}

// countFDs returns the number of open descriptors of the process.
func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

func TestKindString(t *testing.T) {
	tests := []struct {
		kind Kind
		want string
	}{
		{Eventfd, "eventfd"},
		{Pipe, "pipe"},
		{Kind(7), "Kind(7)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.kind.String())
	}
}

func TestNewInvalidKind(t *testing.T) {
	h, err := New(Kind(-1))
	require.Error(t, err)
	assert.Nil(t, h)
}

func TestNewFlags(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			h := newHandle(t, kind)
			assert.Equal(t, kind, h.Kind())
			require.Equal(t, h.rfd, h.ReadFd())
			require.GreaterOrEqual(t, h.ReadFd(), 0)
			if kind == Eventfd {
				assert.Equal(t, h.rfd, h.wfd)
			} else {
				assert.NotEqual(t, h.rfd, h.wfd)
			}
			for _, fd := range []int{h.rfd, h.wfd} {
				fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
				require.NoError(t, err)
				assert.NotZero(t, fl&unix.O_NONBLOCK, "fd %d not O_NONBLOCK", fd)
				fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
				require.NoError(t, err)
				assert.NotZero(t, fdfl&unix.FD_CLOEXEC, "fd %d not FD_CLOEXEC", fd)
			}
		})
	}
}

func TestWakeDrain(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			h := newHandle(t, kind)
			c := h.Carrier()
			require.True(t, c.Valid())

			within(t, 5*time.Second, func() {
				n, err := h.Drain()
				assert.NoError(t, err)
				assert.Zero(t, n, "empty drain")

				h.Wake()
				n, err = h.Drain()
				assert.NoError(t, err)
				assert.Equal(t, 1, n)

				h.Wake()
				c.Wake()
				h.Wake()
				n, err = h.Drain()
				assert.NoError(t, err)
				assert.Equal(t, 3, n)

				n, err = h.Drain()
				assert.NoError(t, err)
				assert.Zero(t, n, "drain after drain")
			})
		})
	}
}

func TestWakeNeverBlocks(t *testing.T) {
	const wakes = 100_000
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			h := newHandle(t, kind)
			within(t, 10*time.Second, func() {
				for range wakes {
					h.Wake()
				}
			})
			var n int
			within(t, 5*time.Second, func() {
				var err error
				n, err = h.Drain()
				assert.NoError(t, err)
			})
			if kind == Eventfd {
				assert.Equal(t, wakes, n)
			} else {
				// The pipe filled up long before 100k bytes; the
				// remaining writes hit EAGAIN and were dropped.
				assert.Positive(t, n)
				assert.LessOrEqual(t, n, wakes)
			}
			n, err := h.Drain()
			require.NoError(t, err)
			assert.Zero(t, n, "drain must empty the descriptor")
		})
	}
}

func TestZeroCarrier(t *testing.T) {
	var c Carrier
	assert.False(t, c.Valid())
	assert.NotPanics(t, c.Wake)
	var s Signal
	s.PrepareSleep()
	assert.NotPanics(t, func() { assert.True(t, s.Notify(c)) })
}

func TestCloseTwice(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			h, err := New(kind)
			require.NoError(t, err)
			require.NoError(t, h.Close())

			err = h.Close()
			require.Error(t, err)
			assert.True(t, errors.Is(err, net.ErrClosed), "got %v", err)

			n, err := h.Drain()
			assert.Zero(t, n)
			assert.ErrorIs(t, err, net.ErrClosed)
			assert.Equal(t, -1, h.ReadFd())
			assert.True(t, h.Carrier().Valid())
		})
	}
}

// TestNoWriteAfterClose proves that Wake on a closed Handle does not write to
// its old descriptor numbers even when the kernel has handed them out again.
func TestNoWriteAfterClose(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			h, err := New(kind)
			require.NoError(t, err)
			oldR, oldW := h.rfd, h.wfd
			c := h.Carrier()
			require.NoError(t, h.Close())

			// Linux hands out the lowest free numbers, so a fresh
			// descriptor of the same kind reuses the old ones.
			fresh := newHandle(t, kind)
			require.Equal(t, oldR, fresh.rfd, "fd number not reused")
			require.Equal(t, oldW, fresh.wfd, "fd number not reused")

			h.Wake()
			c.Wake()
			n, err := fresh.Drain()
			require.NoError(t, err)
			assert.Zero(t, n, "closed handle wrote to a reused fd")
		})
	}
}

// TestConcurrentWakeClose races Wake calls from 8 goroutines with Close and
// checks that every descriptor is closed exactly once and none leaks.
func TestConcurrentWakeClose(t *testing.T) {
	var (
		mu     sync.Mutex
		closes = map[int]int{}
	)
	orig := closeFD
	closeFD = func(fd int) error {
		mu.Lock()
		closes[fd]++
		mu.Unlock()
		return orig(fd)
	}
	t.Cleanup(func() { closeFD = orig })

	const (
		wakers = 8
		rounds = 50
	)
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			before := countFDs(t)
			deferred := 0
			for range rounds {
				mu.Lock()
				clear(closes)
				mu.Unlock()

				h, err := New(kind)
				require.NoError(t, err)
				c := h.Carrier()
				var (
					wg    sync.WaitGroup
					stop  atomic.Bool
					woken atomic.Int64
				)
				for i := range wakers {
					wg.Go(func() {
						for !stop.Load() {
							if i%2 == 0 {
								h.Wake()
							} else {
								c.Wake()
							}
							woken.Add(1)
						}
						// Keep going a little after Close.
						for range 100 {
							h.Wake()
							c.Wake()
						}
					})
				}
				for woken.Load() < 4*wakers {
					runtime.Gosched()
				}
				require.NoError(t, h.Close())
				mu.Lock()
				if len(closes) == 0 {
					deferred++ // a Wake was in flight and will close
				}
				mu.Unlock()
				stop.Store(true)
				wg.Wait()

				assert.ErrorIs(t, h.Close(), net.ErrClosed)
				mu.Lock()
				assert.Equal(t, 1, closes[h.rfd], "read fd close count")
				assert.Equal(t, 1, closes[h.wfd], "write fd close count")
				if kind == Eventfd {
					assert.Len(t, closes, 1)
				} else {
					assert.Len(t, closes, 2)
				}
				mu.Unlock()
			}
			assert.Equal(t, before, countFDs(t), "descriptors leaked")
			t.Logf("%d/%d rounds closed by the last in-flight Wake", deferred, rounds)
		})
	}
}
