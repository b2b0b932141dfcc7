package ecosystem_test

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

	"github.com/ringnet/ringnet"
)

// fdSlack is how many more descriptors the process may hold after the tests
// than before them.
const fdSlack = 2

func TestMain(m *testing.M) {
	raiseFDLimit()

	// The runtime opens the netpoller's descriptors on first use and keeps
	// them: make it do so before counting.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	fdsBefore := countFDs()

	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		for _, check := range []func() error{
			func() error { return checkFDs(fdsBefore) },
			checkLoopsStopped,
		} {
			if err := check(); err != nil {
				fmt.Fprintf(os.Stderr, "ecosystem: %v\n", err)
				if code == 0 {
					code = 1
				}
			}
		}
		os.Exit(code)
	}))
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

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the descriptor of the directory being read
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

// checkLoopsStopped checks that ringnet's loops stopped by themselves once
// the tests closed their last listener and connection.
func checkLoopsStopped() error {
	var st []ringnet.LoopStats
	for deadline := time.Now().Add(5 * time.Second); ; {
		st = ringnet.Stats()
		if len(st) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(st) != 0 {
		return fmt.Errorf("ringnet loops still running after all tests: %+v", st)
	}
	return nil
}

func dumpGoroutines() {
	_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
}
