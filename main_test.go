//go:build linux

package ringnet

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ringnet/ringnet/fallback"
	"github.com/ringnet/ringnet/internal/leakcheck"
	"github.com/ringnet/ringnet/loop"
)

// TestMain checks, after the package's tests, that nothing they started
// outlives them: every loop reports no connection and no provided buffer
// in use, then stops; then no goroutine is left and the process holds no
// more file descriptors than before the tests (internal/leakcheck).
//
// It is Linux-only because the io_uring loops (and their WaitStopped) are.
func TestMain(m *testing.M) {
	// Child processes of TestSeccompFallback, TestFileListener and
	// TestProbeOutOfFDs run one test of this binary and are killed or
	// judged by their parent.
	for _, env := range []string{"RINGNET_TEST_SECCOMP_CHILD", "RINGNET_TEST_FILE_LISTENER_CHILD", "RINGNET_TEST_PROBE_CHILD"} {
		if os.Getenv(env) != "" {
			os.Exit(m.Run())
		}
	}
	leakcheck.Main(m, leakcheck.Config{Name: "ringnet", Checks: []func() error{checkLoopsIdle, checkLoopsStopped}})
}

// checkLoopsIdle waits (at most 10 s: a Close may linger) until every
// running loop reports no connection and no provided buffer in use.
func checkLoopsIdle() error {
	return leakcheck.Within(10*time.Second, func() error {
		var busy []LoopStats
		for _, s := range Stats() {
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

// checkLoopsStopped waits until no loop runs (a loop stops once its last
// listener and connection are closed), then until every stopped loop has
// released its ring, poller and wake descriptors.
func checkLoopsStopped() error {
	err := leakcheck.Within(10*time.Second, func() error {
		if st := Stats(); len(st) != 0 {
			return fmt.Errorf("after all tests, %d loops still run (a listener or connection left open?): %+v", len(st), st)
		}
		return nil
	})
	loop.WaitStopped()
	fallback.WaitStopped()
	return err
}
