package ecosystem_test

import (
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet"
	"github.com/ringnet/ringnet/internal/leakcheck"
)

// fdSlack is how many more descriptors the process may hold after the tests
// than before them.
const fdSlack = 2

func TestMain(m *testing.M) {
	raiseFDLimit()
	leakcheck.Main(m, leakcheck.Config{Name: "ecosystem", FDSlack: fdSlack, Checks: []func() error{checkLoopsStopped}})
}

// raiseFDLimit raises the soft RLIMIT_NOFILE to the hard limit: the
// 1000-client WebSocket test holds over 2000 descriptors.
func raiseFDLimit() {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		fmt.Fprintf(os.Stderr, "ecosystem: getrlimit: %v\n", err)
		return
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
			fmt.Fprintf(os.Stderr, "ecosystem: raising RLIMIT_NOFILE: %v\n", err)
		}
	}
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
