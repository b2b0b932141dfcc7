package ecosystem_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dataHandler serves GET /data?seed=S&n=N with payload(S, N) and POST /echo
// with the request body.
func dataHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /data", func(w http.ResponseWriter, r *http.Request) {
		seed, err1 := strconv.ParseUint(r.FormValue("seed"), 10, 64)
		n, err2 := strconv.ParseInt(r.FormValue("n"), 10, 64)
		if err1 != nil || err2 != nil || n < 0 {
			http.Error(w, "bad seed or n", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		_, _ = io.Copy(w, payloadReader(seed, n))
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Body-Sha256", sum(body))
		_, _ = w.Write(body)
	})
	return mux
}

// TestTLSKeepAlive sends 500 requests over HTTPS keep-alive connections (at
// most 4) and checks every body.
func TestTLSKeepAlive(t *testing.T) {
	forEachBackend(t, 60*time.Second, func(t *testing.T, b backend) {
		var newConns atomic.Int32
		srv := &http.Server{
			Handler:           dataHandler(),
			TLSConfig:         serverTLSConfig(t, "http/1.1"),
			ReadHeaderTimeout: 10 * time.Second,
			ConnState: func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					newConns.Add(1)
				}
			},
		}
		addr := serveHTTP(t, b, srv)

		tr := newTransport(t, b)
		tr.TLSClientConfig = clientTLSConfig(t)
		tr.MaxConnsPerHost = 4
		client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		ctx := testContext(t, 50*time.Second)

		const requests, workers = 500, 8
		var next atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= requests {
						return
					}
					if err := tlsRequest(ctx, client, addr, i); err != nil {
						errs <- fmt.Errorf("request %d: %w", i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		n := newConns.Load()
		assert.True(t, n >= 1 && n <= 4, "server saw %d connections for %d keep-alive requests, want 1..4", n, requests)
	})
}

// tlsRequest is request i of TestTLSKeepAlive: a GET of a payload or a POST
// echo, sizes varying from 0 to 70 KB.
func tlsRequest(ctx context.Context, client *http.Client, addr string, i int) error {
	var req *http.Request
	var want []byte
	var err error
	if i%2 == 0 {
		n := (i * 7919) % 70000
		want = payload(uint64(i), n)
		req, err = http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("https://%s/data?seed=%d&n=%d", addr, i, n), nil)
	} else {
		want = payload(uint64(i), (i*104729)%50000)
		req, err = http.NewRequestWithContext(ctx, "POST", "https://"+addr+"/echo", bytes.NewReader(want))
	}
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("reading body: %w", err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %s: %q", resp.Status, got)
	case resp.TLS == nil || resp.ProtoMajor != 1:
		return fmt.Errorf("not HTTP/1.x over TLS: %s, TLS %v", resp.Proto, resp.TLS != nil)
	case !bytes.Equal(got, want):
		return fmt.Errorf("body: got %d bytes (sha256 %s), want %d (sha256 %s)", len(got), sum(got), len(want), sum(want))
	}
	return nil
}

// clientHello returns the first record a TLS client sends: its ClientHello.
func clientHello(t *testing.T) []byte {
	c1, c2 := net.Pipe()
	cfg := clientTLSConfig(t)
	cfg.ServerName = "127.0.0.1"
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = tls.Client(c1, cfg).Handshake()
	}()
	require.NoError(t, c2.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 64<<10)
	n, err := c2.Read(buf)
	c2.Close()
	c1.Close()
	<-done
	require.NoError(t, err)
	require.Greater(t, n, 5)
	require.Equal(t, byte(22), buf[0], "not a handshake record")
	return buf[:n]
}

// TestTLSStalledHandshake opens connections that stop or abort in the middle
// of the TLS handshake and checks that the server keeps serving other
// clients and closes the stalled connections at its handshake timeout.
func TestTLSStalledHandshake(t *testing.T) {
	hello := clientHello(t)
	const handshakeTimeout = time.Second
	modes := []struct {
		name string
		send []byte
		// abort resets the connection instead of waiting for the server
		// to close it.
		abort bool
		// reply is what the server must answer before it closes, if any.
		reply string
	}{
		{name: "silent"},
		{name: "half-ClientHello", send: hello[:len(hello)/2]},
		{name: "record-header-only", send: hello[:5]},
		{name: "garbage", send: []byte("\x16\x03\x01\x00\x10\xde\xad\xbe\xef")},
		{name: "plain-HTTP", send: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), reply: "400 Bad Request"},
		{name: "half-ClientHello-then-reset", send: hello[:len(hello)/2], abort: true},
	}
	forEachBackend(t, 60*time.Second, func(t *testing.T, b backend) {
		srv := &http.Server{
			Handler:   dataHandler(),
			TLSConfig: serverTLSConfig(t, "http/1.1"),
			// The server's TLS handshake timeout is its ReadHeaderTimeout.
			ReadHeaderTimeout: handshakeTimeout,
		}
		addr := serveHTTP(t, b, srv)
		tr := newTransport(t, b)
		tr.TLSClientConfig = clientTLSConfig(t)
		tr.DisableKeepAlives = true // every request a new handshake
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

		for _, m := range modes {
			t.Run(m.name, func(t *testing.T) {
				ctx := testContext(t, 20*time.Second)
				const stalled = 8
				var conns []net.Conn
				for range stalled {
					c, err := b.dial(ctx, "tcp", addr)
					require.NoError(t, err)
					t.Cleanup(func() { c.Close() })
					if len(m.send) > 0 {
						require.NoError(t, c.SetWriteDeadline(time.Now().Add(5*time.Second)))
						_, err = c.Write(m.send)
						require.NoError(t, err)
					}
					conns = append(conns, c)
				}
				start := time.Now()

				// Other clients are served while those connections stall.
				for i := range 10 {
					require.NoError(t, tlsRequest(ctx, client, addr, i), "request %d while %d connections stall", i, stalled)
				}

				if m.abort {
					for _, c := range conns {
						require.NoError(t, c.(interface{ SetLinger(int) error }).SetLinger(0))
						require.NoError(t, c.Close())
					}
					for i := range 10 {
						require.NoError(t, tlsRequest(ctx, client, addr, i), "request %d after the resets", i)
					}
					return
				}

				// The server closes each stalled connection at its
				// handshake timeout.
				var wg sync.WaitGroup
				for i, c := range conns {
					wg.Go(func() {
						require.NoError(t, c.SetReadDeadline(time.Now().Add(handshakeTimeout+10*time.Second)))
						got, err := io.ReadAll(c)
						elapsed := time.Since(start)
						if errors.Is(err, os.ErrDeadlineExceeded) {
							t.Errorf("conn %d: the server did not close it within %v (handshake timeout %v)", i, elapsed, handshakeTimeout)
							return
						}
						if i == 0 {
							t.Logf("conn %d: closed by the server after %v: %d bytes, %v", i, elapsed.Round(time.Millisecond), len(got), err)
						}
						if m.reply != "" {
							assert.Contains(t, string(got), m.reply, "conn %d", i)
						} else {
							assert.GreaterOrEqual(t, elapsed, handshakeTimeout/2,
								"conn %d: closed long before the handshake timeout: %d bytes, %v", i, len(got), err)
						}
					})
				}
				wg.Wait()
			})
		}
	})
}
