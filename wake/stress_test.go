//go:build linux

package wake

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// lostWakeTimeout is how long the stress loop sleeps before it declares a
// wake lost.
const lostWakeTimeout = 5 * time.Second

// stressCycles is the number of ping-pong cycles: a million normally, fewer
// under the race detector or -short so that the test stays well under 20 s.
func stressCycles() int {
	switch {
	case testing.Short():
		return 20_000
	case raceEnabled:
		return 200_000
	}
	return 1_000_000
}

// waitReadable blocks until fd is readable or lostWakeTimeout elapses
// (reported as an error), retrying on EINTR.
func waitReadable(fd int) error {
	deadline := time.Now().Add(lostWakeTimeout)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("timed out")
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("poll: %w", err)
		case n > 0:
			return nil
		}
	}
}

// loopStats is what the stress loop reports.
type loopStats struct {
	sleeps, cancels int
}

// runLoop is the "event loop" of the stress tests: it consumes items from
// queued until it has consumed total, sleeping on h with the Signal
// protocol whenever the queue is empty. consumed is published after every
// batch.
func runLoop(h *Handle, s *Signal, queued, consumed *atomic.Int64, total int64) (loopStats, error) {
	var st loopStats
	var done int64
	for done < total {
		s.PrepareSleep()
		if n := queued.Load(); n > 0 {
			s.CancelSleep()
			st.cancels++
			queued.Add(-n)
			done += n
			consumed.Store(done)
			continue
		}
		st.sleeps++
		if err := waitReadable(h.ReadFd()); err != nil {
			return st, fmt.Errorf("lost wake after %d/%d items (sleeping=%v, queued=%d): %w",
				done, total, s.Sleeping(), queued.Load(), err)
		}
		if _, err := h.Drain(); err != nil {
			return st, err
		}
		s.Woke()
	}
	return st, nil
}

// TestStressNoLostWake races a producer and a loop through many
// enqueue/sleep cycles. The producer waits for each item to be consumed
// before it enqueues the next, so the loop tries to sleep on every cycle and
// the producer's Notify races the loop's PrepareSleep/re-check.
func TestStressNoLostWake(t *testing.T) {
	for _, tt := range []struct {
		kind   Kind
		cycles int
	}{
		// The Signal protocol does not depend on the descriptor kind:
		// the full count runs on the production kind, a tenth of it on
		// the pipe to keep the package's test time down.
		{Eventfd, stressCycles()},
		{Pipe, stressCycles() / 10},
	} {
		cycles := tt.cycles
		t.Run(tt.kind.String(), func(t *testing.T) {
			h := newHandle(t, tt.kind)
			c := h.Carrier()
			var (
				s                Signal
				queued, consumed atomic.Int64
				loopDone         atomic.Bool
				st               loopStats
				loopErr          error
				wg               sync.WaitGroup
			)
			wg.Go(func() {
				defer loopDone.Store(true)
				st, loopErr = runLoop(h, &s, &queued, &consumed, int64(cycles))
			})

			start := time.Now()
			notifies := 0
		produce:
			for i := range cycles {
				queued.Add(1)
				s.Notify(c)
				notifies++
				for consumed.Load() <= int64(i) {
					if loopDone.Load() {
						break produce
					}
					runtime.Gosched()
				}
			}
			wg.Wait()
			elapsed := time.Since(start)

			require.NoError(t, loopErr)
			assert.Equal(t, int64(cycles), consumed.Load())
			assert.Zero(t, queued.Load())
			stats := s.Stats()
			assert.Equal(t, uint64(notifies), stats.Written+stats.Coalesced)
			assert.Positive(t, stats.Written)
			t.Logf("%d cycles in %v: written=%d coalesced=%d sleeps=%d cancels=%d",
				cycles, elapsed, stats.Written, stats.Coalesced, st.sleeps, st.cancels)
		})
	}
}

// TestStressManyProducers lets several producers enqueue freely (no
// ping-pong) while the loop sleeps whenever it runs dry.
func TestStressManyProducers(t *testing.T) {
	const producers = 4
	perProducer := stressCycles() / 10
	total := int64(producers * perProducer)
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			h := newHandle(t, kind)
			c := h.Carrier()
			var (
				s                Signal
				queued, consumed atomic.Int64
				loopErr          error
				wg               sync.WaitGroup
			)
			wg.Go(func() {
				_, loopErr = runLoop(h, &s, &queued, &consumed, total)
			})
			for range producers {
				wg.Go(func() {
					for range perProducer {
						queued.Add(1)
						s.Notify(c)
					}
				})
			}
			wg.Wait()
			require.NoError(t, loopErr)
			assert.Equal(t, total, consumed.Load())
			stats := s.Stats()
			assert.Equal(t, uint64(total), stats.Written+stats.Coalesced)
			t.Logf("written=%d coalesced=%d", stats.Written, stats.Coalesced)
		})
	}
}
