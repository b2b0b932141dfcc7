package ecosystem_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ringnet/ringnet"
)

// backendEnv is the variable that selects ringnet's backend before its first
// use in a process.
const backendEnv = "RINGNET_BACKEND"

// childEnv marks a child test process started by runInChild.
const childEnv = "RINGNET_ECOSYSTEM_CHILD"

// backend is one implementation of listeners and dialed connections that
// every test runs on.
type backend struct {
	name string
	// ringnet is false for the standard library, the reference entry.
	ringnet bool
	// env is the RINGNET_BACKEND value that selects this backend ("" for
	// ringnet's default). ringnet picks its backend once per process, so a
	// ringnet entry whose env differs from this process's runs in a child
	// test process (see runInChild).
	env string
	// listen is the backend's net.Listen.
	listen func(network, address string) (net.Listener, error)
	// dial is the backend's net.Dialer.DialContext.
	dial func(ctx context.Context, network, address string) (net.Conn, error)
}

var stdDialer net.Dialer

// backends is the table every test runs on. Adding a backend is one line.
var backends = []backend{
	{name: "stdlib", listen: net.Listen, dial: stdDialer.DialContext},
	{name: "io_uring", ringnet: true, listen: ringnet.Listen, dial: ringnet.DialContext},
	// {name: "poll", ringnet: true, env: "poll", listen: ringnet.Listen, dial: ringnet.DialContext},
}

// inChild reports whether b must run in a child process because this
// process's ringnet backend is selected by another RINGNET_BACKEND value.
func (b backend) inChild() bool {
	return b.ringnet && b.env != os.Getenv(backendEnv)
}

// forEachBackend runs f as a subtest named after each backend. limit bounds
// the subtest: past it the whole process dumps its goroutines and exits, so
// that no test can hang.
func forEachBackend(t *testing.T, limit time.Duration, f func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.inChild() {
				if os.Getenv(childEnv) != "" {
					t.Skipf("backend %s is not this child process's (%s=%q)", b.name, backendEnv, os.Getenv(backendEnv))
				}
				runInChild(t, b, limit)
				return
			}
			if b.ringnet {
				require.Equal(t, b.name, ringnet.Backend(), "ringnet runs another backend than this entry names")
				// Registered first, so it runs after every other cleanup of
				// the subtest: by then every server and client is closed.
				t.Cleanup(func() { checkNoConns(t) })
			}
			guard(t, limit)
			f(t, b)
		})
	}
}

// runInChild runs the current subtest in a child test process whose
// environment selects b's ringnet backend.
func runInChild(t *testing.T, b backend, limit time.Duration) {
	var pattern []string
	for _, part := range strings.Split(t.Name(), "/") {
		pattern = append(pattern, "^"+regexp.QuoteMeta(part)+"$")
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit+30*time.Second)
	defer cancel()
	args := []string{"-test.run=" + strings.Join(pattern, "/"), "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, backendEnv+"=") {
			env = append(env, kv)
		}
	}
	if b.env != "" {
		env = append(env, backendEnv+"="+b.env)
	}
	cmd.Env = append(env, childEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("child process with %s=%q:\n%s", backendEnv, b.env, out)
	require.NoError(t, err, "child test process for backend %s failed", b.name)
	require.NotContains(t, string(out), "no tests to run", "child ran nothing")
}

// guard makes the process dump every goroutine and exit if the test has not
// finished within d, long before go test's own -timeout.
func guard(t *testing.T, d time.Duration) {
	name := t.Name()
	timer := time.AfterFunc(d, func() {
		fmt.Fprintf(os.Stderr, "ecosystem: %s did not finish within %v\n", name, d)
		dumpGoroutines()
		os.Exit(2)
	})
	t.Cleanup(func() { timer.Stop() })
}

// checkNoConns fails t if ringnet's loops still own connections a few
// seconds after the test closed all of its own.
func checkNoConns(t *testing.T) {
	var conns, bufs int64
	for deadline := time.Now().Add(5 * time.Second); ; {
		conns, bufs = 0, 0
		for _, s := range ringnet.Stats() {
			conns += s.Conns
			bufs += s.BuffersInUse
		}
		if (conns == 0 && bufs == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if conns != 0 || bufs != 0 {
		t.Errorf("after the test ringnet still owns %d connections and %d buffers: %+v", conns, bufs, ringnet.Stats())
	}
}
