//go:build linux

package main

import (
	"fmt"
	"strings"
	"time"
)

// kind is the load generator of a workload.
type kind int

const (
	wrkLoad  kind = iota // wrk -t1: HTTP/1.1 or HTTPS requests, or a Lua script's fixed message on an echo server
	h2Load               // h2load -t1: HTTP/2 over TLS or h2c, several streams per connection
	echoLoad             // the echo client: send, read back, repeat
	grpcLoad             // the gRPC client: unary calls or messages on bidirectional streams
	idleLoad             // the echo client: one echo per connection, then idle
)

// workload is one load, run once per implementation and repetition.
type workload struct {
	name    string
	kind    kind
	mode    string // the server's -mode: http, https, h2c, echo or grpc
	path    string // the request path (wrk, h2load)
	close   bool   // Connection: close, a new connection per request (wrk)
	upload  int    // request body bytes POSTed to /upload (wrk)
	conns   int    // concurrent connections
	streams int    // concurrent requests per connection (h2load -m, gRPC callers)
	size    int    // echo message bytes; gRPC payload bytes
	stream  bool   // gRPC: messages on bidirectional streams, not unary calls
	pinned  bool   // server on CPU 0, load generator on CPU 1
	unit    string
	// peer marks the rows go-uring's listener runs too: those it had before
	// the harness grew (see impl.peerRows).
	peer bool
	// procs is the server's GOMAXPROCS, and so ringnet's loop count; 0
	// leaves the machine's default.
	procs int
	// idle is how long the server is watched, without traffic, after the
	// load: its RSS at the end and its CPU over the span are reported.
	idle time.Duration
	// long marks a row whose messages are so large and many that one
	// round of them takes a good part of a second: its window is
	// longWindow times -d.
	long bool
}

// longWindow is how many times -d a long row measures: at 1,000
// connections × 256 KiB echoed, one round is 250 MiB each way, which on a
// loaded 2-CPU machine took over a second (a 1 s window then saw no
// response, or one round or two: a ratio of 0.5 or 2 by quantization).
const longWindow = 3

// window returns how long w measures when -d is d.
func (w workload) window(d time.Duration) time.Duration {
	if w.long {
		return longWindow * d
	}
	return d
}

// idleConns is the connection count of the idle-connection workload.
const idleConns = 10_000

// Shapes of the workloads beyond hello and echo: wrk's connection count
// for HTTP/1.1, and connections × streams for HTTP/2 and gRPC.
const (
	httpConns  = 50
	h2Conns    = 10
	h2Streams  = 10
	grpcSize   = 128
	bigConns   = 1000
	bigIdleFor = 10 * time.Second
)

// bigProcs are the GOMAXPROCS values of the big-machine workloads.
var bigProcs = []int{2, 16, 64}

// workloads lists every workload of a full run, in run order. The rows of
// the harness before issue 21 keep their names, so that the stored runs in
// docs/runs compare with new ones.
var workloads = func() []workload {
	var w []workload
	// both adds x, then x pinned.
	both := func(x workload) {
		w = append(w, x)
		x.name += "-pinned"
		x.pinned = true
		w = append(w, x)
	}
	for _, pinned := range []bool{false, true} {
		for _, c := range []int{1, 50, 256, 1000} {
			name := fmt.Sprintf("http-c%d", c)
			if pinned {
				name += "-pinned"
			}
			w = append(w, workload{name: name, kind: wrkLoad, mode: "http", path: "/hello", conns: c, pinned: pinned, unit: "req", peer: true})
		}
	}
	c := fmt.Sprintf("-c%d", httpConns)
	for _, x := range []workload{
		{name: "http-json" + c, mode: "http", path: "/json"},
		{name: "http-16KiB" + c, mode: "http", path: fmt.Sprintf("/bytes/%d", 16<<10)},
		{name: "http-256KiB" + c, mode: "http", path: fmt.Sprintf("/bytes/%d", 256<<10)},
		{name: "upload-64KiB" + c, mode: "http", path: "/upload", upload: 64 << 10},
		{name: "upload-1MiB" + c, mode: "http", path: "/upload", upload: 1 << 20},
		{name: "http-close" + c, mode: "http", path: "/hello", close: true},
		{name: "https" + c, mode: "https", path: "/hello"},
		{name: "https-16KiB" + c, mode: "https", path: fmt.Sprintf("/bytes/%d", 16<<10)},
		{name: "https-close" + c, mode: "https", path: "/hello", close: true},
	} {
		x.kind, x.conns, x.unit = wrkLoad, httpConns, "req"
		both(x)
	}
	cs := fmt.Sprintf("-c%dx%d", h2Conns, h2Streams)
	both(workload{name: "h2" + cs, kind: h2Load, mode: "https", path: "/hello", conns: h2Conns, streams: h2Streams, unit: "req"})
	both(workload{name: "h2c" + cs, kind: h2Load, mode: "h2c", path: "/hello", conns: h2Conns, streams: h2Streams, unit: "req"})
	both(workload{name: "grpc-unary" + cs, kind: grpcLoad, mode: "grpc", conns: h2Conns, streams: h2Streams, size: grpcSize, unit: "rpc"})
	both(workload{name: "grpc-stream" + cs, kind: grpcLoad, mode: "grpc", conns: h2Conns, streams: h2Streams, size: grpcSize, stream: true, unit: "msg"})
	for _, size := range []int{128, 16 << 10, 256 << 10} {
		for _, c := range []int{50, 1000} {
			name := fmt.Sprintf("echo-%s-c%d", sizeName(size), c)
			long := size >= 256<<10 && c >= 1000
			// The harness's client free at 128 B and 16 KiB is a row of
			// before, which go-uring runs too.
			w = append(w, workload{name: name, kind: echoLoad, mode: "echo", conns: c, size: size, unit: "msg", peer: size <= 16<<10, long: long})
			w = append(w, workload{name: name + "-pinned", kind: echoLoad, mode: "echo", conns: c, size: size, unit: "msg", pinned: true, long: long})
			both(workload{name: name + "-wrk", kind: wrkLoad, mode: "echo", conns: c, size: size, unit: "msg", long: long})
		}
	}
	w = append(w,
		workload{name: "pingpong-64B-c1", kind: echoLoad, mode: "echo", conns: 1, size: 64, unit: "msg", peer: true},
		workload{name: "pingpong-64B-c1-pinned", kind: echoLoad, mode: "echo", conns: 1, size: 64, pinned: true, unit: "msg", peer: true},
		workload{name: "idle-10k", kind: idleLoad, mode: "echo", conns: idleConns, size: 16, unit: "conn", peer: true},
	)
	return w
}()

