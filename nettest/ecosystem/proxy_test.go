package ecosystem_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReverseProxy sends 200 requests through an httputil.ReverseProxy
// whose server and backend connections are all of one backend, among them
// a 16 MiB POST echoed back with its checksum.
func TestReverseProxy(t *testing.T) {
	const requests, workers = 200, 8
	const bigRequest, bigSize = 100, 16 << 20
	forEachBackend(t, 60*time.Second, func(t *testing.T, b backend) {
		// The backend: dataHandler, plus /whoami reporting what the proxy
		// forwarded.
		var backendHits atomic.Int64
		mux := http.NewServeMux()
		mux.Handle("/", dataHandler())
		mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "host=%s xff=%s q=%s", r.Host, r.Header.Get("X-Forwarded-For"), r.URL.RawQuery)
		})
		backendAddr := serveHTTP(t, b, &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				backendHits.Add(1)
				mux.ServeHTTP(w, r)
			}),
			ReadHeaderTimeout: 10 * time.Second,
		})
		target, err := url.Parse("http://" + backendAddr)
		require.NoError(t, err)

		proxyTransport := newTransport(t, b)
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.SetXForwarded()
			},
			Transport: proxyTransport,
			ErrorLog:  testLogger(t),
		}
		proxyAddr := serveHTTP(t, b, &http.Server{Handler: fullDuplex(proxy), ReadHeaderTimeout: 10 * time.Second})

		client := &http.Client{Transport: newTransport(t, b), Timeout: 30 * time.Second}
		ctx := testContext(t, 50*time.Second)

		do := func(i int) error {
			var req *http.Request
			var err error
			switch {
			case i == bigRequest:
				req, err = http.NewRequestWithContext(ctx, "POST", "http://"+proxyAddr+"/echo", payloadReader(uint64(i), bigSize))
				req.ContentLength = bigSize
			case i%3 == 0:
				req, err = http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/whoami?i=%d", proxyAddr, i), nil)
			case i%3 == 1:
				req, err = http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/data?seed=%d&n=%d", proxyAddr, i, i*997), nil)
			default:
				req, err = http.NewRequestWithContext(ctx, "POST", "http://"+proxyAddr+"/echo", bytes.NewReader(payload(uint64(i), i*1009)))
			}
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				return fmt.Errorf("status %s: %q", resp.Status, body)
			}
			if i == bigRequest {
				h := sha256.New()
				n, err := io.Copy(h, resp.Body)
				if err != nil {
					return fmt.Errorf("reading the 16 MiB echo after %d bytes: %w", n, err)
				}
				got, want := hex.EncodeToString(h.Sum(nil)), payloadSum(uint64(i), bigSize)
				if n != bigSize || got != want {
					return fmt.Errorf("16 MiB echo: %d bytes with sha256 %s, want %d with %s", n, got, bigSize, want)
				}
				if hdr := resp.Header.Get("X-Body-Sha256"); hdr != want {
					return fmt.Errorf("16 MiB echo: the backend got a body with sha256 %s, want %s", hdr, want)
				}
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return fmt.Errorf("reading the body: %w", err)
			}
			var want []byte
			switch i % 3 {
			case 0:
				want = fmt.Appendf(nil, "host=%s xff=127.0.0.1 q=i=%d", backendAddr, i)
			case 1:
				want = payload(uint64(i), i*997)
			default:
				want = payload(uint64(i), i*1009)
			}
			if !bytes.Equal(body, want) {
				return fmt.Errorf("body: %d bytes (%.60q), want %d (%.60q)", len(body), body, len(want), want)
			}
			return nil
		}

		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= requests {
						return
					}
					assert.NoError(t, do(i), "request %d", i)
				}
			})
		}
		wg.Wait()
		assert.EqualValues(t, requests, backendHits.Load(), "requests that reached the backend")
	})
}

// fullDuplex lets h read the request body after it has begun the response
// (http.ResponseController.EnableFullDuplex), as a reverse proxy must.
//
// Without it, net/http's HTTP/1 server drains and closes the request body
// when the response headers go out, and the proxy's Transport, which reads
// the body once more after the declared length to check that nothing
// follows (transferWriter.writeBody), can find it closed when it reads
// late: it then closes the backend connection in the middle of the
// response, the proxy logs "read error during body copy: use of closed
// network connection" and the client gets a truncated body
// (golang/go#40747). That failed this test once in CI, with the stdlib on
// both sides, at request 38 (a 38 KB POST); it did not recur in 120 runs
// of the subtest, but nothing in net/http rules it out.
func fullDuplex(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
			http.Error(w, "EnableFullDuplex: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	})
}
