//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// harness runs workloads against servers and collects the results.
type harness struct {
	cfg      *config
	bin      string // the server binary
	tmp      string // scratch directory
	perfNote string // why syscalls are not counted, if they are not
	wrkErr   error  // why HTTP workloads cannot run, if they cannot
}

// runAll runs every workload R times, each time against every
// implementation in turn, and returns the runs done before ctx ended.
func (h *harness) runAll(ctx context.Context, wls []workload) []runResult {
	var runs []runResult
	total := len(wls) * h.cfg.reps * len(h.cfg.impls)
	for _, w := range wls {
		for rep := 1; rep <= h.cfg.reps; rep++ {
			for _, im := range h.cfg.impls {
				if ctx.Err() != nil {
					return runs
				}
				t0 := time.Now()
				r := h.runOne(ctx, w, im, rep)
				runs = append(runs, r)
				fmt.Fprintf(os.Stderr, "[%3d/%d] %-18s %-8s rep %d  %s  (%.1fs)\n",
					len(runs), total, w.name, im.name, rep, brief(w, r), time.Since(t0).Seconds())
			}
		}
	}
	return runs
}

// brief is a run's one-line progress report.
func brief(w workload, r runResult) string {
	switch {
	case r.Error != "":
		return "FAILED: " + r.Error
	case w.kind == idleLoad:
		return fmt.Sprintf("%.1f KiB/conn", r.Metrics[mRSS])
	default:
		return fmt.Sprintf("%.0f %s/s  p99 %s", r.Metrics[mThroughput], w.unit, fmtLatency(r.P99us))
	}
}

// runOne starts a server, puts w's load on it, stops it and returns what
// was measured; a failure is recorded in the result.
func (h *harness) runOne(ctx context.Context, w workload, im impl, rep int) runResult {
	r := runResult{Workload: w.name, Impl: im.name, Rep: rep, Start: time.Now().UTC()}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.warm+h.cfg.dur+2*time.Minute)
	defer cancel()
	if err := h.measure(ctx, w, im, &r); err != nil {
		r.Error = err.Error()
	}
	r.derive(w.kind)
	return r
}

// measure runs w against a fresh server of im and fills r in.
func (h *harness) measure(ctx context.Context, w workload, im impl, r *runResult) error {
	if w.kind == httpLoad && h.wrkErr != nil {
		return h.wrkErr
	}
	mode := "echo"
	if w.kind == httpLoad {
		mode = "http"
	}
	s, err := startServer(ctx, serverSpec{
		bin: h.bin, impl: im, mode: mode, pinned: w.pinned, perf: h.perfNote == "",
		tmp: h.tmp, tag: fmt.Sprintf("%s-%s-%d", w.name, im.name, r.Rep),
	})
	if err != nil {
		return err
	}
	defer s.stop()
	switch w.kind {
	case httpLoad:
		err = h.loadHTTP(ctx, w, s, r)
	case echoLoad:
		err = h.loadEcho(ctx, w, s, r)
	case idleLoad:
		err = h.loadIdle(ctx, w, s, r)
	}
	if err != nil {
		return err
	}
	s.stop()
	if s.perf != nil {
		if r.Perf, err = s.counts(); err != nil {
			r.warn(err.Error())
		}
	}
	return nil
}

// loadHTTP warms the server up with wrk, then measures a wrk run.
func (h *harness) loadHTTP(ctx context.Context, w workload, s *server, r *runResult) error {
	if h.cfg.warm > 0 {
		if _, err := runWrk(ctx, w, s.addr, h.cfg.warm); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	if err := s.begin(); err != nil {
		return err
	}
	res, err := runWrk(ctx, w, s.addr, h.cfg.dur)
	cpu, endErr := s.end()
	if err != nil {
		return err
	}
	if endErr != nil {
		return endErr
	}
	r.Ops, r.Seconds, r.Rate, r.CPUus = res.Requests, res.Seconds, res.ReqPerSec, micros(cpu)
	r.P50us, r.P99us = micros(res.P50), micros(res.P99)
	if res.SocketErrors != "" {
		r.warn("wrk: " + res.SocketErrors)
	}
	return nil
}

// loadEcho warms the server up and then measures it with one client, on
// the same connections.
func (h *harness) loadEcho(ctx context.Context, w workload, s *server, r *runResult) error {
	c, err := startClient(ctx, w, s.addr, h.cfg.dur, h.cfg.warm)
	if err != nil {
		return err
	}
	defer c.close()
	if err := s.begin(); err != nil {
		return err
	}
	res, err := c.run()
	cpu, endErr := s.end()
	if err != nil {
		return err
	}
	if endErr != nil {
		return endErr
	}
	if res.Msgs == 0 || res.Seconds <= 0 {
		return fmt.Errorf("client: no round trip completed")
	}
	r.Ops, r.Seconds, r.Rate, r.CPUus = res.Msgs, res.Seconds, float64(res.Msgs)/res.Seconds, micros(cpu)
	r.P50us, r.P99us = res.P50us, res.P99us
	return nil
}

// idleSettle is how long the server may settle before its RSS is read.
const idleSettle = time.Second

// loadIdle measures the server's RSS before and after w.conns connections
// have each echoed one message and gone idle. The window (CPU, syscalls)
// spans their connecting and echoing.
func (h *harness) loadIdle(ctx context.Context, w workload, s *server, r *runResult) error {
	if err := sleep(ctx, idleSettle); err != nil {
		return err
	}
	before, err := vmRSS(s.pid)
	if err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	c, err := startClient(ctx, w, s.addr, 0, 0)
	if err != nil {
		return err
	}
	defer c.close()
	res, err := c.run()
	cpu, endErr := s.end()
	if err != nil {
		return err
	}
	if endErr != nil {
		return endErr
	}
	if res.Msgs != uint64(w.conns) {
		return fmt.Errorf("%d of %d connections echoed", res.Msgs, w.conns)
	}
	if err := sleep(ctx, idleSettle); err != nil {
		return err
	}
	after, err := vmRSS(s.pid)
	if err != nil {
		return err
	}
	r.Ops, r.Seconds, r.CPUus = res.Msgs, res.Seconds, micros(cpu)
	r.RSSKiB = [2]int64{before, after}
	return nil
}

// micros returns d in microseconds.
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
