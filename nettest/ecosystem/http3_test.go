package ecosystem_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"

	"github.com/ringnet/ringnet"
)

// quic-go reads batches of datagrams with control data (ECN bits, packet
// info) and writes them with WriteMsgUDP (GSO, ECN) from a conn that has
// the methods of OOBCapablePacketConn; it reads the batches through the
// conn's own ReadBatch when it has one, else through the raw connection
// behind the conn's back. It logs "PacketConn is not a net.UDPConn.
// Disabling optimizations possible on UDP connections." for any other
// conn. TestHTTP3 checks that the optimisations are on at run time.
var (
	_ quic.OOBCapablePacketConn = (*ringnet.UDPConn)(nil)
	_ interface {
		ReadBatch([]ipv4.Message, int) (int, error)
	} = (*ringnet.UDPConn)(nil)
)

// quicTrace is a qlog trace that keeps what TestHTTP3 checks of one side's
// connections: the outcome of ECN validation (the peer saw this side's
// ECN marks) and the ECN marks of the packets this side received, which
// quic-go knows only when it reads datagrams with their control data.
type quicTrace struct {
	ecnCapable atomic.Int64 // connections whose ECN validation succeeded
	ecnFailed  atomic.Int64 // connections whose ECN validation failed
	marked     atomic.Int64 // packets received with ECT(0), ECT(1) or CE
	unmarked   atomic.Int64 // packets received without a mark, or read without control data (qlog does not tell them apart)
}

func (q *quicTrace) AddProducer() qlogwriter.Recorder { return q }
func (q *quicTrace) Close() error                     { return nil }

func (q *quicTrace) RecordEvent(e qlogwriter.Event) {
	switch e := e.(type) {
	case qlog.ECNStateUpdated:
		switch e.State {
		case qlog.ECNStateCapable:
			q.ecnCapable.Add(1)
		case qlog.ECNStateFailed:
			q.ecnFailed.Add(1)
		}
	case qlog.PacketReceived:
		switch e.ECN {
		case qlog.ECT0, qlog.ECT1, qlog.ECNCE:
			q.marked.Add(1)
		default:
			q.unmarked.Add(1)
		}
	}
}

// config is a quic.Config that records into q.
func (q *quicTrace) config() *quic.Config {
	return &quic.Config{
		Tracer: func(context.Context, bool, quic.ConnectionID) qlogwriter.Trace { return q },
	}
}

// check fails t unless one side's connections read and wrote through
// quic-go's optimised path: the ECN marks it sent reached the peer, whose
// acknowledgements counted them (validation succeeded), and most packets
// it received came with their marks. A conn read without control data
// gives quic-go no mark at all.
func (q *quicTrace) check(t *testing.T, side string) {
	t.Helper()
	assert.Positive(t, q.ecnCapable.Load(), "%s: no connection validated ECN", side)
	assert.Zero(t, q.ecnFailed.Load(), "%s: connections whose ECN validation failed", side)
	assert.Greater(t, q.marked.Load(), 10*q.unmarked.Load(), "%s: received packets with ECN marks and without", side)
	t.Logf("%s: %d packets received with ECN marks, %d without", side, q.marked.Load(), q.unmarked.Load())
}

