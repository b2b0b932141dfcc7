//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const wrkOK = `Running 1s test @ http://127.0.0.1:18090/hello
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   387.22us  731.09us   8.46ms   92.37%
    Req/Sec    40.08k    11.26k   63.91k    72.73%
  Latency Distribution
     50%  177.00us
     75%  264.00us
     90%  800.00us
     99%    3.82ms
  43843 requests in 1.10s, 4.81MB read
Requests/sec:  39863.25
Transfer/sec:      4.37MB
`

const wrkErrors = `Running 1m test @ http://127.0.0.1:8080/hello
  1 threads and 1000 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20s   300.00ms   2.00s    70.00%
    Req/Sec     1.00k   100.00     1.20k    80.00%
  Latency Distribution
     50%    1.02s
     75%    1.30s
     90%    1.80s
     99%    1.99s
  60000 requests in 1.00m, 7.00MB read
  Socket errors: connect 12, read 3, write 0, timeout 40
  Non-2xx or 3xx responses: 7
Requests/sec:   1000.00
Transfer/sec:    119.47KB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want wrkResult
	}{
		{"clean", wrkOK, wrkResult{
			Requests: 43843, Seconds: 1.1, ReqPerSec: 39863.25,
			P50: 177 * time.Microsecond, P99: 3820 * time.Microsecond,
		}},
		{"errors", wrkErrors, wrkResult{
			Requests: 60000, Seconds: 60, ReqPerSec: 1000,
			P50: 1020 * time.Millisecond, P99: 1990 * time.Millisecond,
			SocketErrors: "Socket errors: connect 12, read 3, write 0, timeout 40", Non2xx: 7,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.out)
			require.NoError(t, err)
			assert.Equal(t, tt.want.Requests, got.Requests)
			assert.InDelta(t, tt.want.Seconds, got.Seconds, 1e-9)
			assert.InDelta(t, tt.want.ReqPerSec, got.ReqPerSec, 1e-9)
			assert.InDelta(t, tt.want.P50, got.P50, float64(time.Nanosecond))
			assert.InDelta(t, tt.want.P99, got.P99, float64(time.Nanosecond))
			assert.Equal(t, tt.want.SocketErrors, got.SocketErrors)
			assert.Equal(t, tt.want.Non2xx, got.Non2xx)
		})
	}
}

func TestParseWrkRejects(t *testing.T) {
	for name, out := range map[string]string{
		"empty":         "",
		"connect error": "unable to connect to 127.0.0.1:1 Connection refused\n",
		"no latency":    "  10 requests in 1.00s, 1.00KB read\nRequests/sec:     10.00\n",
		// wrk 4.1 against a server that accepts and never answers
		// (-t1 -c5 -d1s --latency): no socket error within 1 s.
		"no request": "Running 1s test @ http://127.0.0.1:1/hello\n  1 threads and 5 connections\n" +
			"  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     0.00us    0.00us   0.00us    -nan%\n" +
			"    Req/Sec     0.00      0.00     0.00      -nan%\n  Latency Distribution\n     50%    0.00us\n" +
			"     75%    0.00us\n     90%    0.00us\n     99%    0.00us\n  0 requests in 1.02s, 0.00B read\n" +
			"Requests/sec:      0.00\nTransfer/sec:       0.00B\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseWrk(out)
			assert.Error(t, err)
			// Only a run without requests may pass as a warm-up.
			assert.Equal(t, name == "no request", errors.Is(err, errNoRequest), "%v", err)
		})
	}
}

func TestParseWrkDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"451.00us", 451 * time.Microsecond},
		{"1.04ms", 1040 * time.Microsecond},
		{"2.00s", 2 * time.Second},
		{"1.50m", 90 * time.Second},
	}
	for _, tt := range tests {
		got, err := parseWrkDuration(tt.in)
		require.NoError(t, err, tt.in)
		assert.InDelta(t, tt.want, got, float64(time.Nanosecond), tt.in)
	}
	_, err := parseWrkDuration("3.00ns")
	assert.Error(t, err)
}

func TestParseWrkDoneLine(t *testing.T) {
	// wrk's summary rounds; the script's done() line is exact and wins.
	out := wrkOK + "wrk-done requests=43845 bytes=5611776\n"
	got, err := parseWrk(out)
	require.NoError(t, err)
	assert.Equal(t, uint64(43845), got.Requests)
	assert.Equal(t, int64(5611776), got.Bytes)

	got, err = parseWrk(wrkOK)
	require.NoError(t, err)
	assert.Equal(t, int64(-1), got.Bytes, "no done() line: no byte count")
}