// bigWorkloads are the big-machine workloads (-big): net/http hello at
// c=1000 with the server's GOMAXPROCS, and so ringnet's loop count, at each
// of bigProcs on this machine, each followed by bigIdleFor without traffic.
var bigWorkloads = func() []workload {
	var w []workload
	for _, p := range bigProcs {
		w = append(w, workload{name: fmt.Sprintf("http-c%d-procs%d", bigConns, p), kind: wrkLoad, mode: "http", path: "/hello",
			conns: bigConns, unit: "req", procs: p, idle: bigIdleFor})
	}
	return w
}()

// sizeName formats a byte count as 128B, 16KiB or 1MiB.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// scheme is the URL scheme of w's server.
func (w workload) scheme() string {
	if w.mode == "https" {
		return "https"
	}
	return "http"
}

// describe says in words what w does.
func (w workload) describe() string {
	var s string
	switch w.kind {
	case wrkLoad:
		switch {
		case w.mode == "echo":
			s = fmt.Sprintf("wrk -t1 -c%d with a Lua script whose request is a %s HTTP response, which the echo server sends back and wrk counts as one", w.conns, sizeName(w.size))
		case w.upload > 0:
			s = fmt.Sprintf("wrk -t1 -c%d POST %s of %s, hashed (SHA-256) by the handler, keep-alive", w.conns, w.path, sizeName(w.upload))
		default:
			conn := "keep-alive"
			if w.close {
				conn = "Connection: close, a new connection per request"
			}
			over := ""
			if w.mode == "https" {
				over = " over TLS 1.3,"
			}
			s = fmt.Sprintf("wrk -t1 -c%d GET %s%s %s", w.conns, w.path, over, conn)
		}
	case h2Load:
		proto := "HTTP/2 over TLS 1.3"
		if w.mode == "h2c" {
			proto = "h2c (cleartext HTTP/2, prior knowledge)"
		}
		s = fmt.Sprintf("h2load -t1 -c%d -m%d GET %s, %s", w.conns, w.streams, w.path, proto)
	case grpcLoad:
		call := "unary calls"
		if w.stream {
			call = "messages on one bidirectional stream per caller"
		}
		s = fmt.Sprintf("gRPC client (grpc-go, its own process): %d connections × %d callers, %s of %s payloads, BenchmarkService", w.conns, w.streams, call, sizeName(w.size))
	case echoLoad:
		if w.conns == 1 {
			s = fmt.Sprintf("one connection echoing %s messages one at a time (ping-pong)", sizeName(w.size))
		} else {
			s = fmt.Sprintf("%s connections each echoing %s messages one at a time", fmtRate(float64(w.conns)), sizeName(w.size))
		}
	default:
		return fmt.Sprintf("%s connections each echo %s once, then idle; server RSS growth per connection", fmtRate(float64(w.conns)), sizeName(w.size))
	}
	if w.procs > 0 {
		s += fmt.Sprintf(", server GOMAXPROCS=%d (ringnet: as many loops), then %v without traffic", w.procs, w.idle)
	}
	if w.long {
		s += fmt.Sprintf(", measured %d times as long as the others", longWindow)
	}
	if w.pinned {
		gen := map[kind]string{wrkLoad: "wrk", h2Load: "h2load", echoLoad: "the client", grpcLoad: "the client"}[w.kind]
		s += ", server pinned to CPU 0 and " + gen + " to CPU 1"
	}
	return s
}

// workloadHelp lists the workloads for -h.
func workloadHelp(wls []workload) string {
	var b strings.Builder
	for _, w := range wls {
		fmt.Fprintf(&b, "  %-28s %s\n", w.name, w.describe())
	}
	return b.String()
}