// h3Handler serves the HTTP/3 tests:
//
//	GET  /download?seed=S&n=N[&barrier]  payload(S, N)
//	POST /upload[?barrier]               the body's length and SHA-256, "n sha256"
//
// With barrier, the handler first waits until streams requests are in
// handlers at once.
type h3Handler struct {
	streams int

	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (h *h3Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Proto != "HTTP/3.0" {
		http.Error(w, "not HTTP/3: "+r.Proto, http.StatusBadRequest)
		return
	}
	if r.URL.Query().Has("barrier") {
		h.mu.Lock()
		h.arrived++
		if h.arrived == h.streams {
			close(h.all)
		}
		h.mu.Unlock()
		select {
		case <-h.all:
		case <-time.After(30 * time.Second):
			http.Error(w, "not all streams arrived", http.StatusServiceUnavailable)
			return
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/download":
		seed, err1 := strconv.ParseUint(r.FormValue("seed"), 10, 64)
		n, err2 := strconv.ParseInt(r.FormValue("n"), 10, 64)
		if err1 != nil || err2 != nil || n < 0 {
			http.Error(w, "bad seed or n", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		_, _ = io.Copy(w, payloadReader(seed, n))
	case r.Method == "POST" && r.URL.Path == "/upload":
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
	default:
		http.NotFound(w, r)
	}
}

// h3Server is an HTTP/3 server on a quic.Transport over a backend's UDP
// socket.
type h3Server struct {
	addr  string
	trace quicTrace

	mu    sync.Mutex
	conns []*quic.Conn
}

// serveHTTP3 serves h over HTTP/3 on a UDP socket of backend b bound to
// address: quic.Transport{Conn: pc}, its ListenEarly and
// http3.Server.ServeListener. Its addr is 127.0.0.1 and the port.
// Cleanup closes the server, the listener, the transport and the socket,
// and waits for ServeListener to return.
func serveHTTP3(t *testing.T, b backend, address string, h http.Handler) *h3Server {
	t.Helper()
	pc, err := b.listenPacket("udp", address)
	require.NoError(t, err)
	requireUDPConnOf(t, b, pc)
	s := &h3Server{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))}
	tr := &quic.Transport{Conn: pc}
	ln, err := tr.ListenEarly(http3.ConfigureTLSConfig(serverTLSConfig(t)), s.trace.config())
	if err != nil {
		tr.Close()
		pc.Close()
		require.NoError(t, err, "ListenEarly")
	}
	srv := &http3.Server{
		Handler: h,
		ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			return ctx
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(ln) }()
	t.Cleanup(func() {
		assert.NoError(t, srv.Close(), "http3.Server.Close")
		assert.NoError(t, ln.Close(), "listener Close")
		assert.NoError(t, tr.Close(), "quic.Transport.Close")
		assert.NoError(t, pc.Close(), "PacketConn Close")
		select {
		case err := <-served:
			assert.ErrorIs(t, err, http.ErrServerClosed, "ServeListener")
		case <-time.After(5 * time.Second):
			t.Errorf("ServeListener did not return within 5s of Close")
		}
	})
	return s
}

// serverConns returns the connections the server accepted.
func (s *h3Server) serverConns() []*quic.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*quic.Conn(nil), s.conns...)
}

// h3Client is an HTTP/3 client whose QUIC connections run on a
// quic.Transport over a UDP socket of one backend.
type h3Client struct {
	*http.Client
	trace quicTrace

	mu    sync.Mutex
	conns []*quic.Conn
}

// newH3Client returns a client on a UDP socket of backend b bound to
// address; cleanup closes its connections, transport and socket.
func newH3Client(t *testing.T, b backend, address string) *h3Client {
	t.Helper()
	pc, err := b.listenPacket("udp", address)
	require.NoError(t, err)
	requireUDPConnOf(t, b, pc)
	tr := &quic.Transport{Conn: pc}
	c := &h3Client{}
	rt := &http3.Transport{
		TLSClientConfig: clientTLSConfig(t),
		QUICConfig:      c.trace.config(),
		Dial: func(ctx context.Context, addr string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			ua, err := net.ResolveUDPAddr("udp", addr)
			if err != nil {
				return nil, err
			}
			conn, err := tr.DialEarly(ctx, ua, tlsCfg, cfg)
			if err == nil {
				c.mu.Lock()
				c.conns = append(c.conns, conn)
				c.mu.Unlock()
			}
			return conn, err
		},
	}
	c.Client = &http.Client{Transport: rt}
	t.Cleanup(func() {
		assert.NoError(t, rt.Close(), "http3.Transport.Close")
		assert.NoError(t, tr.Close(), "quic.Transport.Close")
		assert.NoError(t, pc.Close(), "PacketConn Close")
	})
	return c
}

// clientConns returns the connections the client dialed.
func (c *h3Client) clientConns() []*quic.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*quic.Conn(nil), c.conns...)
}

// download fetches n bytes of payload(seed) and checks their SHA-256.
func (c *h3Client) download(ctx context.Context, base string, seed uint64, n int64, barrier bool) error {
	url := fmt.Sprintf("%s/download?seed=%d&n=%d", base, seed, n)
	if barrier {
		url += "&barrier"
	}
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/3.0" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s %s: %s", url, resp.Proto, resp.Status, body)
	}
	h := sha256.New()
	got, err := io.Copy(h, resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: body after %d bytes: %w", url, got, err)
	}
	if got != n || hex.EncodeToString(h.Sum(nil)) != payloadSum(seed, n) {
		return fmt.Errorf("GET %s: %d bytes, want %d, or their SHA-256 differs", url, got, n)
	}
	return nil
}

