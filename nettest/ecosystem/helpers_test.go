package ecosystem_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ---- certificates ----

var (
	certOnce sync.Once
	certPair tls.Certificate
	certPool *x509.CertPool
	certErr  error
)

// testCert returns a self-signed ECDSA P-256 certificate for 127.0.0.1 and
// localhost, made once per process, and a pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{Organization: []string{"ringnet ecosystem test"}},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
			DNSNames:              []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			certErr = err
			return
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			certErr = err
			return
		}
		certPair = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		certPool = x509.NewCertPool()
		certPool.AddCert(leaf)
	})
	require.NoError(t, certErr, "generating the test certificate")
	return certPair, certPool
}

func serverTLSConfig(t *testing.T, nextProtos ...string) *tls.Config {
	cert, _ := testCert(t)
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: nextProtos, MinVersion: tls.VersionTLS12}
}

func clientTLSConfig(t *testing.T, nextProtos ...string) *tls.Config {
	_, pool := testCert(t)
	return &tls.Config{RootCAs: pool, NextProtos: nextProtos, MinVersion: tls.VersionTLS12}
}

// ---- payloads ----

// payload returns n pseudo-random bytes determined by seed.
func payload(seed uint64, n int) []byte {
	b := make([]byte, n)
	fillPayload(seed, b)
	return b
}

func fillPayload(seed uint64, b []byte) {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	_, _ = mrand.NewChaCha8(s).Read(b)
}

// payloadReader streams the n bytes of payload(seed, n) without holding
// them.
func payloadReader(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(mrand.NewChaCha8(s), n)
}

// payloadSum is the hex SHA-256 of payload(seed, n).
func payloadSum(seed uint64, n int64) string {
	h := sha256.New()
	_, _ = io.Copy(h, payloadReader(seed, n))
	return hex.EncodeToString(h.Sum(nil))
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ---- logging ----

// tLogWriter sends a server's log lines to t.Log while the test runs and
// drops them after it, when t.Log would panic.
type tLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *tLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// testLogger returns a logger for servers that writes to t.Log. Call it
// before registering the server's cleanups so that they can still log.
func testLogger(t *testing.T) *log.Logger {
	w := &tLogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return log.New(w, "server: ", log.Lmicroseconds)
}

// ---- HTTP servers and clients ----

// serveHTTP serves srv on a new listener of backend b at 127.0.0.1 (with
// TLS when srv.TLSConfig is set) and returns its address. Cleanup shuts the
// server down and waits for Serve to return.
func serveHTTP(t *testing.T, b backend, srv *http.Server) string {
	t.Helper()
	if srv.ErrorLog == nil {
		srv.ErrorLog = testLogger(t)
	}
	ln, err := b.listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("http.Server.Shutdown: %v", err)
			srv.Close()
		}
		select {
		case err := <-served:
			if !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return within 5s of Shutdown")
		}
	})
	return ln.Addr().String()
}

// newTransport returns an HTTP/1.1 transport that dials with b; cleanup
// closes its idle connections.
func newTransport(t *testing.T, b backend) *http.Transport {
	tr := &http.Transport{
		DialContext:           b.dial,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// testContext is a context ending at d from now or with the test.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