func TestEchoMessage(t *testing.T) {
	// 128 B, 16 KiB and 256 KiB are the rows' sizes; 41 and 141 put the
	// body length just across a change in its number of digits.
	for _, size := range []int{41, 128, 141, 16 << 10, 256 << 10} {
		t.Run(sizeName(size), func(t *testing.T) {
			header, n := echoMessage(size)
			msg := header + strings.Repeat("a", n)
			require.Len(t, msg, size, "the message is the row's size, header included")
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(msg)), nil)
			require.NoError(t, err, "the echoed message parses as an HTTP response")
			defer resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, int64(n), resp.ContentLength)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Len(t, body, n)
			assert.True(t, resp.ProtoAtLeast(1, 1) && !resp.Close, "keep-alive: wrk sends the next message on the same connection")
		})
	}
}

func TestWrkScript(t *testing.T) {
	header, n := echoMessage(128)
	tests := []struct {
		name string
		w    workload
		want []string // lines the script must hold; none for no script
	}{
		{"hello has none", workload{name: "http-c50", mode: "http", path: "/hello"}, nil},
		{"echo driven by the harness's client has none", workload{name: "echo-128B-c50", kind: echoLoad, mode: "echo", size: 128}, nil},
		{"echo sends the message as its request", workload{name: "echo-128B-c50-wrk", mode: "echo", size: 128}, []string{
			fmt.Sprintf("local msg = %q .. string.rep(\"a\", %d)", header, n),
			// The first call is wrk's check, which wants a request.
			"function request()",
			`if calls == 1 then return wrk.format("GET", "/") end`,
			"return msg",
			`io.write(string.format("wrk-done requests=%d bytes=%d\n", summary.requests, summary.bytes))`,
		}},
		{"upload POSTs its body", workload{name: "upload-64KiB-c50", mode: "http", path: "/upload", upload: 64 << 10}, []string{
			`wrk.method = "POST"`,
			`wrk.body = string.rep("x", 65536)`,
			"function done(summary, latency, requests)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := wrkScript(tt.w)
			if tt.want == nil {
				assert.Empty(t, script)
				return
			}
			var lines []string
			for _, l := range strings.Split(script, "\n") {
				lines = append(lines, strings.TrimSpace(l))
			}
			for _, l := range tt.want {
				assert.Contains(t, lines, strings.TrimSpace(l), "script:\n%s", script)
			}
		})
	}
}

func TestWrkArgs(t *testing.T) {
	tests := []struct {
		name   string
		w      workload
		script string
		want   []string
	}{
		{"hello", workload{conns: 50, mode: "http", path: "/hello"}, "",
			[]string{"wrk", "-t1", "-c50", "-d2s", "--latency", "http://127.0.0.1:9/hello"}},
		{"new connection per request over TLS", workload{conns: 50, mode: "https", path: "/hello", close: true}, "",
			[]string{"wrk", "-t1", "-c50", "-d2s", "--latency", "-H", "Connection: close", "https://127.0.0.1:9/hello"}},
		{"echo with its script, pinned", workload{conns: 1000, mode: "echo", size: 128, pinned: true}, "/tmp/e.lua",
			[]string{"taskset", "-c", "1", "wrk", "-t1", "-c1000", "-d2s", "--latency", "-s", "/tmp/e.lua", "http://127.0.0.1:9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, wrkArgs(tt.w, "127.0.0.1:9", tt.script, 2))
		})
	}
}

func TestCheckEchoBytes(t *testing.T) {
	const size, conns = 128, 50
	tests := []struct {
		name     string
		requests uint64
		bytes    int64
		ok       bool
	}{
		{"every response whole", 1000, 1000 * size, true},
		{"responses in flight at the stop", 1000, 1000*size + conns*size - 1, true},
		{"fewer bytes than the responses counted", 1000, 1000*size - 1, false},
		{"a message of another size", 1000, 1000 * (size + 64), false},
		{"no count", 1000, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkEchoBytes(wrkResult{Requests: tt.requests, Bytes: tt.bytes}, size, conns)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}
