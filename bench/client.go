//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringnet/ringnet/bench/internal/fdlimit"
)

// The client subcommand is the echo and gRPC load generator, run by the
// harness as a process of its own:
//
//	bench client -addr A -conns N -size B -d D [-warm W]
//	bench client -proto grpc-unary|grpc-stream -addr A -conns N -streams S -size B -d D [-warm W]
//
// The echo client connects N connections, each sending one B-byte message
// and reading it back before the next is dialled, echoes on all of them for
// W (the warm-up: the measured connections are the warmed ones), prints
// "ready" and waits for a "go" line on its standard input. Then every
// connection echoes B-byte messages one at a time for D; with D = 0 the
// connecting echoes are the result. It prints a clientResult as one JSON
// line and holds the connections open until its standard input closes.
//
// The gRPC client does the same with N client connections (grpc-go's, one
// HTTP/2 connection each) and S callers on each: a caller makes unary
// calls of gRPC's BenchmarkService one at a time (grpc-unary), or sends a
// message on its own bidirectional stream and reads the reply, one at a
// time (grpc-stream); every payload is B bytes and comes back.

// clientResult is what one client run measured.
type clientResult struct {
	Msgs       uint64  `json:"msgs"`    // round trips completed
	Seconds    float64 `json:"seconds"` // from go until every connection stopped, or the connecting
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`
	Errors     int     `json:"errors"` // connections that failed
	FirstError string  `json:"first_error,omitempty"`
}

// clientMain runs the client subcommand and returns the exit code.
func clientMain(args []string) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	addr := fs.String("addr", "", "server address")
	conns := fs.Int("conns", 1, "connections")
	size := fs.Int("size", 128, "message bytes")
	d := fs.Duration("d", 0, "how long to echo; 0 for once per connection")
	warm := fs.Duration("warm", 0, "how long to echo, unmeasured, before saying ready")
	proto := fs.String("proto", "echo", "echo, grpc-unary or grpc-stream")
	streams := fs.Int("streams", 1, "gRPC callers per connection")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	switch *proto {
	case "echo":
		err = client(*addr, *conns, *size, *d, *warm)
	case "grpc-unary", "grpc-stream":
		err = grpcClient(*addr, *conns, *streams, *size, *proto == "grpc-stream", *d, *warm)
	default:
		err = fmt.Errorf("unknown -proto %q", *proto)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	return 0
}

func client(addr string, n, size int, d, warm time.Duration) error {
	if _, err := fdlimit.Raise(uint64(n) + 64); err != nil {
		return err
	}
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	t0 := time.Now()
	conns, greetings, err := dialAll(addr, n, msg)
	if err != nil {
		return err
	}
	dialed := time.Since(t0)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	workers := make([]worker, len(conns))
	for i, c := range conns {
		buf := make([]byte, len(msg))
		workers[i] = worker{
			roundTrip: func() error { return roundTrip(c, msg, buf) },
			deadline:  func(t time.Time) { c.SetDeadline(t) },
		}
	}
	return drive(workers, newClientResult([][]time.Duration{greetings}, nil, dialed), d, warm)
}

// drive warms the workers up for warm, says ready, waits for go, has them
// work for d (or, with d = 0, reports first instead) and prints the
// result. It returns once standard input closes: until then the
// connections stay open for the harness to measure the server.
func drive(workers []worker, first clientResult, d, warm time.Duration) error {
	if warm > 0 {
		if res := runWorkers(workers, warm); res.Errors > 0 {
			return fmt.Errorf("warm-up: %d of %d workers failed, first: %s", res.Errors, len(workers), res.FirstError)
		}
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "go" {
		return errors.New("no go on standard input")
	}
	res := first
	if d > 0 {
		res = runWorkers(workers, d)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return err
	}
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// dialAll opens n connections to addr, 64 at a time, each echoing msg once
// before its dialer moves on, so that no more connections wait to be
// accepted than there are dialers. It returns the round-trip times of
// those first echoes.
func dialAll(addr string, n int, msg []byte) ([]net.Conn, []time.Duration, error) {
	conns := make([]net.Conn, n)
	rtts := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range min(n, 64) {
		wg.Go(func() {
			buf := make([]byte, len(msg))
			for i := int(next.Add(1)) - 1; i < n && !failed.Load(); i = int(next.Add(1)) - 1 {
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err == nil {
					conns[i] = c
					c.SetDeadline(time.Now().Add(10 * time.Second))
					t0 := time.Now()
					err = roundTrip(c, msg, buf)
					rtts[i] = time.Since(t0)
					c.SetDeadline(time.Time{})
				}
				if err != nil {
					failed.Store(true)
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		return nil, nil, err
	}
	return conns, rtts, nil
}

// roundTrip sends msg on c and reads it back into buf. It writes the whole
// message before reading: at 1,000 connections against net's echo server
// that stays clear of the sockets' buffer limits up to 4 MiB messages
// (16 MiB stalled), far above the rows' 256 KiB.
func roundTrip(c net.Conn, msg, buf []byte) error {
	if _, err := c.Write(msg); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if !bytes.Equal(buf, msg) {
		return errors.New("echo differs from the message sent")
	}
	return nil
}

// worker is one connection's or caller's load.
type worker struct {
	roundTrip func() error
	// deadline bounds the round trips that follow; nil where the
	// harness's own timeout is the bound.
	deadline func(time.Time)
}

// runWorkers has every worker do round trips, one at a time, for d and
// gathers the round-trip times.
func runWorkers(workers []worker, d time.Duration) clientResult {
	var stop atomic.Bool
	lat := make([][]time.Duration, len(workers))
	errs := make([]error, len(workers))
	start := time.Now()
	// A stuck server must not hang the client: bound every worker.
	limit := start.Add(d + 10*time.Second)
	time.AfterFunc(d, func() { stop.Store(true) })
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			if w.deadline != nil {
				w.deadline(limit)
			}
			for !stop.Load() {
				t0 := time.Now()
				if err := w.roundTrip(); err != nil {
					errs[i] = err
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	return newClientResult(lat, errs, time.Since(start))
}

// newClientResult summarizes round-trip times and errors gathered over
// elapsed.
func newClientResult(lat [][]time.Duration, errs []error, elapsed time.Duration) clientResult {
	res := clientResult{Seconds: elapsed.Seconds()}
	all := slices.Concat(lat...)
	slices.Sort(all)
	res.Msgs = uint64(len(all))
	if len(all) > 0 {
		res.P50us = micros(percentile(all, 50))
		res.P99us = micros(percentile(all, 99))
	}
	for _, err := range errs {
		if err != nil {
			if res.Errors == 0 {
				res.FirstError = err.Error()
			}
			res.Errors++
		}
	}
	return res
}

// percentile returns the p-th percentile of sorted, by the nearest-rank
// method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
