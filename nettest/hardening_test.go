//go:build linux && !noringnet

package nettest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet"
	"github.com/ringnet/ringnet/fallback"
	"github.com/ringnet/ringnet/internal/leakcheck"
	"github.com/ringnet/ringnet/loop"
)

// The hardening tests: concurrency, resets at every stage of an exchange, a
// peer that stops reading, Close racing blocked calls, shutting down loops
// that hold thousands of connections, a completion queue far smaller than
// the work, and descriptor exhaustion while dialing. Each runs on every
// backend of the table; the standard library proves the test itself right.
//
// This file needs ringnet itself (its Dialer, ListenConfig shapes, Stats and
// the loops' WaitStopped), so -tags noringnet leaves it out.

// ---- helpers ----

// dialFunc is the backend's DialContext: the standard library's net.Dialer
// for the reference, ringnet.Dialer forced to the backend otherwise.
func dialFunc(b *backend) func(ctx context.Context, network, address string) (net.Conn, error) {
	if b.std {
		d := &net.Dialer{}
		return d.DialContext
	}
	d := &ringnet.Dialer{Backend: b.name}
	return d.DialContext
}

// listenShapedT listens on 127.0.0.1 with a ringnet loop shape (RingEntries,
// Buffers, Loops...) forced to the backend; the reference ignores the shape.
func listenShapedT(t *testing.T, b *backend, lc ringnet.ListenConfig) net.Listener {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	var ln net.Listener
	var err error
	if b.std {
		var nlc net.ListenConfig
		ln, err = nlc.Listen(ctx, "tcp", "127.0.0.1:0")
	} else {
		lc.Backend = b.name
		ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0")
	}
	require.NoError(t, err, "%s: Listen", b.name)
	t.Cleanup(func() { ln.Close() })
	return ln
}

// errClass sorts an error into the classes the standard library's errors
// fall in: what a program can tell apart with errors.Is.
func errClass(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return "nil"
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.As(err, &errno):
		return "errno(" + errno.Error() + ")"
	}
	return fmt.Sprintf("other(%T %v)", err, err)
}

// requireOpErr checks err is a *net.OpError for op whose class is one of
// classes.
func requireOpErr(t *testing.T, err error, op string, classes ...string) {
	t.Helper()
	require.Error(t, err)
	var oe *net.OpError
	require.ErrorAs(t, err, &oe, "%T %v", err, err)
	assert.Equal(t, op, oe.Op, "OpError.Op of %v", err)
	assert.Contains(t, classes, errClass(err), "error %v", err)
}

// loopCount is the number of running loops of the backend (0 for the
// reference).
func loopCount(b *backend) int {
	if b.stats == nil {
		return 0
	}
	return b.stats().Loops
}

// waitLoopsGone waits (at most d) until the backend runs no more loops
// than want, then until every stopped loop has exited.
func waitLoopsGone(b *backend, want int, d time.Duration) error {
	var err error
	if b.stats != nil {
		for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
			s := b.stats()
			if s.Loops <= want {
				break
			}
			if time.Now().After(deadline) {
				err = fmt.Errorf("%s: %d loops still run %v after the test closed everything (want %d): %+v; %s",
					b.name, s.Loops, d, want, s, b.statsDetail())
				break
			}
		}
	}
	loop.WaitStopped()
	fallback.WaitStopped()
	return err
}

// leakCheckT checks, once the test and its other cleanups are done, that
// the backend's loops stopped and that no goroutine and no descriptor
// outlives the test.
func leakCheckT(t *testing.T, b *backend) {
	t.Helper()
	fds := countFDs()
	loops := loopCount(b)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { // registered first: runs last
		if t.Failed() {
			return // the failure says more than the leaks it left
		}
		if err := waitLoopsGone(b, loops, 10*time.Second); err != nil {
			t.Error(err)
		}
		// goleak retries for about half a second; net/http lingers longer
		// over some closes (closeWriteAndWait sleeps 500 ms).
		var err error
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
			if err = goleak.Find(ignore); err == nil {
				break
			}
		}
		if err != nil {
			t.Errorf("goroutines outlive the test: %v", err)
		}
		if err := checkFDs(fds); err != nil {
			t.Error(err)
		}
	})
}

