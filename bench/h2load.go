//go:build linux

package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// h2loadResult is what one timing-based h2load run reports.
type h2loadResult struct {
	Done      uint64  // requests completed
	Succeeded uint64  // of them, answered with a 2xx or 3xx status
	Failed    uint64  // h2load's failed, errored and timed-out requests
	Bad       uint64  // 4xx and 5xx responses
	ReqPerSec float64 // over the main duration
	Seconds   float64 // the main duration, Done / ReqPerSec
}

// h2loadCheck returns nil if h2load is installed.
func h2loadCheck() error {
	if _, err := exec.LookPath("h2load"); err != nil {
		return fmt.Errorf("h2load not installed (%s)", installHint)
	}
	return nil
}

// h2loadArgs returns h2load's command line for w against addr for d (to
// the millisecond, which h2load takes).
func h2loadArgs(w workload, addr string, d time.Duration) []string {
	argv := []string{"h2load", "-t1", fmt.Sprintf("-c%d", w.conns), fmt.Sprintf("-m%d", w.streams),
		fmt.Sprintf("-D%dms", d.Milliseconds()), w.scheme() + "://" + addr + w.path}
	if w.pinned {
		argv = append([]string{"taskset", "-c", "1"}, argv...)
	}
	return argv
}

// runH2load runs h2load for w against addr for d. A run that completes no
// request or gets a 4xx or 5xx fails; failed or errored requests are left
// to the caller.
func runH2load(ctx context.Context, w workload, addr string, d time.Duration) (h2loadResult, error) {
	p, err := startChild(ctx, h2loadArgs(w, addr, d), nil, nil, false)
	if err != nil {
		return h2loadResult{}, err
	}
	if err := p.wait(d + 30*time.Second); err != nil {
		return h2loadResult{}, fmt.Errorf("h2load: %v: %s", err, p.diag())
	}
	res, err := parseH2load(p.out.text())
	if err == nil && res.Bad > 0 {
		err = fmt.Errorf("h2load: %d responses 4xx or 5xx", res.Bad)
	}
	return res, err
}

var (
	h2Finished = regexp.MustCompile(`(?m)^finished in [\d.]+\w+, ([\d.]+) req/s`)
	h2Requests = regexp.MustCompile(`(?m)^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2Status   = regexp.MustCompile(`(?m)^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
)

// parseH2load reads the request counts and rate from h2load's output.
func parseH2load(out string) (h2loadResult, error) {
	var r h2loadResult
	fin := h2Finished.FindStringSubmatch(out)
	req := h2Requests.FindStringSubmatch(out)
	st := h2Status.FindStringSubmatch(out)
	if fin == nil || req == nil || st == nil {
		return r, fmt.Errorf("h2load output not understood: %s", tail(out))
	}
	n := func(s string) uint64 {
		v, _ := strconv.ParseUint(s, 10, 64)
		return v
	}
	r.ReqPerSec, _ = strconv.ParseFloat(fin[1], 64)
	r.Done, r.Succeeded = n(req[3]), n(req[4])
	r.Failed = n(req[5]) + n(req[6]) + n(req[7])
	r.Bad = n(st[3]) + n(st[4])
	if r.Succeeded == 0 || r.ReqPerSec <= 0 {
		return r, fmt.Errorf("h2load %w: %s", errNoRequest, tail(out))
	}
	r.Seconds = float64(r.Done) / r.ReqPerSec
	return r, nil
}
