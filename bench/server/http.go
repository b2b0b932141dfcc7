//go:build linux

package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"

	"github.com/ringnet/ringnet"
)

// serveHTTP serves GET /hello (13 bytes of text) and GET /debug/ringnet
// (ringnet's loop counters as JSON) on ln with net/http.
func serveHTTP(ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("GET /debug/ringnet", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"backend": ringnet.Backend(), "loops": ringnet.Stats()})
	})
	return http.Serve(ln, mux)
}