func waitResult[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(d):
		t.Fatalf("%s did not happen within %v", what, d)
		var zero T
		return zero
	}
}

// ---- ordering under concurrency ----

// TestConcurrentWriteOrdering has 64 goroutines each Write one 1 MiB block
// of its own pattern, all at once, on one server connection. The peer must
// read 64 whole blocks: each one goroutine's, intact (Writes never
// interleave), every goroutine's exactly once.
func TestConcurrentWriteOrdering(t *testing.T) {
	guard(t, 150*time.Second)
	const writers, block, stride = 64, 1 << 20, 4099
	// Block i is src[i*stride:][:block]: 64 distinct patterns in 1.25 MiB.
	src := make([]byte, block+writers*stride)
	_, _ = newPattern(4242, int64(len(src))).Read(src)
	blocks := make([][]byte, writers)
	byPrefix := map[string]int{}
	for i := range writers {
		blocks[i] = src[i*stride : i*stride+block]
		byPrefix[string(blocks[i][:64])] = i
	}
	require.Len(t, byPrefix, writers, "block prefixes are distinct")

	forEachBackend(t, func(t *testing.T, b *backend) {
		srv, cli := pairT(t, b)
		require.NoError(t, srv.SetWriteDeadline(time.Now().Add(60*time.Second)))
		start := make(chan struct{})
		errc := make(chan error, writers)
		for i := range writers {
			go func() {
				<-start
				n, err := srv.Write(blocks[i])
				if err == nil && n != block {
					err = fmt.Errorf("Write returned %d, want %d", n, block)
				}
				if err != nil {
					err = fmt.Errorf("writer %d: %w", i, err)
				}
				errc <- err
			}()
		}
		close(start)

		require.NoError(t, cli.SetReadDeadline(time.Now().Add(60*time.Second)))
		buf := make([]byte, block)
		var seen [writers]bool
		for k := range writers {
			_, err := io.ReadFull(cli, buf)
			require.NoError(t, err, "reading block %d", k)
			i, ok := byPrefix[string(buf[:64])]
			require.True(t, ok, "block %d does not begin like any writer's block: Writes interleaved", k)
			require.False(t, seen[i], "block %d is writer %d's block a second time", k, i)
			if !bytes.Equal(buf, blocks[i]) {
				off := 0
				for off < block && buf[off] == blocks[i][off] {
					off++
				}
				t.Fatalf("block %d (writer %d) differs at byte %d: another Write's bytes interleaved", k, i, off)
			}
			seen[i] = true
		}
		for range writers {
			require.NoError(t, waitResult(t, errc, stepTimeout, "a writer's return"))
		}
		// Nothing more than the 64 blocks.
		require.NoError(t, srv.Close())
		require.NoError(t, cli.SetReadDeadline(time.Now().Add(stepTimeout)))
		n, err := cli.Read(buf[:1])
		assert.Zero(t, n)
		assert.Equal(t, io.EOF, err)
	})
}

// ---- resets at every stage ----

