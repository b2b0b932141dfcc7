package nettest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Bounds shared by the tests.
const (
	stepTimeout = 10 * time.Second // any single blocking step
	dialTimeout = 5 * time.Second
)

// ---- deterministic pseudo-random data ----

// patTable is a block of pseudo-random bytes whose length is no multiple of
// any power of two, so a stream made by cycling through it shows any chunk
// that is lost, repeated or moved.
var patTable = func() []byte {
	b := make([]byte, 1<<20+4099)
	r := rand.NewChaCha8([32]byte{'r', 'i', 'n', 'g', 'n', 'e', 't'})
	_, _ = r.Read(b)
	return b
}()

// patStart is where stream seed begins in patTable.
func patStart(seed int) int { return (seed * 7919) % len(patTable) }

// patternReader yields the first n bytes of pattern stream seed.
type patternReader struct {
	seed int
	off  int64
	n    int64
}

func newPattern(seed int, n int64) *patternReader { return &patternReader{seed: seed, n: n} }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rem := p.n - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	n := 0
	for n < len(b) {
		i := (patStart(p.seed) + int((p.off+int64(n))%int64(len(patTable)))) % len(patTable)
		n += copy(b[n:], patTable[i:])
	}
	p.off += int64(n)
	return n, nil
}

// patternVerifier checks that what is written to it is pattern stream seed.
type patternVerifier struct {
	seed int
	off  int64
	err  error
}

func (v *patternVerifier) Write(b []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n := 0
	for n < len(b) {
		i := (patStart(v.seed) + int((v.off+int64(n))%int64(len(patTable)))) % len(patTable)
		m := min(len(b)-n, len(patTable)-i)
		if !bytes.Equal(b[n:n+m], patTable[i:i+m]) {
			for k := range m {
				if b[n+k] != patTable[i+k] {
					v.err = fmt.Errorf("stream %d: wrong byte at offset %d: got %#x, want %#x",
						v.seed, v.off+int64(n+k), b[n+k], patTable[i+k])
					break
				}
			}
			return n, v.err
		}
		n += m
	}
	v.off += int64(n)
	return n, nil
}

var (
	patHashMu sync.Mutex
	patHashes = map[[2]int64]string{}
)

// patternSHA256 is the hex SHA-256 of the first n bytes of stream seed.
func patternSHA256(seed int, n int64) string {
	patHashMu.Lock()
	defer patHashMu.Unlock()
	k := [2]int64{int64(seed), n}
	if h, ok := patHashes[k]; ok {
		return h
	}
	h := sha256.New()
	_, _ = io.Copy(h, newPattern(seed, n))
	s := hex.EncodeToString(h.Sum(nil))
	patHashes[k] = s
	return s
}

// ---- listeners and connections ----

// listenT listens on 127.0.0.1 with the backend; the listener is closed when
// the test ends.
func listenT(t *testing.T, b *backend) net.Listener {
	t.Helper()
	return listenOptsT(t, b, listenOpts{})
}

func listenOptsT(t *testing.T, b *backend, o listenOpts) net.Listener {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	ln, err := b.listenConfig(ctx, o, "tcp", "127.0.0.1:0")
	require.NoError(t, err, "%s: Listen", b.name)
	t.Cleanup(func() { ln.Close() })
	return ln
}

// acceptT accepts one connection within d; it is closed when the test ends.
func acceptT(t *testing.T, ln net.Listener, d time.Duration) net.Conn {
	t.Helper()
	c, err := acceptTimeout(ln, d)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// acceptTimeout accepts one connection, closing the listener if none comes
// within d (which must make the pending Accept return).
func acceptTimeout(ln net.Listener, d time.Duration) (net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("Accept: %w", r.err)
		}
		return r.c, nil
	case <-timer.C:
		ln.Close()
		select {
		case r := <-ch:
			if r.c != nil {
				r.c.Close()
			}
			return nil, fmt.Errorf("Accept did not return within %v", d)
		case <-time.After(5 * time.Second):
			return nil, fmt.Errorf("Accept did not return within %v, nor after the listener was closed", d)
		}
	}
}

// dialT dials addr with the standard library; closed when the test ends.
func dialT(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// pairT returns a connection accepted by a listener of the backend and the
// standard library client connected to it.
func pairT(t *testing.T, b *backend) (srv net.Conn, cli *net.TCPConn) {
	t.Helper()
	ln := listenT(t, b)
	cli = dialT(t, ln.Addr().String())
	srv = acceptT(t, ln, stepTimeout)
	return srv, cli
}

// waitTimeout waits for wg, returning false if that takes longer than d.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// connSet tracks server connections so a cleanup can close them all.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (s *connSet) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *connSet) done(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// serveT runs handle on every connection the listener accepts until the test
// ends; then it closes the listener and the connections and waits for the
// handlers.
func serveT(t *testing.T, ln net.Listener, handle func(c net.Conn)) {
	t.Helper()
	var set connSet
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !set.add(c) {
				c.Close()
				return
			}
			go func() {
				defer set.done(c)
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case <-acceptDone:
		case <-time.After(stepTimeout):
			t.Errorf("Accept did not return after the listener was closed")
		}
		set.closeAll()
		if !waitTimeout(&set.wg, stepTimeout) {
			t.Errorf("connection handlers did not return after their connections were closed")
		}
	})
}

// echo copies everything it reads back until EOF.
func echo(c net.Conn) { _, _ = io.Copy(c, c) }

// roundTrip writes msg and reads it back, within d.
func roundTrip(c net.Conn, msg []byte, d time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(d)); err != nil {
		return err
	}
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo returned %q, want %q", got, msg)
	}
	return c.SetDeadline(time.Time{})
}

// ---- HTTP ----

// httpEnv is an http.Server serving on a listener of a backend.
type httpEnv struct {
	srv   *http.Server
	ln    net.Listener
	url   string
	serve chan error // Serve's result
}

// startHTTP serves h on a listener of the backend until the test ends.
func startHTTP(t *testing.T, b *backend, h http.Handler, tweak func(*http.Server)) *httpEnv {
	t.Helper()
	ln := listenT(t, b)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(newTestLogWriter(t), "http.Server: ", 0),
	}
	if tweak != nil {
		tweak(srv)
	}
	e := &httpEnv{srv: srv, ln: ln, url: "http://" + ln.Addr().String(), serve: make(chan error, 1)}
	go func() { e.serve <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-e.serve:
			if !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
			}
			e.serve <- err
		case <-time.After(stepTimeout):
			t.Errorf("Serve did not return after Close")
		}
	})
	return e
}

// newTransport returns a Transport whose idle connections are closed when
// the test ends (so that no goroutine of it outlives the test).
func newTransport(t *testing.T) *http.Transport {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   16,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// testLogWriter sends log lines to t.Log while the test runs and drops them
// afterwards (t.Log panics once the test is over).
type testLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func newTestLogWriter(t *testing.T) *testLogWriter {
	w := &testLogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testLogWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(b, "\n")))
	}
	return len(b), nil
}

// ---- CPU time ----

// requireIdleCPU checks that, with nothing to do, the process burns almost
// no CPU (no event loop spins).
func requireIdleCPU(t *testing.T, window time.Duration) {
	t.Helper()
	time.Sleep(50 * time.Millisecond) // let the last work settle
	c0 := processCPU()
	time.Sleep(window)
	used := processCPU() - c0
	t.Logf("idle CPU over %v: %v", window, used)
	require.Less(t, used, window/2, "the process burns CPU while idle (a spinning loop?)")
}
