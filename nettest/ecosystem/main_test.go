package ecosystem_test

import (
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/ringnet/ringnet"
	"github.com/ringnet/ringnet/internal/leakcheck"
)

// fdSlack is how many more descriptors the process may hold after the tests
// than before them.
const fdSlack = 2

func TestMain(m *testing.M) {
	leakcheck.Main(m, leakcheck.Config{Name: "ecosystem", FDSlack: fdSlack, Checks: []func() error{checkLoopsStopped}})
}

// checkLoopsStopped checks that ringnet's loops stopped by themselves once
// the tests closed their last listener and connection.
func checkLoopsStopped() error {
	return leakcheck.Within(5*time.Second, func() error {
		if st := ringnet.Stats(); len(st) != 0 {
			return fmt.Errorf("ringnet loops still running after all tests: %+v", st)
		}
		return nil
	})
}

func dumpGoroutines() {
	_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
}