// upload posts n bytes of payload(seed) and checks the length and SHA-256
// the server read.
func (c *h3Client) upload(ctx context.Context, base string, seed uint64, n int64, barrier bool) error {
	url := base + "/upload"
	if barrier {
		url += "?barrier"
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, payloadReader(seed, n))
	if err != nil {
		return err
	}
	req.ContentLength = n
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s (%d bytes): %w", url, n, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST %s: answer: %w", url, err)
	}
	if want := fmt.Sprintf("%d %s", n, payloadSum(seed, n)); resp.StatusCode != http.StatusOK || string(body) != want {
		return fmt.Errorf("POST %s: %s %q, want 200 %q", url, resp.Status, body, want)
	}
	return nil
}

// TestHTTP3 serves HTTP/3 (github.com/quic-go/quic-go/http3) on
// quic.Transport{Conn: pc} over the backend's UDP socket, with a client
// over the standard library's socket and one over the backend's: an
// 8 MiB download, an 8 MiB upload, then 16 streams at once on the same
// connection (8 downloads and 8 uploads of 512 KiB), every body checked by
// SHA-256. Both sides must have taken quic-go's optimised path: GSO on,
// ECN validated in both directions and every received packet read with
// its ECN bits, which quic-go sees only through ReadBatch with control
// data (the standard library's socket is the reference that this holds).
func TestHTTP3(t *testing.T) {
	const large = 8 << 20
	const streams = 16
	const small = 512 << 10
	forEachBackend(t, 150*time.Second, func(t *testing.T, b backend) {
		// The server on 127.0.0.1 with the standard library's client and
		// the backend's; then both on dual-stack sockets bound to [::],
		// as http3.Transport makes its own, talking over IPv4 (IPv4-mapped
		// addresses): quic-go's server then reads each packet's
		// destination address and names it as the source of its answers
		// (IP_PKTINFO in WriteMsgUDP's control data, beside the ECN bits).
		type setup struct {
			name        string
			client      backend
			serverAddr  string
			clientAddr  string
			ringnetOnly bool
		}
		setups := []setup{
			{"client-stdlib", backends[0], "127.0.0.1:0", "127.0.0.1:0", false},
			{"client-" + b.name, b, "127.0.0.1:0", "127.0.0.1:0", true},
			{"dual-stack", b, "[::]:0", "[::]:0", false},
		}
		for _, s := range setups {
			if s.ringnetOnly && !b.ringnet {
				continue
			}
			t.Run(s.name, func(t *testing.T) {
				h := &h3Handler{streams: streams, all: make(chan struct{})}
				srv := serveHTTP3(t, b, s.serverAddr, h)
				client := newH3Client(t, s.client, s.clientAddr)
				base := "https://" + srv.addr
				ctx := testContext(t, 120*time.Second)

				require.NoError(t, client.download(ctx, base, 1, large, false))
				require.NoError(t, client.upload(ctx, base, 2, large, false))

				var wg sync.WaitGroup
				errs := make(chan error, streams)
				for i := range streams {
					wg.Go(func() {
						if i%2 == 0 {
							errs <- client.download(ctx, base, uint64(100+i), small, true)
						} else {
							errs <- client.upload(ctx, base, uint64(100+i), small, true)
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					assert.NoError(t, err)
				}

				cconns, sconns := client.clientConns(), srv.serverConns()
				require.Len(t, cconns, 1, "client connections")
				require.Len(t, sconns, 1, "server connections")
				for side, c := range map[string]*quic.Conn{"client": cconns[0], "server": sconns[0]} {
					st := c.ConnectionState()
					assert.Equal(t, http3.NextProtoH3, st.TLS.NegotiatedProtocol, side)
					assert.True(t, st.GSO, "%s: GSO off: quic-go did not take the conn as a UDP conn", side)
					t.Logf("%s: %+v", side, c.ConnectionStats())
				}
				client.trace.check(t, "client")
				srv.trace.check(t, "server")
			})
		}
	})
}
