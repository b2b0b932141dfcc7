package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/ringnet/ringnet"
)

// servers are the ringnet listeners and what serves them.
type servers struct {
	backend string

	httpLn, tlsLn, echoLn net.Listener
	httpSrv, tlsSrv       *http.Server
	httpURL, tlsURL       string
	echoAddr              string
	roots                 *x509.CertPool

	closing  atomic.Bool
	serveErr chan error
	echoWG   sync.WaitGroup
	echoMu   sync.Mutex
	echoConn map[net.Conn]struct{}
	wsWG     sync.WaitGroup

	errs errorLog
	open atomic.Int64 // connections accepted and not yet closed by the servers
}

// countingListener counts the connections the servers hold open, to set
// beside the connections ringnet's loops still own (which include those
// closed but still flushing, for up to LingerTimeout).
type countingListener struct {
	net.Listener
	open *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countingConn{Conn: c, open: l.open}, nil
}

type countingConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countingConn) Close() error {
	if !c.closed.Swap(true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

// errorLog counts unexpected server-side errors and keeps the first few.
type errorLog struct {
	mu      sync.Mutex
	n       int64
	samples []string
}

func (e *errorLog) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.samples) < 10 {
		e.samples = append(e.samples, fmt.Sprintf(format, args...))
	}
}

// Write makes errorLog an http.Server ErrorLog sink: every line it logs
// counts.
func (e *errorLog) Write(b []byte) (int, error) {
	e.add("http.Server: %s", string(b))
	return len(b), nil
}

func startServers(backend string) (*servers, error) {
	s := &servers{backend: backend, serveErr: make(chan error, 2), echoConn: map[net.Conn]struct{}{}}
	lc := ringnet.ListenConfig{Backend: backend}
	listen := func() (net.Listener, error) {
		if backend == "stdlib" { // the reference, to check the soak itself
			return net.Listen("tcp", "127.0.0.1:0")
		}
		return lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	}
	var err error
	if s.httpLn, err = listen(); err != nil {
		return nil, err
	}
	if s.tlsLn, err = listen(); err != nil {
		s.httpLn.Close()
		return nil, err
	}
	if s.echoLn, err = listen(); err != nil {
		s.httpLn.Close()
		s.tlsLn.Close()
		return nil, err
	}
	s.httpLn = &countingListener{Listener: s.httpLn, open: &s.open}
	s.tlsLn = &countingListener{Listener: s.tlsLn, open: &s.open}
	s.echoLn = &countingListener{Listener: s.echoLn, open: &s.open}
	cert, roots, err := selfSigned()
	if err != nil {
		return nil, err
	}
	s.roots = roots

	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		// The whole body first: HTTP/1.x handlers are not full duplex.
		// Deliberate client resets end some uploads: not an error.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("bytes"))
		if err != nil || n < 0 || n > 64<<20 {
			http.Error(w, "bad bytes", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = io.CopyN(w, &pattern{}, int64(n))
	})
	mux.HandleFunc("/ws", s.serveWS)

	errLog := log.New(&s.errs, "", 0)
	s.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second, ErrorLog: errLog}
	s.tlsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second, ErrorLog: errLog,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}}
	s.httpURL = "http://" + s.httpLn.Addr().String()
	s.tlsURL = "https://" + s.tlsLn.Addr().String()
	s.echoAddr = s.echoLn.Addr().String()

	go func() { s.serveErr <- s.httpSrv.Serve(s.httpLn) }()
	go func() { s.serveErr <- s.tlsSrv.ServeTLS(s.tlsLn, "", "") }()
	s.echoWG.Add(1)
	go s.serveEcho()
	return s, nil
}

// backendName says which backend serves: the listener's own choice.
func (s *servers) backendName() string {
	if s.backend != "auto" {
		return s.backend
	}
	return ringnet.Backend()
}

// serveWS echoes WebSocket messages until the client closes.
func (s *servers) serveWS(w http.ResponseWriter, r *http.Request) {
	s.wsWG.Add(1)
	defer s.wsWG.Done()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.errs.add("websocket accept: %v", err)
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure && !s.closing.Load() {
				s.errs.add("websocket read: %v", err)
			}
			return
		}
		if err := c.Write(ctx, typ, data); err != nil {
			if !s.closing.Load() {
				s.errs.add("websocket write: %v", err)
			}
			return
		}
	}
}

// serveEcho is the raw TCP echo: everything read is written back.
func (s *servers) serveEcho() {
	defer s.echoWG.Done()
	for {
		c, err := s.echoLn.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.errs.add("echo accept: %v", err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return
		}
		s.echoMu.Lock()
		s.echoConn[c] = struct{}{}
		s.echoMu.Unlock()
		s.echoWG.Add(1)
		go func() {
			defer s.echoWG.Done()
			defer func() {
				s.echoMu.Lock()
				delete(s.echoConn, c)
				s.echoMu.Unlock()
				c.Close()
			}()
			_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
			_, err := io.Copy(c, c)
			if err != nil && !expectedNetErr(err) && !s.closing.Load() {
				s.errs.add("echo: %v", err)
			}
		}()
	}
}

// expectedNetErr reports errors that deliberate resets cause.
func expectedNetErr(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed)
}

// shutdown closes everything and waits (at most d) for the servers to
// return.
func (s *servers) shutdown(d time.Duration) error {
	s.closing.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), d/2)
	defer cancel()
	var errs []error
	for _, srv := range []*http.Server{s.httpSrv, s.tlsSrv} {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	}
	for range 2 {
		select {
		case err := <-s.serveErr:
			if !errors.Is(err, http.ErrServerClosed) {
				errs = append(errs, fmt.Errorf("serve returned %v", err))
			}
		case <-time.After(d / 2):
			errs = append(errs, errors.New("an http.Server did not return"))
		}
	}
	s.echoLn.Close()
	s.echoMu.Lock()
	for c := range s.echoConn {
		c.Close()
	}
	s.echoMu.Unlock()
	done := make(chan struct{})
	go func() {
		s.echoWG.Wait()
		s.wsWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d / 2):
		errs = append(errs, errors.New("echo or WebSocket handlers did not return"))
	}
	return errors.Join(errs...)
}

func (s *servers) errors() (int64, []string) {
	s.errs.mu.Lock()
	defer s.errs.mu.Unlock()
	return s.errs.n, append([]string(nil), s.errs.samples...)
}

// selfSigned makes an ECDSA certificate for 127.0.0.1, valid for a day, and
// a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "ringnet soak"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots, nil
}

// pattern yields the bytes byte(i*7+i>>8) forever, so a client can check
// a /stream body.
type pattern struct{ off int }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = patByte(p.off + i)
	}
	p.off += len(b)
	return len(b), nil
}

func patByte(i int) byte { return byte(i*7 + i>>8) }
