//go:build linux

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oldRows are the workloads of the harness before issue 21, whose names
// the stored runs in docs/runs use.
var oldRows = []string{
	"http-c1", "http-c50", "http-c256", "http-c1000",
	"http-c1-pinned", "http-c50-pinned", "http-c256-pinned", "http-c1000-pinned",
	"echo-128B-c50", "echo-128B-c1000", "echo-16KiB-c50", "echo-16KiB-c1000",
	"pingpong-64B-c1", "pingpong-64B-c1-pinned", "idle-10k",
}

func TestWorkloads(t *testing.T) {
	byName := map[string]workload{}
	for _, w := range append(append([]workload(nil), workloads...), bigWorkloads...) {
		_, dup := byName[w.name]
		assert.False(t, dup, "%s: named twice", w.name)
		byName[w.name] = w
		assert.NotEmpty(t, w.mode, "%s: no server mode", w.name)
		assert.Positive(t, w.conns, w.name)
		assert.NotEmpty(t, w.unit, w.name)
		assert.Equal(t, w.pinned, strings.HasSuffix(w.name, "-pinned"), "%s: -pinned names the pinned rows", w.name)
		switch w.kind {
		case wrkLoad:
			if w.mode == "echo" {
				assert.Positive(t, w.size, w.name)
			} else {
				assert.True(t, strings.HasPrefix(w.path, "/"), "%s: path %q", w.name, w.path)
			}
		case h2Load:
			assert.Contains(t, []string{"https", "h2c"}, w.mode, w.name)
			assert.Positive(t, w.streams, w.name)
		case grpcLoad:
			assert.Equal(t, "grpc", w.mode, w.name)
			assert.Positive(t, w.streams, w.name)
		}
		assert.NotEmpty(t, w.describe(), w.name)
	}

	var peers, long []string
	for _, w := range workloads {
		if w.long {
			long = append(long, w.name)
			assert.Equal(t, 3*time.Second, w.window(time.Second), w.name)
		} else {
			assert.Equal(t, time.Second, w.window(time.Second), w.name)
		}
		if w.peer {
			peers = append(peers, w.name)
		}
		if !w.pinned && w.kind != idleLoad {
			_, ok := byName[w.name+"-pinned"]
			assert.True(t, ok, "%s has no pinned twin", w.name)
		}
	}
	assert.ElementsMatch(t, oldRows, peers, "go-uring runs the rows of before, and only those")
	assert.ElementsMatch(t, []string{"echo-256KiB-c1000", "echo-256KiB-c1000-pinned", "echo-256KiB-c1000-wrk", "echo-256KiB-c1000-wrk-pinned"}, long,
		"the rows whose round of messages is 250 MiB measure longer")

	for _, size := range []string{"128B", "16KiB", "256KiB"} {
		for _, c := range []string{"c50", "c1000"} {
			for _, client := range []string{"", "-wrk"} {
				name := "echo-" + size + "-" + c + client
				require.Contains(t, byName, name)
				want := echoLoad
				if client != "" {
					want = wrkLoad
				}
				assert.Equal(t, want, byName[name].kind, name)
			}
		}
	}
	for _, p := range bigProcs {
		var found bool
		for _, w := range bigWorkloads {
			if w.procs == p {
				found = true
				assert.Positive(t, w.idle, w.name)
				assert.Equal(t, bigConns, w.conns, w.name)
			}
		}
		assert.True(t, found, "no big-machine workload at GOMAXPROCS=%d", p)
	}
}

func TestImplRuns(t *testing.T) {
	old := workload{name: "http-c50", peer: true}
	grown := workload{name: "https-c50"}
	for _, im := range impls {
		assert.True(t, im.runs(old), im.name)
		assert.Equal(t, im.name != "gouring", im.runs(grown), im.name)
	}
}

func TestSizeName(t *testing.T) {
	for n, want := range map[int]string{64: "64B", 128: "128B", 16 << 10: "16KiB", 256 << 10: "256KiB", 1 << 20: "1MiB", 1500: "1500B"} {
		assert.Equal(t, want, sizeName(n))
	}
}