// TestResetStages resets (or half-closes) the client at each stage of an
// exchange: right after connecting, before Accept; during an HTTP request
// body upload; during a large response download; and half-closes in the
// middle of a request body. The server must report the errors the standard
// library reports, serve a new request afterwards, and leak nothing.
func TestResetStages(t *testing.T) {
	guard(t, 120*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		t.Run("before-accept", func(t *testing.T) {
			leakCheckT(t, b)
			ln := listenT(t, b)
			c := dialT(t, ln.Addr().String())
			resetT(t, c) // SetLinger(0) + Close: an RST, before Accept
			time.Sleep(50 * time.Millisecond)

			// Linux still hands out the connection; reading it reports the
			// reset (the standard library: ECONNRESET).
			srv, err := acceptTimeout(ln, stepTimeout)
			require.NoError(t, err, "Accept of a connection reset before it")
			defer srv.Close()
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(stepTimeout)))
			_, err = srv.Read(make([]byte, 16))
			t.Logf("Read of a connection reset before Accept: %v", err)
			requireOpErr(t, err, "read", "reset")
			_, err = srv.Write([]byte("anyone?"))
			t.Logf("Write: %v", err)
			requireOpErr(t, err, "write", "reset")
			require.NoError(t, srv.Close())

			// The listener is healthy: a new connection is served.
			c2 := dialT(t, ln.Addr().String())
			srv2 := acceptT(t, ln, stepTimeout)
			go echo(srv2)
			require.NoError(t, roundTrip(c2, []byte("after the reset"), stepTimeout))
		})

		type handlerResult struct {
			n   int64
			err error
		}
		newServer := func(t *testing.T) (*httpEnv, chan struct{}, chan handlerResult) {
			started := make(chan struct{}, 4)
			results := make(chan handlerResult, 4)
			mux := http.NewServeMux()
			mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
			mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
				_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(2 * stepTimeout))
				buf := make([]byte, 32<<10)
				var n int64
				var err error
				for err == nil {
					var k int
					k, err = r.Body.Read(buf)
					if n == 0 && k > 0 {
						started <- struct{}{}
					}
					n += int64(k)
				}
				results <- handlerResult{n, err}
				fmt.Fprintf(w, "read %d: %v", n, err)
			})
			mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
				_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(2 * stepTimeout))
				w.Header().Set("Content-Type", "application/octet-stream")
				n, err := io.CopyBuffer(w, newPattern(21, 256<<20), make([]byte, 64<<10))
				results <- handlerResult{n, err}
			})
			e := startHTTP(t, b, mux, nil)
			return e, started, results
		}
		serves := func(t *testing.T, e *httpEnv) {
			t.Helper()
			client := &http.Client{Transport: newTransport(t), Timeout: stepTimeout}
			require.NoError(t, getExpect(t.Context(), client, e.url+"/ok", "ok"), "the server serves after the reset")
		}
		rawRequest := func(t *testing.T, e *httpEnv, head string, body int64) *net.TCPConn {
			c := dialT(t, e.ln.Addr().String())
			require.NoError(t, c.SetDeadline(time.Now().Add(2*stepTimeout)))
			_, err := io.WriteString(c, head)
			require.NoError(t, err)
			if body > 0 {
				_, err = io.Copy(c, newPattern(22, body))
				require.NoError(t, err)
			}
			return c
		}

		t.Run("upload", func(t *testing.T) {
			leakCheckT(t, b)
			e, started, results := newServer(t)
			c := rawRequest(t, e, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n", 256<<10)
			waitResult(t, started, stepTimeout, "the handler reading the body")
			resetT(t, c)
			r := waitResult(t, results, stepTimeout, "the handler's body read failing after the reset")
			t.Logf("the handler read %d bytes of the body, then: %v", r.n, r.err)
			requireOpErr(t, r.err, "read", "reset")
			assert.ErrorIs(t, r.err, syscall.ECONNRESET)
			serves(t, e)
		})

		t.Run("download", func(t *testing.T) {
			leakCheckT(t, b)
			e, _, results := newServer(t)
			c := rawRequest(t, e, "GET /download HTTP/1.1\r\nHost: x\r\n\r\n", 0)
			_, err := io.ReadFull(c, make([]byte, 1<<20))
			require.NoError(t, err, "reading the first MiB of the response")
			resetT(t, c)
			r := waitResult(t, results, stepTimeout, "the handler's Write failing after the reset")
			t.Logf("the handler wrote %d bytes, then: %v", r.n, r.err)
			requireOpErr(t, r.err, "write", "reset")
			serves(t, e)
		})

		t.Run("half-close", func(t *testing.T) {
			leakCheckT(t, b)
			e, _, results := newServer(t)
			const sent = 100 << 10
			c := rawRequest(t, e, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n", sent)
			require.NoError(t, c.CloseWrite())
			r := waitResult(t, results, stepTimeout, "the handler's body read ending after the half-close")
			t.Logf("the handler read %d bytes of the body, then: %v", r.n, r.err)
			assert.EqualValues(t, sent, r.n)
			require.ErrorIs(t, r.err, io.ErrUnexpectedEOF, "net/http turns the early io.EOF into this")
			// The response still reaches the half-closed client.
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, fmt.Sprintf("read %d: unexpected EOF", sent), string(body))
			serves(t, e)
		})
	})
}

