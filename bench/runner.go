//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// harness runs workloads against servers and collects the results.
type harness struct {
	cfg      *config
	bin      string            // the server binary
	tmp      string            // scratch directory
	perfNote string            // why syscalls are not counted, if they are not
	toolErr  map[kind]error    // why a kind of workload cannot run, if it cannot
	scripts  map[string]string // wrk's Lua scripts written so far, by workload name
}

// runAll runs every workload R times, each time against every
// implementation that runs it in turn, and returns the runs done before
// ctx ended.
func (h *harness) runAll(ctx context.Context, wls []workload) []runResult {
	var runs []runResult
	total := 0
	for _, w := range wls {
		for _, im := range h.cfg.impls {
			if im.runs(w) {
				total += h.cfg.reps
			}
		}
	}
	for _, w := range wls {
		for rep := 1; rep <= h.cfg.reps; rep++ {
			for _, im := range h.cfg.impls {
				if !im.runs(w) {
					continue
				}
				if ctx.Err() != nil {
					return runs
				}
				t0 := time.Now()
				r := h.runOne(ctx, w, im, rep)
				runs = append(runs, r)
				fmt.Fprintf(os.Stderr, "[%3d/%d] %-28s %-8s rep %d  %s  (%.1fs)\n",
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
	}
	s := fmt.Sprintf("%.0f %s/s", r.Metrics[mThroughput], w.unit)
	if r.P99us > 0 {
		s += "  p99 " + fmtLatency(r.P99us)
	}
	s += fmt.Sprintf("  peak %.0f MiB", r.Metrics[mPeakRSS])
	if w.idle > 0 {
		s += fmt.Sprintf("  idle %.0f MiB, %.2f ms/s CPU, %.0f wake-ups/s", r.Metrics[mIdleRSS], r.Metrics[mIdleCPU], r.Metrics[mIdleWakes])
	}
	return s
}

// runOne starts a server, puts w's load on it, stops it and returns what
// was measured; a failure is recorded in the result.
func (h *harness) runOne(ctx context.Context, w workload, im impl, rep int) runResult {
	r := runResult{Workload: w.name, Impl: im.name, Rep: rep, Start: time.Now().UTC()}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.warm+w.window(h.cfg.dur)+w.idle+2*time.Minute)
	defer cancel()
	if err := h.measure(ctx, w, im, &r); err != nil {
		r.Error = err.Error()
	}
	r.derive(w.kind)
	return r
}

// measure runs w against a fresh server of im and fills r in.
func (h *harness) measure(ctx context.Context, w workload, im impl, r *runResult) error {
	if err := h.toolErr[w.kind]; err != nil {
		return err
	}
	var env []string
	if w.procs > 0 {
		env = []string{fmt.Sprintf("GOMAXPROCS=%d", w.procs)}
	}
	s, err := startServer(ctx, serverSpec{
		bin: h.bin, impl: im, env: env, mode: w.mode, pinned: w.pinned, perf: h.perfNote == "",
		tmp: h.tmp, tag: fmt.Sprintf("%s-%s-%d", w.name, im.name, r.Rep),
	})
	if err != nil {
		return err
	}
	defer s.stop()
	switch w.kind {
	case wrkLoad:
		err = h.loadWrk(ctx, w, s, r)
	case h2Load:
		err = h.loadH2(ctx, w, s, r)
	case echoLoad, grpcLoad:
		err = h.loadClient(ctx, w, s, r)
	case idleLoad:
		err = h.loadIdle(ctx, w, s, r)
	}
	if err != nil {
		return err
	}
	if r.PeakKiB, err = vmHWM(s.pid); err != nil {
		return err
	}
	if w.idle > 0 {
		if err := h.idlePhase(ctx, w, s, r); err != nil {
			return err
		}
	}
	s.stop()
	if s.perf != nil {
		if r.Perf, err = s.counts(); err != nil {
			r.warn(err.Error())
		}
	}
	return nil
}

// script returns the path of the Lua script wrk runs for w, written on
// first use, or "" if w needs none.
func (h *harness) script(w workload) (string, error) {
	text := wrkScript(w)
	if text == "" {
		return "", nil
	}
	if path, ok := h.scripts[w.name]; ok {
		return path, nil
	}
	path := filepath.Join(h.tmp, w.name+".lua")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", err
	}
	h.scripts[w.name] = path
	return path, nil
}

// loadWrk warms the server up with wrk, then measures a wrk run.
func (h *harness) loadWrk(ctx context.Context, w workload, s *server, r *runResult) error {
	script, err := h.script(w)
	if err != nil {
		return err
	}
	if h.cfg.warm > 0 {
		if _, err := runWrk(ctx, w, s.addr, script, h.cfg.warm); err != nil && !errors.Is(err, errNoRequest) {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var res wrkResult
	cpu, err := s.window(func() (err error) {
		res, err = runWrk(ctx, w, s.addr, script, w.window(h.cfg.dur))
		return err
	})
	if err != nil {
		return err
	}
	r.Ops, r.Seconds, r.Rate, r.CPUus = res.Requests, res.Seconds, res.ReqPerSec, micros(cpu)
	r.P50us, r.P99us = micros(res.P50), micros(res.P99)
	if res.SocketErrors != "" {
		r.warn("wrk: " + res.SocketErrors)
	}
	return nil
}

// loadH2 warms the server up with h2load, then measures an h2load run.
func (h *harness) loadH2(ctx context.Context, w workload, s *server, r *runResult) error {
	if h.cfg.warm > 0 {
		if _, err := runH2load(ctx, w, s.addr, h.cfg.warm); err != nil && !errors.Is(err, errNoRequest) {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var res h2loadResult
	cpu, err := s.window(func() (err error) {
		res, err = runH2load(ctx, w, s.addr, w.window(h.cfg.dur))
		return err
	})
	if err != nil {
		return err
	}
	r.Ops, r.Seconds, r.Rate, r.CPUus = res.Done, res.Seconds, res.ReqPerSec, micros(cpu)
	if res.Failed > 0 {
		r.warn(fmt.Sprintf("h2load: %d requests failed, errored or timed out", res.Failed))
	}
	return nil
}

// loadClient warms the server up and then measures it with one client
// process (echo or gRPC), on the same connections.
func (h *harness) loadClient(ctx context.Context, w workload, s *server, r *runResult) error {
	c, err := startClient(ctx, w, s.addr, w.window(h.cfg.dur), h.cfg.warm)
	if err != nil {
		return err
	}
	defer c.close()
	var res clientResult
	cpu, err := s.window(func() (err error) {
		res, err = c.run()
		return err
	})
	if err != nil {
		return err
	}
	r.Ops, r.Seconds, r.Rate, r.CPUus = res.Msgs, res.Seconds, float64(res.Msgs)/res.Seconds, micros(cpu)
	r.P50us, r.P99us = res.P50us, res.P99us
	return nil
}

// idlePhase watches the server for w.idle after its load has ended: its
// threads' CPU time and wake-ups over the span and its RSS at the end. On an HTTP server it
// also counts ringnet's running loops, which must be w.procs where the
// implementation runs ringnet.
func (h *harness) idlePhase(ctx context.Context, w workload, s *server, r *runResult) error {
	if w.mode == "http" {
		n, err := countLoops(ctx, s.addr)
		if err != nil {
			return err
		}
		r.Loops = n
	}
	cpu0, runs0, err := schedTotals(s.pid)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := sleep(ctx, w.idle); err != nil {
		return err
	}
	cpu1, runs1, err := schedTotals(s.pid)
	if err != nil {
		return err
	}
	rss, err := vmRSS(s.pid)
	if err != nil {
		return err
	}
	r.IdleSecs, r.IdleRSSKiB = time.Since(t0).Seconds(), rss
	r.IdleCPUus, r.IdleRuns = micros(max(cpu1-cpu0, 0)), runs1-min(runs0, runs1)
	if r.Loops > 0 && w.procs > 0 && r.Loops != w.procs {
		return fmt.Errorf("%d loops ran, want GOMAXPROCS=%d", r.Loops, w.procs)
	}
	return nil
}

// countLoops asks the HTTP server at addr how many ringnet loops run.
func countLoops(ctx context.Context, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/debug/ringnet", nil)
	if err != nil {
		return 0, err
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("/debug/ringnet: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Loops []json.RawMessage `json:"loops"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("/debug/ringnet: %w", err)
	}
	return len(body.Loops), nil
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
