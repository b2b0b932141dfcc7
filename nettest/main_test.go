package nettest_test

import (
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/ringnet/ringnet/internal/leakcheck"
)

// fdSlack is how many more descriptors the process may hold after the tests
// than before them.
const fdSlack = 2

// emfileChildEnv, set to a backend's name, makes the test binary a child
// process of TestAcceptEMFILE serving HTTP on that backend.
const emfileChildEnv = "NETTEST_EMFILE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(emfileChildEnv) != "" {
		// A child process of TestAcceptEMFILE: it runs that one test only.
		os.Exit(m.Run())
	}
	leakcheck.Main(m, leakcheck.Config{Name: "nettest", FDSlack: fdSlack, Checks: []func() error{checkLoopsIdle}})
}

// countFDs is how many descriptors the process holds.
func countFDs() int { return leakcheck.CountFDs() }

// checkLoopsIdle checks that every backend with event loops reports no
// connection and no buffer in use once all tests are done.
func checkLoopsIdle() error {
	for _, b := range allBackends {
		if b.stats == nil {
			continue
		}
		err := leakcheck.Within(5*time.Second, func() error {
			if s := b.stats(); s.Loops != 0 && (s.Conns != 0 || s.BuffersInUse != 0) {
				return fmt.Errorf("%s: after all tests Stats() reports %d loops with %d conns and %d buffers in use",
					b.name, s.Loops, s.Conns, s.BuffersInUse)
			}
			return nil
		})
		if err != nil {
			return err
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
