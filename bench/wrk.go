//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk --latency run reports.
type wrkResult struct {
	Requests     uint64        // completed requests
	Seconds      float64       // the run's length as wrk measured it
	ReqPerSec    float64       // wrk's Requests/sec
	P50, P99     time.Duration // latency distribution
	SocketErrors string        // wrk's socket error counts, "" if none
	Non2xx       uint64        // non-2xx or 3xx responses
}

// wrkCheck returns nil if wrk is installed.
func wrkCheck() error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not installed (%s)", installHint)
	}
	return nil
}

// runWrk runs wrk with one thread and w.conns connections against
// GET /hello on addr for d, rounded up to whole seconds as wrk counts them.
// Socket errors are left to the caller; bad responses fail the run.
func runWrk(ctx context.Context, w workload, addr string, d time.Duration) (wrkResult, error) {
	secs := int(math.Ceil(d.Seconds()))
	argv := []string{"wrk", "-t1", fmt.Sprintf("-c%d", w.conns), fmt.Sprintf("-d%ds", secs), "--latency", "http://" + addr + "/hello"}
	if w.pinned {
		argv = append([]string{"taskset", "-c", "1"}, argv...)
	}
	p, err := startChild(ctx, argv, nil, nil, false)
	if err != nil {
		return wrkResult{}, err
	}
	if err := p.wait(time.Duration(secs)*time.Second + 30*time.Second); err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, p.diag())
	}
	res, err := parseWrk(p.out.text())
	if err == nil && res.Non2xx > 0 {
		err = fmt.Errorf("wrk: %d responses not 2xx or 3xx", res.Non2xx)
	}
	return res, err
}

var (
	wrkTotal    = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([\d.]+\w+)`)
	wrkRate     = regexp.MustCompile(`(?m)^Requests/sec:\s+([\d.]+)`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+\w+)`)
	wrkSockErrs = regexp.MustCompile(`(?m)^\s*Socket errors: .*$`)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads the totals and the 50th and 99th latency percentiles from
// the output of wrk --latency.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkTotal.FindStringSubmatch(out)
	rate := wrkRate.FindStringSubmatch(out)
	pcts := wrkPct.FindAllStringSubmatch(out, -1)
	if m == nil || rate == nil || len(pcts) != 2 {
		return r, fmt.Errorf("wrk output not understood: %s", tail(out))
	}
	r.Requests, _ = strconv.ParseUint(m[1], 10, 64)
	if r.Requests == 0 {
		// A server that accepts and never answers: wrk reports zero
		// latencies and, within its 2 s timeout, no socket error. The run
		// failed; counted, it would drop out of every median unseen.
		return r, fmt.Errorf("wrk completed no request: %s", tail(out))
	}
	d, err := parseWrkDuration(m[2])
	if err != nil {
		return r, err
	}
	r.Seconds = d.Seconds()
	r.ReqPerSec, _ = strconv.ParseFloat(rate[1], 64)
	for _, p := range pcts {
		d, err := parseWrkDuration(p[2])
		if err != nil {
			return r, err
		}
		if p[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if e := wrkSockErrs.FindStringSubmatch(out); e != nil {
		r.SocketErrors = strings.TrimSpace(e[0])
	}
	if e := wrkNon2xx.FindStringSubmatch(out); e != nil {
		r.Non2xx, _ = strconv.ParseUint(e[1], 10, 64)
	}
	return r, nil
}

// parseWrkDuration parses wrk's durations: 451.00us, 1.04ms, 2.00s, 1.00m.
func parseWrkDuration(s string) (time.Duration, error) {
	num := strings.TrimRight(s, "abcdefghijklmnopqrstuvwxyz")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("wrk duration %q: %w", s, err)
	}
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[s[len(num):]]
	if unit == 0 {
		return 0, fmt.Errorf("wrk duration %q: unknown unit", s)
	}
	return time.Duration(v * float64(unit)), nil
}