// ---- a peer that stops reading ----

// TestStalledPeerWriteDeadline has the server Write 64 MiB in one call to a
// peer that reads nothing. The Write must block, end with a timeout error
// when its 500 ms deadline passes, without the heap growing by more than
// 32 MiB; Close must then return at once, and the peer must receive exactly
// the bytes Write reported, then the end of the stream.
func TestStalledPeerWriteDeadline(t *testing.T) {
	guard(t, 90*time.Second)
	const total = 64 << 20
	const filled = 24 << 20 // more than the socket buffers and the send queue take
	forEachBackend(t, func(t *testing.T, b *backend) {
		srv, cli := pairT(t, b)
		big := make([]byte, total)
		_, _ = newPattern(31, filled).Read(big[:filled])
		heap0 := heapInuse()

		const deadline = 500 * time.Millisecond
		require.NoError(t, srv.SetWriteDeadline(time.Now().Add(deadline)))
		type res struct {
			n   int
			err error
			d   time.Duration
		}
		done := make(chan res, 1)
		go func() {
			t0 := time.Now()
			n, err := srv.Write(big)
			done <- res{n, err, time.Since(t0)}
		}()
		var r res
		select {
		case r = <-done:
		case <-time.After(deadline + 5*time.Second):
			srv.Close()
			t.Fatalf("Write still blocked %v after its deadline", 5*time.Second)
		}
		t.Logf("Write returned %d bytes after %v: %v", r.n, r.d, r.err)
		requireOpErr(t, r.err, "write", "timeout")
		var ne net.Error
		require.ErrorAs(t, r.err, &ne)
		assert.True(t, ne.Timeout(), "Timeout()")
		assert.GreaterOrEqual(t, r.d, deadline-50*time.Millisecond, "the Write returned before its deadline")
		assert.Less(t, r.d, deadline+2*time.Second, "the Write returned long after its deadline")
		require.Greater(t, r.n, 0)
		require.Less(t, r.n, filled, "the Write took more than the peer could have received")

		heap1 := heapInuse()
		runtime.KeepAlive(big)
		growth := int64(heap1) - int64(heap0)
		t.Logf("heap in use grew by %.1f MiB while the Write was blocked", float64(growth)/(1<<20))
		assert.Less(t, growth, int64(32<<20), "heap growth while the peer does not read")

		t0 := time.Now()
		require.NoError(t, srv.Close())
		assert.Less(t, time.Since(t0), 500*time.Millisecond, "Close with unsent bytes")

		// What Write reported is what the peer gets, then the end.
		require.NoError(t, cli.SetReadDeadline(time.Now().Add(stepTimeout)))
		got, err := io.Copy(&patternVerifier{seed: 31}, cli)
		require.NoError(t, err, "the peer reading the bytes written before the deadline")
		require.EqualValues(t, r.n, got, "bytes the peer received vs bytes Write reported")
	})
}

// ---- Close from another goroutine ----

