package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// opTimeout bounds every client operation.
const opTimeout = 15 * time.Second

// The kinds of traffic; each runs -workers goroutines.
var kinds = []string{"http1-keepalive", "http1-churn", "h2-tls", "tcp-echo", "websocket", "resets"}

type clients struct {
	srv   *servers
	cfg   config
	keep  *http.Transport // HTTP/1.1 keep-alive
	churn *http.Transport // one request per connection
	h2    *http.Transport // HTTP/2 over TLS
	ws    *http.Transport // WebSocket handshakes

	ops, errs map[string]*atomic.Int64
	resets    atomic.Int64

	mu         sync.Mutex
	errSamples []string
}

func newClients(srv *servers, cfg config) *clients {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c := &clients{
		srv:   srv,
		cfg:   cfg,
		keep:  &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: cfg.workers, ResponseHeaderTimeout: opTimeout},
		churn: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true, ResponseHeaderTimeout: opTimeout},
		h2: &http.Transport{DialTLSContext: tlsDialer(d, srv), ForceAttemptHTTP2: true,
			MaxIdleConnsPerHost: cfg.workers, ResponseHeaderTimeout: opTimeout},
		ws:   &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		ops:  map[string]*atomic.Int64{},
		errs: map[string]*atomic.Int64{},
	}
	for _, k := range kinds {
		c.ops[k] = new(atomic.Int64)
		c.errs[k] = new(atomic.Int64)
	}
	return c
}

// tlsDialer dials and handshakes with a context of its own: the Transport
// may hand the request that asked for a connection to another one and
// cancel it while the dial goes on, and a handshake cut short that way
// would show up as a server error ("TLS handshake error: EOF") that is
// nobody's fault.
func tlsDialer(d *net.Dialer, srv *servers) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
		defer cancel()
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(c, &tls.Config{RootCAs: srv.roots, ServerName: "127.0.0.1", NextProtos: []string{"h2", "http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		return tc, nil
	}
}

// start runs the client goroutines until ctx ends; the returned channel
// closes when they all have returned.
func (c *clients) start(ctx context.Context) <-chan struct{} {
	var wg sync.WaitGroup
	for ki, kind := range kinds {
		for w := range c.cfg.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(ki), uint64(w)))
				for n := 0; ctx.Err() == nil; n++ {
					err := c.op(kind, rng, n)
					c.ops[kind].Add(1)
					if err != nil {
						c.errs[kind].Add(1)
						c.mu.Lock()
						if len(c.errSamples) < 10 {
							c.errSamples = append(c.errSamples, fmt.Sprintf("%s: %v", kind, err))
						}
						c.mu.Unlock()
					}
					if c.cfg.pause > 0 {
						select {
						case <-ctx.Done():
						case <-time.After(c.cfg.pause):
						}
					}
				}
			}()
		}
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

func (c *clients) op(kind string, rng *rand.Rand, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	switch kind {
	case "http1-keepalive":
		return c.httpOp(ctx, c.keep, c.srv.httpURL, 1, rng)
	case "http1-churn":
		return c.httpOp(ctx, c.churn, c.srv.httpURL, 1, rng)
	case "h2-tls":
		if n%50 == 49 {
			c.h2.CloseIdleConnections() // churn: the next request dials and handshakes again
		}
		return c.httpOp(ctx, c.h2, c.srv.tlsURL, 2, rng)
	case "tcp-echo":
		return c.echoSession(ctx, rng)
	case "websocket":
		return c.wsSession(ctx, rng)
	case "resets":
		return c.resetOp(ctx, rng, n)
	}
	return fmt.Errorf("unknown kind %q", kind)
}

// httpOp makes one request of a random kind and checks the answer.
func (c *clients) httpOp(ctx context.Context, tr *http.Transport, base string, proto int, rng *rand.Rand) error {
	var req *http.Request
	var want func([]byte) error
	switch rng.IntN(3) {
	case 0:
		req, _ = http.NewRequestWithContext(ctx, "GET", base+"/hello", nil)
		want = func(b []byte) error {
			if string(b) != "hello" {
				return fmt.Errorf("/hello returned %q", b)
			}
			return nil
		}
	case 1:
		body := randBytes(rng, 1+rng.IntN(64<<10))
		req, _ = http.NewRequestWithContext(ctx, "POST", base+"/echo", bytes.NewReader(body))
		want = func(b []byte) error {
			if !bytes.Equal(b, body) {
				return fmt.Errorf("/echo returned %d bytes that differ from the %d sent", len(b), len(body))
			}
			return nil
		}
	default:
		n := rng.IntN(512 << 10)
		req, _ = http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/stream?bytes=%d", base, n), nil)
		want = func(b []byte) error {
			if len(b) != n {
				return fmt.Errorf("/stream returned %d bytes, want %d", len(b), n)
			}
			for i := range b {
				if b[i] != patByte(i) {
					return fmt.Errorf("/stream: wrong byte at %d", i)
				}
			}
			return nil
		}
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the body: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %s", req.Method, req.URL.Path, resp.Status)
	}
	if resp.ProtoMajor != proto {
		return fmt.Errorf("%s %s: served over %s, want HTTP/%d", req.Method, req.URL.Path, resp.Proto, proto)
	}
	return want(b)
}

