//go:build linux

package loop

import (
	"fmt"
	"testing"
	"time"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/leakcheck"
)

// TestMain checks, after the package's tests, that nothing they started
// outlives them: every running loop reports no connection and no provided
// buffer in use, and stops; then no goroutine is left and the process holds
// no more file descriptors than before the tests (rings, eventfds and
// sockets all closed; internal/leakcheck).
func TestMain(m *testing.M) {
	leakcheck.Main(m, leakcheck.Config{Name: "loop", Checks: []func() error{checkLoopsIdle, checkLoopsStopped}})
}

// checkLoopsIdle waits (at most 10 s: a Close may linger) until every
// running loop reports no connection and no provided buffer in use.
func checkLoopsIdle() error {
	return leakcheck.Within(10*time.Second, func() error {
		var busy []backend.Stats
		for _, s := range Backend.Stats() {
			if s.Conns != 0 || s.BuffersInUse != 0 {
				busy = append(busy, s)
			}
		}
		if len(busy) != 0 {
			return fmt.Errorf("after all tests, loops still own connections or buffers: %+v", busy)
		}
		return nil
	})
}

// checkLoopsStopped waits until no group runs, then until every loop told
// to stop has exited and released its ring.
func checkLoopsStopped() error {
	err := leakcheck.Within(10*time.Second, func() error {
		if st := Backend.Stats(); len(st) != 0 {
			return fmt.Errorf("after all tests, %d loops still run (a user not released?): %+v", len(st), st)
		}
		return nil
	})
	WaitStopped()
	return err
}