// fullBacklogAddr returns the address of a listening socket that accepts
// nothing and whose accept queue is full, so the kernel drops new SYNs and
// a dial to it blocks until cancelled.
func fullBacklogAddr(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, unix.Listen(fd, 0))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	// Backlog 0 takes one connection; fill until a dial goes unanswered.
	for i := 0; ; i++ {
		require.Less(t, i, 8, "the accept queue of a backlog-0 socket does not fill")
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			var ne net.Error
			require.True(t, errors.As(err, &ne) && ne.Timeout(), "filling the accept queue: %v", err)
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr
}

// TestCloseUnblocksPromptly closes from another goroutine while a Read, a
// Write, an Accept and a Dial are blocked: each must return within 2 s with
// net.ErrClosed in its error chain (context.Canceled for the Dial, whose
// "close" is cancelling its context).
func TestCloseUnblocksPromptly(t *testing.T) {
	guard(t, 90*time.Second)
	const prompt = 2 * time.Second
	type res struct {
		err error
		at  time.Time
	}
	// closeAndWait runs closeFn once the call in errc has been blocked for a
	// while and checks how soon it returns.
	closeAndWait := func(t *testing.T, errc <-chan res, closeFn func() error) error {
		t.Helper()
		select {
		case r := <-errc:
			t.Fatalf("returned before Close: %v", r.err)
		case <-time.After(200 * time.Millisecond):
		}
		t0 := time.Now()
		require.NoError(t, closeFn())
		r := waitResult(t, errc, 5*time.Second, "the blocked call's return after Close")
		d := r.at.Sub(t0)
		t.Logf("returned %v after Close: %v", d, r.err)
		assert.Less(t, d, prompt, "return after Close")
		return r.err
	}
	forEachBackend(t, func(t *testing.T, b *backend) {
		t.Run("read", func(t *testing.T) {
			srv, _ := pairT(t, b)
			errc := make(chan res, 1)
			go func() {
				_, err := srv.Read(make([]byte, 64))
				errc <- res{err, time.Now()}
			}()
			err := closeAndWait(t, errc, srv.Close)
			requireClosedErr(t, err, "read")
		})
		t.Run("write", func(t *testing.T) {
			srv, _ := pairT(t, b) // the client never reads
			errc := make(chan res, 1)
			var written atomic.Int64
			go func() {
				buf := make([]byte, 256<<10)
				for written.Load() < 1<<30 {
					n, err := srv.Write(buf)
					written.Add(int64(n))
					if err != nil {
						errc <- res{err, time.Now()}
						return
					}
				}
				errc <- res{errors.New("wrote 1 GiB to a peer that reads nothing"), time.Now()}
			}()
			// Blocked: no progress for 300 ms.
			for last, deadline := int64(-1), time.Now().Add(stepTimeout); ; {
				time.Sleep(300 * time.Millisecond)
				cur := written.Load()
				if cur == last {
					break
				}
				require.True(t, time.Now().Before(deadline), "the Writes never block")
				last = cur
			}
			err := closeAndWait(t, errc, srv.Close)
			t.Logf("%d bytes written before Close", written.Load())
			requireClosedErr(t, err, "write")
		})
		t.Run("accept", func(t *testing.T) {
			ln := listenT(t, b)
			errc := make(chan res, 1)
			go func() {
				c, err := ln.Accept()
				if c != nil {
					c.Close()
				}
				errc <- res{err, time.Now()}
			}()
			err := closeAndWait(t, errc, ln.Close)
			requireClosedErr(t, err, "accept")
		})
		t.Run("dial", func(t *testing.T) {
			addr := fullBacklogAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dial := dialFunc(b)
			errc := make(chan res, 1)
			go func() {
				c, err := dial(ctx, "tcp", addr)
				if c != nil {
					c.Close()
					err = errors.New("the dial to a full accept queue succeeded")
				}
				errc <- res{err, time.Now()}
			}()
			err := closeAndWait(t, errc, func() error { cancel(); return nil })
			require.Error(t, err)
			assert.ErrorIs(t, err, context.Canceled)
			var oe *net.OpError
			if assert.ErrorAs(t, err, &oe, "%T %v", err, err) {
				assert.Equal(t, "dial", oe.Op)
			}
		})
	})
}