// echoSession exchanges a few messages with the raw echo server; one
// session in eight ends with a reset instead of a close.
func (c *clients) echoSession(ctx context.Context, rng *rand.Rand) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.srv.echoAddr)
	if err != nil {
		return err
	}
	tc := conn.(*net.TCPConn)
	defer tc.Close()
	deadline, _ := ctx.Deadline()
	_ = tc.SetDeadline(deadline)
	msgs := 1 + rng.IntN(20)
	reset := rng.IntN(8) == 0
	buf := make([]byte, 32<<10)
	for i := range msgs {
		msg := randBytes(rng, 1+rng.IntN(32<<10))
		if _, err := tc.Write(msg); err != nil {
			return fmt.Errorf("echo write %d: %w", i, err)
		}
		if reset && i == msgs/2 {
			// Reset with the echo still coming back: the server's Write
			// or Read fails, which it must take in stride.
			c.resets.Add(1)
			_ = tc.SetLinger(0)
			return nil
		}
		got := buf[:len(msg)]
		if _, err := io.ReadFull(tc, got); err != nil {
			return fmt.Errorf("echo read %d: %w", i, err)
		}
		if !bytes.Equal(got, msg) {
			return fmt.Errorf("echo %d: the bytes came back changed", i)
		}
	}
	if err := tc.CloseWrite(); err != nil {
		return err
	}
	if n, err := tc.Read(buf[:1]); n != 0 || err != io.EOF {
		return fmt.Errorf("echo: after CloseWrite, Read returned %d, %v; want io.EOF", n, err)
	}
	return nil
}

// wsSession sends a few messages over a WebSocket and checks the echoes.
func (c *clients) wsSession(ctx context.Context, rng *rand.Rand) error {
	url := strings.Replace(c.srv.httpURL, "http://", "ws://", 1) + "/ws"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: c.ws}})
	if err != nil {
		return fmt.Errorf("websocket dial: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	for i := range 1 + rng.IntN(10) {
		msg := randBytes(rng, 1+rng.IntN(16<<10))
		if err := conn.Write(ctx, websocket.MessageBinary, msg); err != nil {
			return fmt.Errorf("websocket write %d: %w", i, err)
		}
		typ, got, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("websocket read %d: %w", i, err)
		}
		if typ != websocket.MessageBinary || !bytes.Equal(got, msg) {
			return fmt.Errorf("websocket %d: the message came back changed", i)
		}
	}
	return conn.Close(websocket.StatusNormalClosure, "")
}

// resetOp resets a connection to the HTTP server at some stage: right
// after connecting, in the middle of a request body, or in the middle of a
// response.
func (c *clients) resetOp(ctx context.Context, rng *rand.Rand, n int) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.srv.httpLn.Addr().String())
	if err != nil {
		return err
	}
	tc := conn.(*net.TCPConn)
	defer func() {
		_ = tc.SetLinger(0)
		tc.Close()
		c.resets.Add(1)
	}()
	deadline, _ := ctx.Deadline()
	_ = tc.SetDeadline(deadline)
	switch n % 3 {
	case 0: // at once
		return nil
	case 1: // mid-upload
		head := "POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 1048576\r\n\r\n"
		if _, err := io.WriteString(tc, head); err != nil {
			return err
		}
		_, err := tc.Write(randBytes(rng, 1+rng.IntN(128<<10)))
		return err
	default: // mid-download
		if _, err := io.WriteString(tc, "GET /stream?bytes=8388608 HTTP/1.1\r\nHost: soak\r\n\r\n"); err != nil {
			return err
		}
		_, err := io.ReadFull(tc, make([]byte, 1+rng.IntN(256<<10)))
		return err
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// close drops the clients' idle connections.
func (c *clients) close() {
	for _, tr := range []*http.Transport{c.keep, c.churn, c.h2, c.ws} {
		tr.CloseIdleConnections()
	}
}

func (c *clients) counts() (ops, errs map[string]int64, samples []string) {
	ops, errs = map[string]int64{}, map[string]int64{}
	for _, k := range kinds {
		ops[k] = c.ops[k].Load()
		errs[k] = c.errs[k].Load()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return ops, errs, append([]string(nil), c.errSamples...)
}

func (c *clients) totals() (ops, errs int64) {
	for _, k := range kinds {
		ops += c.ops[k].Load()
		errs += c.errs[k].Load()
	}
	return ops, errs
}
