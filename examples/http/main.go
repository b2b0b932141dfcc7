// Command http serves a small site over ringnet: the main program of the
// repository. (The benchmarks drive bench/server, which serves the same
// /hello.)
//
//	go run ./examples/http [-addr 127.0.0.1:8080]
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"

	"github.com/ringnet/ringnet"
	"github.com/ringnet/ringnet/stats"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()

	ln, err := ringnet.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving on http://%s (backend %s)", ln.Addr(), ringnet.Backend())
	if why := ringnet.BackendReason(); why != "" {
		log.Printf("not on io_uring: %s", why)
	}
	log.Fatal(http.Serve(ln, newMux()))
}

const page = `<!doctype html>
<title>ringnet</title>
<h1>ringnet</h1>
<p>This page came over io_uring.</p>
<ul>
<li><a href="/hello">/hello</a>: a 13-byte hello</li>
<li>POST /echo: the request body back</li>
<li><a href="/stream?bytes=1048576">/stream?bytes=N</a>: N bytes</li>
<li><a href="/debug/ringnet">/debug/ringnet</a>: loop counters (<a href="/debug/ringnet?format=json">JSON</a>)</li>
</ul>
`

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, r.Body)
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
		if err != nil || n < 0 || n > 1<<34 {
			http.Error(w, "bytes must be an integer in [0, 16 GiB]", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		w.Header().Set("Content-Type", "application/octet-stream")
		chunk := make([]byte, 32<<10)
		for i := range chunk {
			chunk[i] = byte('a' + i%26)
		}
		for n > 0 {
			k := min(n, int64(len(chunk)))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.Handle("GET /debug/ringnet", stats.Handler())
	return mux
}
