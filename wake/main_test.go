package wake

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks, after the package's tests, that no goroutine is left
// (goleak) and that the process holds no more file descriptors than
// before the tests: every eventfd and pipe a Handle opened is closed.
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
			tmCheckGoroutines,
			func() error { return tmCheckFDs(fdsBefore) },
		} {
			if err := check(); err != nil {
				fmt.Fprintf(os.Stderr, "wake TestMain: %v\n", err)
				code = 1
			}
		}
	}
	os.Exit(code)
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

// tmFdDir lists the process's open descriptors, where the system has one.
func tmFdDir() string {
	if runtime.GOOS == "linux" {
		return "/proc/self/fd"
	}
	return "/dev/fd"
}

// tmCountFDs counts the open descriptors, or returns -1 where they cannot
// be listed (the check is then skipped).
func tmCountFDs() int {
	ents, err := os.ReadDir(tmFdDir())
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory being read
}

// tmCheckFDs waits a little for descriptors closed asynchronously, then
// reports whether the process holds more than before the tests.
func tmCheckFDs(before int) error {
	if before < 0 {
		return nil
	}
	var after int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		runtime.GC() // finalizers close forgotten *os.File
		after = tmCountFDs()
		if after <= before || time.Now().After(deadline) {
			break
		}
	}
	if after > before {
		ents, _ := os.ReadDir(tmFdDir())
		var sb strings.Builder
		for _, e := range ents {
			target, _ := os.Readlink(tmFdDir() + "/" + e.Name())
			fmt.Fprintf(&sb, "  fd %s -> %s\n", e.Name(), target)
		}
		return fmt.Errorf("file descriptors leaked: %d open before the tests, %d after:\n%s", before, after, sb.String())
	}
	return nil
}