// ---- shutting down with thousands of connections ----

// TestShutdownManyConns opens 2,000 connections to a listener, then closes
// the listener and every server connection at once. Every client must see
// the end of its stream (EOF or a reset) within 10 s; the loops must then
// report no connection, stop, and give every descriptor back.
func TestShutdownManyConns(t *testing.T) {
	guard(t, 150*time.Second)
	const n = 2000
	forEachBackend(t, func(t *testing.T, b *backend) {
		leakCheckT(t, b)
		fds0 := countFDs()
		ln := listenT(t, b)
		addr := ln.Addr().String()

		accepted := make(chan net.Conn, n)
		acceptDone := make(chan error, 1)
		go func() {
			for range n {
				c, err := ln.Accept()
				if err != nil {
					acceptDone <- err
					return
				}
				accepted <- c
			}
			acceptDone <- nil
		}()
		clients := make([]net.Conn, n)
		t.Cleanup(func() {
			for _, c := range clients {
				if c != nil {
					c.Close()
				}
			}
		})
		var wg sync.WaitGroup
		var dialErr atomic.Pointer[error]
		const dialers = 8
		for d := range dialers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := d; i < n; i += dialers {
					c, err := net.DialTimeout("tcp", addr, dialTimeout)
					if err != nil {
						dialErr.CompareAndSwap(nil, &err)
						return
					}
					clients[i] = c
				}
			}()
		}
		require.True(t, waitTimeout(&wg, 60*time.Second), "dialing %d connections", n)
		if p := dialErr.Load(); p != nil {
			t.Fatalf("dial: %v", *p)
		}
		require.NoError(t, waitResult(t, acceptDone, 30*time.Second, "accepting every connection"))
		close(accepted)
		servers := make([]net.Conn, 0, n)
		for c := range accepted {
			servers = append(servers, c)
		}
		require.Len(t, servers, n)
		if b.stats != nil {
			s := b.stats()
			t.Logf("%s with %d connections: %+v", b.name, n, s)
			require.EqualValues(t, n, s.Conns, "connections the loops own")
		}

		// Everything at once.
		t0 := time.Now()
		require.NoError(t, ln.Close())
		var cwg sync.WaitGroup
		var closeErrs atomic.Int64
		for k := range 8 {
			cwg.Add(1)
			go func() {
				defer cwg.Done()
				for i := k; i < n; i += 8 {
					if servers[i].Close() != nil {
						closeErrs.Add(1)
					}
				}
			}()
		}
		require.True(t, waitTimeout(&cwg, 10*time.Second), "closing the server connections")
		require.Zero(t, closeErrs.Load(), "server Close errors")

		// Every client sees the end within 10 s of the shutdown.
		deadline := t0.Add(10 * time.Second)
		classes := map[string]int{}
		buf := make([]byte, 16)
		for i, c := range clients {
			require.NoError(t, c.SetReadDeadline(deadline))
			k, err := c.Read(buf)
			cl := errClass(err)
			classes[cl]++
			if k != 0 || (cl != "EOF" && cl != "reset") {
				t.Fatalf("client %d: Read after the shutdown returned %d bytes, %v (after %v)", i, k, err, time.Since(t0))
			}
		}
		t.Logf("every client saw the end within %v: %v", time.Since(t0), classes)

		if b.stats != nil {
			var s loopStats
			for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				s = b.stats()
				if s.Conns == 0 || time.Now().After(end) {
					break
				}
			}
			require.Zero(t, s.Conns, "connections the loops still own: %s", b.statsDetail())
			require.NoError(t, waitLoopsGone(b, 0, 10*time.Second))
			require.Zero(t, loopCount(b), "loops after WaitStopped")
		}
		for i, c := range clients {
			c.Close()
			clients[i] = nil
		}
		require.NoError(t, checkFDs(fds0), "descriptors after the shutdown")
	})
}

// ---- a completion queue much smaller than the work ----

