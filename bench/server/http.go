//go:build linux

package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/ringnet/ringnet"
)

// maxBytes is the largest body GET /bytes/{n} serves.
const maxBytes = 1 << 20

// filler is the body GET /bytes/{n} writes a prefix of, built once so that
// the handler writes from memory.
var filler = func() []byte {
	b := make([]byte, maxBytes)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}()

// item is one entry of the /json document.
type item struct {
	ID     int      `json:"id"`
	Name   string   `json:"name"`
	Email  string   `json:"email"`
	Active bool     `json:"active"`
	Score  float64  `json:"score"`
	Tags   []string `json:"tags"`
}

// document is the value GET /json encodes on every request: a page of
// nine items, about 1 KiB of JSON.
type document struct {
	Page  int    `json:"page"`
	Total int    `json:"total"`
	Items []item `json:"items"`
}

var jsonDoc = func() document {
	d := document{Page: 1, Total: 9}
	for i := range 9 {
		d.Items = append(d.Items, item{
			ID: 1000 + i, Name: fmt.Sprintf("user-%d", i), Email: fmt.Sprintf("user-%d@example.com", i),
			Active: i%2 == 0, Score: float64(i) * 1.25, Tags: []string{"bench", "ringnet"},
		})
	}
	return d
}()

// newMux returns the handler every HTTP mode serves:
//
//	GET  /hello          13 bytes of text
//	GET  /json           about 1 KiB of JSON, encoded per request with encoding/json
//	GET  /bytes/{n}      n bytes (at most 1 MiB) written from memory
//	POST /upload         the hex SHA-256 of the request body
//	GET  /debug/ringnet  ringnet's backend and loop counters as JSON
func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&jsonDoc)
	})
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n > maxBytes {
			http.Error(w, "n: 0 to 1048576", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(filler[:n])
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, hex.EncodeToString(h.Sum(nil)))
	})
	mux.HandleFunc("GET /debug/ringnet", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"backend": ringnet.Backend(), "loops": ringnet.Stats()})
	})
	return mux
}

// serveHTTP serves newMux over HTTP/1.1 on ln.
func serveHTTP(ln net.Listener) error {
	return http.Serve(ln, newMux())
}

// serveH2C serves newMux over HTTP/1.1 and cleartext HTTP/2 with prior
// knowledge (h2c) on ln.
func serveH2C(ln net.Listener) error {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: newMux(), Protocols: &protos}
	return srv.Serve(ln)
}

// serveHTTPS serves newMux over TLS 1.3 on ln, HTTP/2 or HTTP/1.1 as the
// client's ALPN asks, with a self-signed ECDSA P-256 certificate made at
// start.
func serveHTTPS(ln net.Listener) error {
	cert, err := selfSigned()
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newMux(), TLSConfig: tlsConfig(cert)}
	return srv.ServeTLS(ln, "", "")
}

// tlsConfig is the server's TLS configuration: TLS 1.3 only, HTTP/2 and
// HTTP/1.1 offered.
func tlsConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}
