package ecosystem_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// h2Handler serves the HTTP/2 tests:
//
//	GET /proto              the request's protocol
//	GET /barrier            waits until streams requests are in the handler at once
//	GET /large?seed=S&n=N   payload(S, N) in 64 KiB writes, its SHA-256 and length as trailers
//	GET /trailers           a body, then a declared and an undeclared trailer
type h2Handler struct {
	streams int

	mu      sync.Mutex
	arrived int
	remotes map[string]bool
	all     chan struct{} // closed when streams requests have arrived
}

func newH2Handler(streams int) *h2Handler {
	return &h2Handler{streams: streams, remotes: map[string]bool{}, all: make(chan struct{})}
}

func (h *h2Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/proto":
		fmt.Fprint(w, r.Proto)
	case "/barrier":
		h.mu.Lock()
		h.arrived++
		h.remotes[r.RemoteAddr] = true
		if h.arrived == h.streams {
			close(h.all)
		}
		h.mu.Unlock()
		select {
		case <-h.all:
			fmt.Fprintf(w, "ok %s", r.URL.RawQuery)
		case <-time.After(20 * time.Second):
			http.Error(w, "not all streams arrived", http.StatusServiceUnavailable)
		case <-r.Context().Done():
		}
	case "/large":
		seed, err1 := strconv.ParseUint(r.FormValue("seed"), 10, 64)
		n, err2 := strconv.ParseInt(r.FormValue("n"), 10, 64)
		if err1 != nil || err2 != nil {
			http.Error(w, "bad seed or n", http.StatusBadRequest)
			return
		}
		w.Header().Set("Trailer", "X-Body-Sha256, X-Body-Len")
		h := sha256.New()
		buf := make([]byte, 64<<10)
		src := payloadReader(seed, n)
		var written int64
		for {
			k, err := io.ReadFull(src, buf)
			if k > 0 {
				h.Write(buf[:k])
				if _, err := w.Write(buf[:k]); err != nil {
					return
				}
				written += int64(k)
			}
			if err != nil {
				break
			}
		}
		w.Header().Set("X-Body-Sha256", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("X-Body-Len", strconv.FormatInt(written, 10))
	case "/trailers":
		w.Header().Set("Trailer", "X-Declared")
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "body before the trailers")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Declared", "declared-value")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "undeclared-value")
	default:
		http.NotFound(w, r)
	}
}

// h2Mode is one way of speaking HTTP/2: over TLS chosen by ALPN, or
// cleartext h2c with prior knowledge (net/http's own, or
// golang.org/x/net/http2's).
type h2Mode struct {
	name string
	// start serves h on backend b and returns the base URL and a client.
	start func(t *testing.T, b backend, h http.Handler) (string, *http.Client)
}

var h2Modes = []h2Mode{
	{name: "tls-alpn", start: func(t *testing.T, b backend, h http.Handler) (string, *http.Client) {
		srv := &http.Server{Handler: h, TLSConfig: serverTLSConfig(t, "h2", "http/1.1"), ReadHeaderTimeout: 10 * time.Second}
		addr := serveHTTP(t, b, srv)
		tr := newTransport(t, b)
		tr.TLSClientConfig = clientTLSConfig(t)
		tr.ForceAttemptHTTP2 = true
		return "https://" + addr, &http.Client{Transport: tr}
	}},
	{name: "h2c", start: func(t *testing.T, b backend, h http.Handler) (string, *http.Client) {
		// net/http's own cleartext HTTP/2 with prior knowledge (Go 1.24+).
		var h2c http.Protocols
		h2c.SetUnencryptedHTTP2(true)
		srv := &http.Server{Handler: h, Protocols: &h2c, ReadHeaderTimeout: 10 * time.Second}
		addr := serveHTTP(t, b, srv)
		tr := newTransport(t, b)
		tr.Protocols = &h2c
		return "http://" + addr, &http.Client{Transport: tr}
	}},
	h2cXNetMode,
}

// get fetches url, requires HTTP/2 and status 200, and returns the
// response with its body still to read.
func get(t *testing.T, ctx context.Context, client *http.Client, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 2, resp.ProtoMajor, "protocol %s", resp.Proto)
	return resp
}

func TestHTTP2(t *testing.T) {
	const streams = 200
	const large = 64 << 20
	const largeSeed = 64
	wantLarge := sync.OnceValue(func() string { return payloadSum(largeSeed, large) })

	forEachBackend(t, 90*time.Second, func(t *testing.T, b backend) {
		for _, mode := range h2Modes {
			t.Run(mode.name, func(t *testing.T) {
				h := newH2Handler(streams)
				base, client := mode.start(t, b, h)
				ctx := testContext(t, 60*time.Second)

				t.Run("proto", func(t *testing.T) {
					resp := get(t, ctx, client, base+"/proto")
					body, err := io.ReadAll(resp.Body)
					require.NoError(t, err)
					assert.Equal(t, "HTTP/2.0", string(body), "protocol the server saw")
					if mode.name == "tls-alpn" {
						require.NotNil(t, resp.TLS)
						assert.Equal(t, "h2", resp.TLS.NegotiatedProtocol)
					}
				})

				t.Run("200-concurrent-streams", func(t *testing.T) {
					var wg sync.WaitGroup
					for i := range streams {
						wg.Go(func() {
							req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/barrier?%d", base, i), nil)
							if !assert.NoError(t, err) {
								return
							}
							resp, err := client.Do(req)
							if !assert.NoError(t, err, "stream %d", i) {
								return
							}
							defer resp.Body.Close()
							body, err := io.ReadAll(resp.Body)
							assert.NoError(t, err, "stream %d", i)
							assert.Equal(t, http.StatusOK, resp.StatusCode, "stream %d: %s", i, body)
							assert.Equal(t, 2, resp.ProtoMajor, "stream %d", i)
							assert.Equal(t, fmt.Sprintf("ok %d", i), string(body), "stream %d", i)
						})
					}
					wg.Wait()
					h.mu.Lock()
					defer h.mu.Unlock()
					assert.Equal(t, streams, h.arrived)
					// The proto request's connection carried them all.
					assert.Len(t, h.remotes, 1, "client connections used by %d streams: %v", streams, h.remotes)
				})

				t.Run("64MiB-streamed", func(t *testing.T) {
					start := time.Now()
					resp := get(t, ctx, client, fmt.Sprintf("%s/large?seed=%d&n=%d", base, largeSeed, large))
					hash := sha256.New()
					n, err := io.Copy(hash, resp.Body)
					require.NoError(t, err)
					require.EqualValues(t, large, n)
					got := hex.EncodeToString(hash.Sum(nil))
					assert.Equal(t, wantLarge(), got, "sha256 of the body")
					assert.Equal(t, got, resp.Trailer.Get("X-Body-Sha256"), "sha256 trailer")
					assert.Equal(t, strconv.Itoa(large), resp.Trailer.Get("X-Body-Len"), "length trailer")
					t.Logf("64 MiB in %v", time.Since(start).Round(time.Millisecond))
				})

				t.Run("trailers", func(t *testing.T) {
					resp := get(t, ctx, client, base+"/trailers")
					body, err := io.ReadAll(resp.Body)
					require.NoError(t, err)
					assert.Equal(t, "body before the trailers", string(body))
					assert.Equal(t, "declared-value", resp.Trailer.Get("X-Declared"))
					assert.Equal(t, "undeclared-value", resp.Trailer.Get("X-Undeclared"))
				})
			})
		}
	})
}
