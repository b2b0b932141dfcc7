//go:build linux

package main

import (
	"fmt"
	"strings"
)

// kind is the shape of a workload's load.
type kind int

const (
	httpLoad kind = iota // wrk against GET /hello, keep-alive
	echoLoad             // the echo client: send, read back, repeat
	idleLoad             // the echo client: one echo per connection, then idle
)

// workload is one load, run once per implementation and repetition.
type workload struct {
	name   string
	kind   kind
	conns  int  // concurrent connections
	size   int  // echo message bytes
	pinned bool // server on CPU 0, load generator on CPU 1
	unit   string
}

// idleConns is the connection count of the idle-connection workload.
const idleConns = 10_000

// workloads lists every workload in run order.
var workloads = func() []workload {
	var w []workload
	for _, pinned := range []bool{false, true} {
		for _, c := range []int{1, 50, 256, 1000} {
			name := fmt.Sprintf("http-c%d", c)
			if pinned {
				name += "-pinned"
			}
			w = append(w, workload{name: name, kind: httpLoad, conns: c, pinned: pinned, unit: "req"})
		}
	}
	for _, size := range []int{128, 16 << 10} {
		for _, c := range []int{50, 1000} {
			w = append(w, workload{name: fmt.Sprintf("echo-%s-c%d", sizeName(size), c), kind: echoLoad, conns: c, size: size, unit: "msg"})
		}
	}
	w = append(w,
		workload{name: "pingpong-64B-c1", kind: echoLoad, conns: 1, size: 64, unit: "msg"},
		workload{name: "pingpong-64B-c1-pinned", kind: echoLoad, conns: 1, size: 64, pinned: true, unit: "msg"},
		workload{name: "idle-10k", kind: idleLoad, conns: idleConns, size: 16, unit: "conn"},
	)
	return w
}()

// sizeName formats a byte count as 128B or 16KiB.
func sizeName(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// describe says in words what w does.
func (w workload) describe() string {
	pin := ""
	if w.pinned {
		pin = ", server pinned to CPU 0 and wrk to CPU 1"
		if w.kind == echoLoad {
			pin = ", server pinned to CPU 0 and the client to CPU 1"
		}
	}
	switch w.kind {
	case httpLoad:
		return fmt.Sprintf("wrk -t1 -c%d GET /hello keep-alive%s", w.conns, pin)
	case echoLoad:
		if w.conns == 1 {
			return fmt.Sprintf("one connection echoing %s messages one at a time (ping-pong)%s", sizeName(w.size), pin)
		}
		return fmt.Sprintf("%s connections each echoing %s messages one at a time", fmtRate(float64(w.conns)), sizeName(w.size))
	default:
		return fmt.Sprintf("%s connections each echo %s once, then idle; server RSS growth per connection", fmtRate(float64(w.conns)), sizeName(w.size))
	}
}

// workloadHelp lists the workloads for -h.
func workloadHelp() string {
	var b strings.Builder
	for _, w := range workloads {
		fmt.Fprintf(&b, "  %-18s %s\n", w.name, w.describe())
	}
	return b.String()
}
