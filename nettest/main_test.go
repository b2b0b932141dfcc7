package nettest_test

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// fdSlack is how many more descriptors the process may hold after the tests
// than before them.
const fdSlack = 2

func TestMain(m *testing.M) {
	if os.Getenv(emfileChildEnv) != "" {
		// A child process of TestAcceptEMFILE: it runs that one test only.
		os.Exit(m.Run())
	}
	raiseFDLimit()

	// The runtime's netpoller opens its descriptors on first use and keeps
	// them: make it do so before counting.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	fdsBefore := countFDs()

	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if err := checkFDs(fdsBefore); err != nil {
			fmt.Fprintf(os.Stderr, "nettest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		if err := checkLoopsIdle(); err != nil {
			fmt.Fprintf(os.Stderr, "nettest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		os.Exit(code)
	}))
}

// raiseFDLimit raises the soft RLIMIT_NOFILE to the hard limit (capped at
// 20000), which the 1000-client test needs.
func raiseFDLimit() {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	want := min(rl.Max, 20000)
	if rl.Cur < want {
		rl.Cur = want
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
			fmt.Fprintf(os.Stderr, "nettest: raising RLIMIT_NOFILE: %v\n", err)
		}
	}
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory being read
}

func listFDs() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var sb strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fmt.Fprintf(&sb, "  fd %s -> %s\n", e.Name(), target)
	}
	return sb.String()
}

// checkFDs waits a little for descriptors closed asynchronously, then
// reports whether the process holds more than before the tests.
func checkFDs(before int) error {
	var after int
	for deadline := time.Now().Add(5 * time.Second); ; {
		runtime.GC() // finalizers close forgotten *os.File
		after = countFDs()
		if after <= before+fdSlack || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after > before+fdSlack {
		return fmt.Errorf("file descriptors leaked: %d open before the tests, %d after (slack %d):\n%s",
			before, after, fdSlack, listFDs())
	}
	return nil
}

// checkLoopsIdle checks that every backend with event loops reports no
// connection and no buffer in use once all tests are done.
func checkLoopsIdle() error {
	for _, b := range allBackends {
		if b.stats == nil {
			continue
		}
		var s loopStats
		for deadline := time.Now().Add(5 * time.Second); ; {
			s = b.stats()
			if s.Loops == 0 || (s.Conns == 0 && s.BuffersInUse == 0) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if s.Loops != 0 && (s.Conns != 0 || s.BuffersInUse != 0) {
			return fmt.Errorf("%s: after all tests Stats() reports %d loops with %d conns and %d buffers in use",
				b.name, s.Loops, s.Conns, s.BuffersInUse)
		}
	}
	return nil
}

// guard fails the whole run with every goroutine's stack if the test has not
// finished after d: no test may hang, and this names the one that did long
// before go test's own -timeout would.
func guard(t *testing.T, d time.Duration) {
	t.Helper()
	name := t.Name()
	timer := time.AfterFunc(d, func() {
		fmt.Fprintf(os.Stderr, "nettest: %s did not finish within %v; goroutines:\n", name, d)
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		os.Exit(2)
	})
	t.Cleanup(func() { timer.Stop() })
}