// TestTinyRing runs 200 connections, each echoing 256 KiB of its own
// pattern concurrently, through one loop whose ring has 8 submission
// entries (32 completion entries) and 4 provided buffers: the completion
// queue overflows all the time. Every byte must come back in order, with
// no hang and bounded CPU, and the loop must sleep afterwards.
func TestTinyRing(t *testing.T) {
	guard(t, 120*time.Second)
	const conns, size = 200, 256 << 10
	forEachBackend(t, func(t *testing.T, b *backend) {
		ln := listenShapedT(t, b, ringnet.ListenConfig{RingEntries: 8, Buffers: 4, Loops: 1})
		serveT(t, ln, echo)
		cpu0 := processCPU()
		t0 := time.Now()
		deadline := t0.Add(60 * time.Second)

		errc := make(chan error, 2*conns)
		var wg sync.WaitGroup
		for i := range conns {
			c, err := net.DialTimeout("tcp", ln.Addr().String(), dialTimeout)
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			tc := c.(*net.TCPConn)
			require.NoError(t, tc.SetDeadline(deadline))
			wg.Add(2)
			go func() {
				defer wg.Done()
				if _, err := io.CopyBuffer(tc, newPattern(500+i, size), make([]byte, 16<<10)); err != nil {
					errc <- fmt.Errorf("conn %d: write: %w", i, err)
					return
				}
				if err := tc.CloseWrite(); err != nil {
					errc <- fmt.Errorf("conn %d: CloseWrite: %w", i, err)
				}
			}()
			go func() {
				defer wg.Done()
				n, err := io.Copy(&patternVerifier{seed: 500 + i}, tc)
				if err == nil && n != size {
					err = fmt.Errorf("got %d bytes back, want %d", n, size)
				}
				if err != nil {
					errc <- fmt.Errorf("conn %d: read: %w", i, err)
				}
			}()
		}
		if !waitTimeout(&wg, 70*time.Second) {
			if b.statsDetail != nil {
				t.Logf("%s loops: %s", b.name, b.statsDetail())
			}
			t.Fatal("the echo clients did not finish: a hang")
		}
		cpu := processCPU() - cpu0
		t.Logf("%d conns x %d bytes echoed in %v using %v CPU", conns, size, time.Since(t0), cpu)
		if b.statsDetail != nil {
			t.Logf("%s loops: %s", b.name, b.statsDetail())
		}
		close(errc)
		var errs []error
		for err := range errc {
			errs = append(errs, err)
		}
		require.Empty(t, errs, "%d failures; first: %v", len(errs), errors.Join(errs[:min(5, len(errs))]...))
		require.Less(t, cpu, 30*time.Second, "CPU time for the run")

		idle := dialT(t, ln.Addr().String())
		require.NoError(t, roundTrip(idle, []byte("still there"), stepTimeout))
		requireIdleCPU(t, 500*time.Millisecond)
	})
}

// ---- descriptor exhaustion while dialing ----

// Set to a backend's name (and the peer's address), these make the test
// binary a child process of TestDialEMFILE.
const (
	dialEMFILEChildEnv = "NETTEST_DIALEMFILE_CHILD"
	dialEMFILEAddrEnv  = "NETTEST_DIALEMFILE_ADDR"
)

// TestDialEMFILE dials, in a child process with a low RLIMIT_NOFILE, until
// Dial fails: the error must be a *net.OpError wrapping EMFILE, like
// net.Dial's, and dialing must work again once some connections are closed.
func TestDialEMFILE(t *testing.T) {
	if name := os.Getenv(dialEMFILEChildEnv); name != "" {
		dialEMFILEChild(t, name, os.Getenv(dialEMFILEAddrEnv))
		return
	}
	guard(t, 120*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		// The peer: a standard library server holding what it accepts.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		serveT(t, ln, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })

		ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDialEMFILE$", "-test.v", "-test.timeout=35s")
		cmd.Env = append(os.Environ(), dialEMFILEChildEnv+"="+b.name, dialEMFILEAddrEnv+"="+ln.Addr().String())
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "CHILD ") {
				t.Log(l)
			}
		}
		require.NoError(t, err, "child:\n%s", out)
		require.Contains(t, string(out), "CHILD DONE", "child:\n%s", out)
	})
}

