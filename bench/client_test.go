//go:build linux

package main

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ringnet/ringnet/bench/internal/grpcbench"
)

func TestParseClientResult(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    clientResult
		wantErr string
	}{
		{"ok", `{"msgs":1200,"seconds":1.002,"p50_us":41.5,"p99_us":180,"errors":0}`,
			clientResult{Msgs: 1200, Seconds: 1.002, P50us: 41.5, P99us: 180}, ""},
		{"failed workers", `{"msgs":1200,"seconds":1,"errors":3,"first_error":"rpc error: code = Unavailable"}`,
			clientResult{}, "3 of its connections or callers failed, first: rpc error: code = Unavailable"},
		{"no round trip", `{"msgs":0,"seconds":1,"errors":0}`, clientResult{}, "no round trip"},
		{"not JSON", `client: dial tcp: connection refused`, clientResult{}, "client said"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseClientResult(tt.line)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// echoOn serves an echo with a stdlib listener until the test ends, as
// bench/server does, and returns its address.
func echoOn(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if _, werr := c.Write(buf[:n]); err != nil || werr != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestEchoWorkers drives the echo workers the client runs, at the rows'
// message sizes and at 1 MiB: a round trip writes the whole message before
// it reads the echo.
func TestEchoWorkers(t *testing.T) {
	addr := echoOn(t)
	for _, size := range []int{128, 16 << 10, 256 << 10, 1 << 20} {
		t.Run(sizeName(size), func(t *testing.T) {
			msg := make([]byte, size)
			for i := range msg {
				msg[i] = byte(i)
			}
			conns, greetings, err := dialAll(addr, 4, msg)
			require.NoError(t, err)
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			assert.Len(t, greetings, 4)
			var workers []worker
			for _, c := range conns {
				buf := make([]byte, size)
				workers = append(workers, worker{roundTrip: func() error { return roundTrip(c, msg, buf) }, deadline: func(t time.Time) { c.SetDeadline(t) }})
			}
			res := runWorkers(workers, 200*time.Millisecond)
			assert.Zero(t, res.Errors, res.FirstError)
			assert.Positive(t, res.Msgs)
			assert.Positive(t, res.P50us)
		})
	}
}

func TestRoundTripFails(t *testing.T) {
	// A peer that reads a little and closes: the round trip returns an
	// error, not hang.
	for _, size := range []int{128, 256 << 10} {
		t.Run(sizeName(size), func(t *testing.T) {
			a, b := net.Pipe()
			go func() {
				buf := make([]byte, 10)
				b.Read(buf)
				b.Close()
			}()
			defer a.Close()
			a.SetDeadline(time.Now().Add(5 * time.Second))
			err := roundTrip(a, make([]byte, size), make([]byte, size))
			assert.Error(t, err)
		})
	}
}

func TestGRPCWorkers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpcbench.NewServer()
	go srv.Serve(ln)
	defer srv.Stop()
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "unary", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			workers, first, closeAll, err := grpcWorkers(ln.Addr().String(), 2, 3, grpcSize, stream)
			require.NoError(t, err)
			defer closeAll()
			require.Len(t, workers, 6, "connections × callers")
			assert.Equal(t, uint64(6), first.Msgs, "one round trip per caller to connect")
			res := runWorkers(workers, 200*time.Millisecond)
			assert.Zero(t, res.Errors, res.FirstError)
			assert.Greater(t, res.Msgs, uint64(6))
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		dead, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := dead.Addr().String()
		dead.Close()
		_, _, _, err = grpcWorkers(addr, 1, 1, grpcSize, false)
		assert.Error(t, err)
	})
}
