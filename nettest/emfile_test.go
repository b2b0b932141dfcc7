//go:build unix

package nettest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestAcceptEMFILE runs an HTTP server in a child process whose descriptor
// limit is low, opens connections to it until its Accept fails with EMFILE,
// and checks that the child does not spin meanwhile, that the error is a
// net.Error with Temporary() true (net/http backs off on those), and that
// the server serves again once connections are closed. Unix only: Windows
// has no descriptor limit to lower.
func TestAcceptEMFILE(t *testing.T) {
	if name := os.Getenv(emfileChildEnv); name != "" {
		emfileChild(t, name)
		return
	}
	guard(t, 120*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestAcceptEMFILE$", "-test.v", "-test.timeout=55s")
		cmd.Env = append(os.Environ(), emfileChildEnv+"="+b.name)
		cmd.WaitDelay = 5 * time.Second
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())

		var output lockedBuffer
		lines := make(chan string, 1000)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				output.Write([]byte(sc.Text() + "\n"))
				select {
				case lines <- sc.Text():
				default:
				}
			}
			close(lines)
		}()
		waited := false
		var waitErr error
		wait := func() {
			if !waited {
				waited = true
				stdin.Close()
				waitErr = cmd.Wait()
			}
		}
		t.Cleanup(func() {
			wait()
			if t.Failed() {
				t.Logf("child stdout:\n%s\nchild stderr:\n%s", output.String(), stderr.String())
			}
		})
		expect := func(prefix string, d time.Duration) string {
			t.Helper()
			timer := time.NewTimer(d)
			defer timer.Stop()
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("the child ended before printing %q", prefix)
					}
					if strings.HasPrefix(l, prefix) {
						return strings.TrimPrefix(l, prefix)
					}
				case <-timer.C:
					t.Fatalf("the child did not print %q within %v", prefix, d)
				}
			}
		}

		addr := expect("READY ", 20*time.Second)
		client := &http.Client{Transport: newTransport(t), Timeout: 5 * time.Second}
		client.Transport.(*http.Transport).DisableKeepAlives = true
		require.NoError(t, getExpect(ctx, client, "http://"+addr+"/", "ok"), "the child serves")

		// Exhaust the child's descriptors.
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range 150 {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			require.NoError(t, err)
			conns = append(conns, c)
		}
		if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid)); err == nil {
			t.Logf("the child holds %d descriptors after %d dials", len(ents), len(conns))
		}
		acceptErr := expect("ACCEPTERR ", 10*time.Second)
		t.Logf("child: Accept error: %s", acceptErr)
		assert.Contains(t, acceptErr, "emfile=true")
		assert.Contains(t, acceptErr, "neterror=true temporary=true timeout=false",
			"net/http only backs off when the error itself is a net.Error with Temporary() true")

		// While exhausted, the child must not spin.
		pid := cmd.Process.Pid
		const window = 1500 * time.Millisecond
		cpu0, err := childCPU(pid)
		require.NoError(t, err)
		time.Sleep(window)
		cpu1, err := childCPU(pid)
		require.NoError(t, err)
		t.Logf("child CPU over %v of exhaustion: %v", window, cpu1-cpu0)
		assert.Less(t, cpu1-cpu0, window/2, "the child burns CPU while its Accept fails (a busy loop?)")

		// Give the descriptors back: the child serves again.
		for _, c := range conns {
			c.Close()
		}
		conns = nil
		var lastErr error
		recovered := false
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if lastErr = getExpect(ctx, client, "http://"+addr+"/", "ok"); lastErr == nil {
				recovered = true
				break
			}
		}
		if !recovered {
			t.Errorf("the child does not serve 15s after its descriptors were freed; last error: %v", lastErr)
			if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid)); err == nil {
				t.Logf("the child holds %d descriptors", len(ents))
			}
			if _, err := io.WriteString(stdin, "stats\n"); err == nil {
				t.Logf("child: %s", expect("STATS ", 5*time.Second))
				if b.statsDetail != nil {
					t.Logf("child loops: %s", expect("STATS_DETAIL ", 5*time.Second))
				}
			}
		}
		require.NotContains(t, output.String(), "SERVE_RETURNED", "http.Server.Serve gave up")

		wait()
		require.NoError(t, waitErr, "child exit")
		require.Contains(t, output.String(), "CHILD DONE")
	})
}

// childCPU is the CPU time a process has used, from /proc/PID/stat.
func childCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad stat %q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("bad stat %q", s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const ticksPerSecond = 100 // USER_HZ
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// reportingListener prints the first Accept errors on stdout for the parent.
type reportingListener struct {
	net.Listener
	errs     atomic.Int64
	accepted atomic.Int64
}

func (l *reportingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		if n := l.errs.Add(1); n <= 3 {
			// net/http asserts the type directly: err.(net.Error).
			ne, isNetErr := err.(net.Error)
			temp, isTemp := err.(interface{ Temporary() bool })
			fmt.Printf("ACCEPTERR type=%T emfile=%v neterror=%v temporary=%v timeout=%v err=%v\n",
				err, errors.Is(err, syscall.EMFILE), isNetErr, isTemp && temp.Temporary(), isNetErr && ne.Timeout(), err)
		}
	}
	return c, err
}

// setRlimit sets a field of unix.Rlimit, an int64 on FreeBSD and a uint64
// elsewhere, to n.
func setRlimit[T int64 | uint64](field *T, n int) { *field = T(n) }

// emfileChild is the child process's side of TestAcceptEMFILE.
func emfileChild(t *testing.T, name string) {
	b := backendByName(name)
	if b == nil {
		fmt.Printf("CHILD no backend %q\n", name)
		t.Fatalf("no backend %q", name)
	}
	// A low descriptor limit: what is open now plus a few dozen. It is set
	// before Listen: io_uring reads RLIMIT_NOFILE when it prepares an accept,
	// so a multishot accept armed earlier would keep the old limit.
	var orig unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &orig))
	open := countFDs()
	low := orig
	setRlimit(&low.Cur, open+48)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &low))
	fmt.Printf("FDS open=%d limit=%d\n", open, low.Cur)

	inner, err := b.listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := &reportingListener{Listener: inner}
	var states connStates
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }),
		ErrorLog:  log.New(os.Stderr, "child http.Server: ", log.Lmicroseconds),
		ConnState: states.hook,
	}
	served := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("SERVE_RETURNED %v\n", err)
		}
		served <- err
	}()

	fmt.Printf("FDS after Listen: open=%d\n", countFDs())
	fmt.Printf("READY %s\n", inner.Addr())

	// Serve until the parent closes stdin; report on "stats".
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "stats" {
			var s loopStats
			if b.stats != nil {
				s = b.stats()
			}
			fmt.Printf("STATS accepted=%d accepterrors=%d http-conns(new=%d active=%d idle=%d closed=%d) loops=%+v\n",
				ln.accepted.Load(), ln.errs.Load(), states.count(http.StateNew), states.count(http.StateActive),
				states.count(http.StateIdle), states.count(http.StateClosed), s)
			if b.statsDetail != nil {
				fmt.Printf("STATS_DETAIL %s\n", b.statsDetail())
			}
		}
	}
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &orig))
	fmt.Printf("ACCEPTERRS %d\n", ln.errs.Load())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	<-served
	fmt.Println("CHILD DONE")
}
