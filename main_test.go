//go:build linux

package ringnet

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ringnet/ringnet/fallback"
	"github.com/ringnet/ringnet/loop"
)

// TestMain checks, after the package's tests, that nothing they started
// outlives them: every loop reports no connection and no provided buffer
// in use, then stops; no goroutine is left (goleak); and the process holds
// no more file descriptors than before the tests.
//
// It is Linux-only because the io_uring loops (and their WaitStopped) are.
func TestMain(m *testing.M) {
	// Child processes of TestSeccompFallback and TestFileListener run one
	// test of this binary and are killed or judged by their parent.
	for _, env := range []string{"RINGNET_TEST_SECCOMP_CHILD", "RINGNET_TEST_FILE_LISTENER_CHILD"} {
		if os.Getenv(env) != "" {
			os.Exit(m.Run())
		}
	}

	// The runtime opens the netpoller's descriptors on first use and keeps
	// them: make it do so before counting.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	fdsBefore := tmCountFDs()

	code := m.Run()
	if code == 0 {
		for _, check := range []func() error{
			tmCheckLoopsIdle,
			func() error { loop.WaitStopped(); fallback.WaitStopped(); return nil },
			tmCheckLoopsStopped,
			tmCheckGoroutines,
			func() error { return tmCheckFDs(fdsBefore) },
		} {
			if err := check(); err != nil {
				fmt.Fprintf(os.Stderr, "ringnet TestMain: %v\n", err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// tmCheckLoopsIdle waits (at most 10 s: a Close may linger) until every
// running loop reports no connection and no provided buffer in use.
func tmCheckLoopsIdle() error {
	var busy []LoopStats
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		busy = busy[:0]
		for _, s := range Stats() {
			if s.Conns != 0 || s.BuffersInUse != 0 {
				busy = append(busy, s)
			}
		}
		if len(busy) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after all tests, loops still own connections or buffers: %+v", busy)
		}
	}
}

// tmCheckLoopsStopped waits until no loop runs: a loop stops once its last
// listener and connection are closed.
func tmCheckLoopsStopped() error {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := Stats()
		if len(st) == 0 {
			loop.WaitStopped()
			fallback.WaitStopped()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after all tests, %d loops still run (a listener or connection left open?): %+v", len(st), st)
		}
	}
}

// tmCheckGoroutines is goleak.VerifyTestMain's check, retried for longer:
// net/http and the loops wind down asynchronously.
func tmCheckGoroutines() error {
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if err = goleak.Find(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("goroutines outlive the tests: %w", err)
}

func tmCountFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory being read
}

// tmCheckFDs waits a little for descriptors closed asynchronously, then
// reports whether the process holds more than before the tests.
func tmCheckFDs(before int) error {
	var after int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		runtime.GC() // finalizers close forgotten *os.File
		after = tmCountFDs()
		if after <= before || time.Now().After(deadline) {
			break
		}
	}
	if after > before {
		ents, _ := os.ReadDir("/proc/self/fd")
		var sb strings.Builder
		for _, e := range ents {
			target, _ := os.Readlink("/proc/self/fd/" + e.Name())
			fmt.Fprintf(&sb, "  fd %s -> %s\n", e.Name(), target)
		}
		return fmt.Errorf("file descriptors leaked: %d open before the tests, %d after:\n%s", before, after, sb.String())
	}
	return nil
}