func dialEMFILEChild(t *testing.T, name, addr string) {
	b := backendByName(name)
	require.NotNil(t, b, "backend %q", name)
	dial := dialFunc(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The first dial probes the backend and starts its loops; keeping it
	// open keeps them running, so what follows only costs the dials.
	keep, err := dial(ctx, "tcp", addr)
	require.NoError(t, err)
	defer keep.Close()

	var orig unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &orig))
	low := orig
	low.Cur = uint64(countFDs() + 24)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &low))
	defer func() { require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &orig)) }()
	fmt.Printf("CHILD %s: %d fds open, limit %d\n", name, countFDs(), low.Cur)

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var dialErr error
	for range 100 {
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			dialErr = err
			break
		}
		conns = append(conns, c)
	}
	require.Error(t, dialErr, "100 dials under a limit of %d descriptors", low.Cur)
	fmt.Printf("CHILD %s: Dial failed after %d conns: %T %v\n", name, len(conns), dialErr, dialErr)

	// net.Dial's error in the same state (one more dial may still fit).
	var netErr error
	for range 4 {
		c, err := net.DialTimeout("tcp", addr, dialTimeout)
		if err != nil {
			netErr = err
			break
		}
		conns = append(conns, c)
	}
	require.Error(t, netErr)
	fmt.Printf("CHILD %s: net.Dial then failed: %T %v\n", name, netErr, netErr)

	for _, err := range []error{dialErr, netErr} {
		var oe *net.OpError
		require.ErrorAs(t, err, &oe, "%T %v", err, err)
		assert.Equal(t, "dial", oe.Op)
		assert.Equal(t, "tcp", oe.Net)
		if assert.NotNil(t, oe.Addr) {
			assert.Equal(t, addr, oe.Addr.String())
		}
		assert.ErrorIs(t, err, syscall.EMFILE)
		var se *os.SyscallError
		assert.ErrorAs(t, err, &se, "an *os.SyscallError naming the failed call")
		var ne net.Error
		if assert.ErrorAs(t, err, &ne) {
			assert.False(t, ne.Timeout())
		}
	}
	if dialErr.Error() != netErr.Error() {
		fmt.Printf("CHILD %s: note: the texts differ: %q vs net's %q\n", name, dialErr, netErr)
	}

	// Closing a few connections makes room again.
	for _, c := range conns[len(conns)-5:] {
		c.Close()
	}
	conns = conns[:len(conns)-5]
	// ringnet's Close hands the descriptor to its loop, which closes it a
	// moment later: allow that moment, and report it.
	t0 := time.Now()
	var c net.Conn
	for attempt := 1; ; attempt++ {
		c, err = dial(ctx, "tcp", addr)
		if err == nil {
			if attempt > 1 {
				fmt.Printf("CHILD %s: note: Close did not free the descriptor at once: dial attempt 1 failed, attempt %d (after %v) worked\n",
					name, attempt, time.Since(t0).Round(time.Millisecond))
			}
			break
		}
		require.ErrorIs(t, err, syscall.EMFILE, "dialing after closing 5 connections")
		require.Less(t, time.Since(t0), 2*time.Second, "dialing after closing 5 connections: %v", err)
		time.Sleep(10 * time.Millisecond)
	}
	conns = append(conns, c)
	_, err = c.Write([]byte("still works"))
	require.NoError(t, err)
	fmt.Printf("CHILD DONE\n")
}

// checkFDs reports whether the process holds more descriptors than before
// (within fdSlack), after a little time for asynchronous closes.
func checkFDs(before int) error { return leakcheck.CheckFDs(before, fdSlack) }
