//go:build linux

package loop

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ringnet/ringnet/internal/backend"
)

// TestMain checks, after the package's tests, that nothing they started
// outlives them: every running loop reports no connection and no provided
// buffer in use, and stops; no goroutine is left (goleak); and the process
// holds no more file descriptors than before the tests (rings, buffer
// rings' memory maps aside, eventfds and sockets all closed).
func TestMain(m *testing.M) {
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
			tmCheckLoopsStopped,
			tmCheckGoroutines,
			func() error { return tmCheckFDs(fdsBefore) },
		} {
			if err := check(); err != nil {
				fmt.Fprintf(os.Stderr, "loop TestMain: %v\n", err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// tmRunningStats is Backend.Stats: every loop of every running group.
func tmRunningStats() []backend.Stats { return Backend.Stats() }

// tmCheckLoopsIdle waits (at most 10 s: a Close may linger) until every
// running loop reports no connection and no provided buffer in use.
func tmCheckLoopsIdle() error {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var busy []backend.Stats
		for _, s := range tmRunningStats() {
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

// tmCheckLoopsStopped waits until no group runs, then until every loop told
// to stop has exited and released its ring.
func tmCheckLoopsStopped() error {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st := tmRunningStats(); len(st) == 0 {
			WaitStopped()
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("after all tests, %d loops still run (a user not released?): %+v", len(st), st)
		}
	}
}

// tmCheckGoroutines is goleak.VerifyTestMain's check, retried for longer.
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
