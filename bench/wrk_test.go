//go:build linux

package main

import (
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
