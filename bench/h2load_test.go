//go:build linux

package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// h2loadOK is h2load 1.52.0's output of a run against an h2 server
// (-t1 -c10 -m10 -D1000ms), its progress lines cut.
const h2loadOK = `starting benchmark...
spawning thread #0: 10 total client(s). Timing-based test with 0s of warm-up time and 1s of main duration for measurements.
Application protocol: h2
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 1.00s, 9966.00 req/s, 341.88KB/s
requests: 9966 total, 10066 started, 9966 done, 9966 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 9973 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 341.88KB (350083) total, 97.35KB (99686) headers (space savings 93.96%), 126.52KB (129558) data
                     min         max         mean         sd        +/- sd
time for request:      245us     36.14ms      9.74ms      4.91ms    70.16%
time for connect:     2.91ms     12.44ms      7.87ms      3.05ms    60.00%
time to 1st byte:    12.76ms     22.29ms     17.69ms      2.99ms    60.00%
req/s           :     972.39     1022.86      996.58       15.92    70.00%
`

// h2loadRefused is its output when nothing listens: no request, exit
// code 0.
const h2loadRefused = `starting benchmark...
spawning thread #0: 2 total client(s). Timing-based test with 0s of warm-up time and 0.3s of main duration for measurements.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 301.10ms, 0.00 req/s, 0B/s
requests: 0 total, 0 started, 0 done, 0 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 0B (0) total, 0B (0) headers (space savings 0.00%), 0B (0) data
`

// h2loadBad has failed requests and error statuses.
const h2loadBad = `finished in 2.00s, 500.00 req/s, 41.00KB/s
requests: 1010 total, 1010 started, 1000 done, 990 succeeded, 10 failed, 3 errored, 2 timeout
status codes: 900 2xx, 10 3xx, 70 4xx, 10 5xx
`

func TestParseH2load(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want h2loadResult
	}{
		{"clean", h2loadOK, h2loadResult{Done: 9966, Succeeded: 9966, ReqPerSec: 9966, Seconds: 1}},
		{"failures and error statuses", h2loadBad, h2loadResult{Done: 1000, Succeeded: 990, Failed: 15, Bad: 80, ReqPerSec: 500, Seconds: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseH2load(tt.out)
			require.NoError(t, err)
			assert.InDelta(t, tt.want.Seconds, got.Seconds, 1e-9)
			got.Seconds = tt.want.Seconds
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseH2loadRejects(t *testing.T) {
	for name, out := range map[string]string{
		"empty":      "",
		"refused":    h2loadRefused,
		"no counts":  "finished in 1.00s, 10.00 req/s, 1KB/s\n",
		"no summary": "requests: 5 total, 5 started, 5 done, 5 succeeded, 0 failed, 0 errored, 0 timeout\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseH2load(out)
			assert.Error(t, err)
			assert.Equal(t, name == "refused", errors.Is(err, errNoRequest), "%v", err)
		})
	}
}

func TestH2loadArgs(t *testing.T) {
	tests := []struct {
		name string
		w    workload
		d    time.Duration
		want []string
	}{
		{"h2 over TLS", workload{mode: "https", path: "/hello", conns: 10, streams: 10}, 1500 * time.Millisecond,
			[]string{"h2load", "-t1", "-c10", "-m10", "-D1500ms", "https://127.0.0.1:9/hello"}},
		{"h2c pinned", workload{mode: "h2c", path: "/hello", conns: 10, streams: 10, pinned: true}, time.Second,
			[]string{"taskset", "-c", "1", "h2load", "-t1", "-c10", "-m10", "-D1000ms", "http://127.0.0.1:9/hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, h2loadArgs(tt.w, "127.0.0.1:9", tt.d))
		})
	}
}
