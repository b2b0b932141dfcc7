//go:build linux && amd64

package ringnet

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestBackendChoice(t *testing.T) {
	tests := []struct {
		name    string
		backend string
		want    string // backend name, or an error substring after "error:"
	}{
		{"auto", "auto", "io_uring"},
		{"io_uring", "io_uring", "io_uring"},
		{"poll", "poll", "poll"},
		{"bad", "epoll", "error:want io_uring, poll or auto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := pickBackend(tt.backend)
			if name, ok := strings.CutPrefix(tt.want, "error:"); ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), name)
				lc := ListenConfig{Backend: tt.backend}
				_, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
				require.Error(t, err, "Listen refuses a bad backend instead of picking one")
				assert.Contains(t, err.Error(), "RINGNET_BACKEND")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, b.Name)
		})
	}
}

func TestBackendEnv(t *testing.T) {
	t.Setenv(BackendEnv, "poll")
	assert.Equal(t, "poll", Backend())
	assert.Equal(t, "RINGNET_BACKEND=poll", BackendReason())
	t.Setenv(BackendEnv, "bogus")
	assert.Equal(t, "invalid", Backend())
	_, err := Listen("tcp", "127.0.0.1:0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `RINGNET_BACKEND="bogus"`)
}

// denyIOURingSetup installs a seccomp filter on every thread of the
// process that makes io_uring_setup(2) fail with EPERM, as Docker's default
// profile does.
func denyIOURingSetup() error {
	const (
		auditArchX8664 = 0xc000003e
		retErrno       = 0x00050000
		retAllow       = 0x7fff0000
	)
	if unix.SYS_IO_URING_SETUP != 425 {
		return fmt.Errorf("unexpected io_uring_setup number")
	}
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 0, K: auditArchX8664},
		{Code: unix.BPF_RET | unix.BPF_K, K: retAllow},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // syscall number
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_IO_URING_SETUP},
		{Code: unix.BPF_RET | unix.BPF_K, K: retErrno | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: retAllow},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return errno
	}
	return nil
}

// TestSeccompFallback runs the test binary again in a child process that
// is refused io_uring by seccomp before it touches ringnet: it must pick
// the poll backend, say why, and serve HTTP; with RINGNET_BACKEND=io_uring
// Listen must fail naming the cause.
func TestSeccompFallback(t *testing.T) {
	if mode := os.Getenv("RINGNET_TEST_SECCOMP_CHILD"); mode != "" {
		seccompChild(mode)
		return
	}
	run := func(mode string, env ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSeccompFallback$", "-test.v")
		cmd.Env = append(os.Environ(), append([]string{"RINGNET_TEST_SECCOMP_CHILD=" + mode}, env...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "child output:\n%s", out)
		return string(out)
	}
	t.Run("auto", func(t *testing.T) {
		out := run("serve", BackendEnv+"=auto")
		assert.Contains(t, out, "BACKEND poll")
		assert.Contains(t, out, "REASON io_uring: unsupported: io_uring_setup: operation not permitted")
		assert.Contains(t, out, "HTTP ok from poll")
		assert.Contains(t, out, "HTTPS HTTP/2.0 from poll")
	})
	t.Run("forced", func(t *testing.T) {
		out := run("forced", BackendEnv+"=io_uring")
		assert.Contains(t, out, "LISTEN ERROR listen tcp: ringnet: backend io_uring was asked for but cannot run: io_uring: unsupported: io_uring_setup: operation not permitted")
	})
}

func seccompChild(mode string) {
	fail := func(format string, args ...any) {
		fmt.Printf("CHILD FAILED: "+format+"\n", args...)
		os.Exit(3)
	}
	if err := denyIOURingSetup(); err != nil {
		fail("seccomp: %v", err)
	}
	if _, _, errno := syscall.Syscall(unix.SYS_IO_URING_SETUP, 1, 0, 0); errno != unix.EPERM {
		fail("io_uring_setup not refused: %v", errno)
	}
	switch mode {
	case "forced":
		_, err := Listen("tcp", "127.0.0.1:0")
		if err == nil {
			fail("Listen succeeded with io_uring forced")
		}
		fmt.Println("LISTEN ERROR", err)
	case "serve":
		fmt.Println("BACKEND", Backend())
		fmt.Println("REASON", BackendReason())
		ln, err := Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fail("listen: %v", err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok from "+Backend())
		})}
		go srv.Serve(ln)
		client := &http.Client{Timeout: 5 * time.Second}
		for i := range 20 {
			resp, err := client.Get("http://" + ln.Addr().String() + "/")
			if err != nil {
				fail("get %d: %v", i, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if i == 0 {
				fmt.Println("HTTP", string(body))
			}
		}
		srv.Close()
		serveTLS(fail)
	}
}

// serveTLS serves HTTPS with HTTP/2 (ALPN h2) on a ringnet listener and
// checks that requests over one HTTP/2 connection work: the seccomp child
// runs it on the poll backend.
func serveTLS(fail func(string, ...any)) {
	cert, pool, err := selfSignedCert()
	if err != nil {
		fail("cert: %v", err)
	}
	ln, err := Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s from %s", r.Proto, Backend())
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}},
	}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for i := range 20 {
		resp, err := client.Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			fail("https get %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if i == 0 {
			fmt.Println("HTTPS", string(body))
		}
	}
}
