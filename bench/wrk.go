//go:build linux

package main

import (
	"context"
	"errors"
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
	// Bytes is what wrk read in all, from the done() line the harness's
	// scripts print (wrkDone), or -1 without one.
	Bytes int64
}

// wrkCheck returns nil if wrk is installed.
func wrkCheck() error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not installed (%s)", installHint)
	}
	return nil
}

// wrkArgs returns wrk's command line for w against addr for secs seconds,
// with the Lua script at script ("" for none).
func wrkArgs(w workload, addr, script string, secs int) []string {
	argv := []string{"wrk", "-t1", fmt.Sprintf("-c%d", w.conns), fmt.Sprintf("-d%ds", secs), "--latency"}
	if w.close {
		argv = append(argv, "-H", "Connection: close")
	}
	if script != "" {
		argv = append(argv, "-s", script)
	}
	argv = append(argv, w.scheme()+"://"+addr+w.path)
	if w.pinned {
		argv = append([]string{"taskset", "-c", "1"}, argv...)
	}
	return argv
}

// runWrk runs wrk with one thread and w.conns connections against addr for
// d, rounded up to whole seconds as wrk counts them, with the Lua script at
// script ("" for none). Socket errors are left to the caller; bad
// responses fail the run, and so does an echo row whose byte count does
// not match its message size.
func runWrk(ctx context.Context, w workload, addr, script string, d time.Duration) (wrkResult, error) {
	secs := int(math.Ceil(d.Seconds()))
	p, err := startChild(ctx, wrkArgs(w, addr, script, secs), nil, nil, false)
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
	if err == nil && w.mode == "echo" {
		err = checkEchoBytes(res, w.size, w.conns)
	}
	return res, err
}

// checkEchoBytes checks that a wrk run against the echo server read
// size bytes per response it counted: at least that many, and less than
// one more message per connection (the responses in flight when wrk
// stopped).
func checkEchoBytes(res wrkResult, size, conns int) error {
	if res.Bytes < 0 {
		return fmt.Errorf("wrk: no byte count from the script's done()")
	}
	lo := int64(res.Requests) * int64(size)
	hi := lo + int64(conns)*int64(size)
	if res.Bytes < lo || res.Bytes >= hi {
		return fmt.Errorf("wrk read %d bytes for %d responses of %d bytes (want %d to %d)", res.Bytes, res.Requests, size, lo, hi-1)
	}
	return nil
}

// wrkDone is the done() of the harness's scripts: it prints wrk's exact
// request and byte counts, which its summary rounds.
const wrkDone = `function done(summary, latency, requests)
   io.write(string.format("wrk-done requests=%d bytes=%d\n", summary.requests, summary.bytes))
end
`

// echoMessage returns the message the echo workloads driven by wrk send:
// an HTTP/1.1 200 response of exactly size bytes, its header and then
// bodyLen bytes of body, so that the echoed bytes parse as wrk's
// response to it.
func echoMessage(size int) (header string, bodyLen int) {
	for bodyLen = size; bodyLen >= 0; bodyLen-- {
		header = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", bodyLen)
		if len(header)+bodyLen == size {
			return header, bodyLen
		}
	}
	panic(fmt.Sprintf("echoMessage: no response of %d bytes", size))
}

// wrkScript returns the Lua script wrk runs for w, or "" for none.
//
// An echo row's request is echoMessage, which the echo server sends back
// and wrk parses as the response to it. Before the run, wrk checks that
// its first thread's first request parses as an HTTP request (and exits
// on "invalid HTTP method" otherwise), so the script's request() returns a
// plain GET on its first call, made by that check, and the message on
// every later one, one call per request (a request() global makes wrk
// call it, and copy its string, per request; wrk.format, which builds the
// static request, would be checked too). The harness runs wrk with one
// thread, whose first call is the check's.
//
// An upload row POSTs its body, built once as wrk's static request.
func wrkScript(w workload) string {
	switch {
	case w.kind != wrkLoad:
		return ""
	case w.mode == "echo":
		header, n := echoMessage(w.size)
		return fmt.Sprintf(`-- %s: the request is an HTTP response of %d bytes; the echo server sends it back.
local msg = %q .. string.rep("a", %d)
-- wrk's check before the run parses the first request as a request.
local calls = 0
function request()
   calls = calls + 1
   if calls == 1 then return wrk.format("GET", "/") end
   return msg
end
%s`, w.name, w.size, header, n, wrkDone)
	case w.upload > 0:
		return fmt.Sprintf(`-- %s: POST %d bytes.
wrk.method = "POST"
wrk.body = string.rep("x", %d)
wrk.headers["Content-Type"] = "application/octet-stream"
%s`, w.name, w.upload, w.upload, wrkDone)
	}
	return ""
}

// errNoRequest is a load generator's run in which no request completed.
// A warm-up may end so (a round of 1,000 messages of 256 KiB can take
// longer than it); a measured window may not.
var errNoRequest = errors.New("completed no request")

var (
	wrkTotal    = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([\d.]+\w+)`)
	wrkRate     = regexp.MustCompile(`(?m)^Requests/sec:\s+([\d.]+)`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+\w+)`)
	wrkSockErrs = regexp.MustCompile(`(?m)^\s*Socket errors: .*$`)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkDoneLine = regexp.MustCompile(`(?m)^wrk-done requests=(\d+) bytes=(\d+)$`)
)

// parseWrk reads the totals and the 50th and 99th latency percentiles from
// the output of wrk --latency, and the exact counts of wrkDone's line if
// there is one.
func parseWrk(out string) (wrkResult, error) {
	r := wrkResult{Bytes: -1}
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
		return r, fmt.Errorf("wrk %w: %s", errNoRequest, tail(out))
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
	if e := wrkDoneLine.FindStringSubmatch(out); e != nil {
		// The script's exact count replaces the summary's.
		r.Requests, _ = strconv.ParseUint(e[1], 10, 64)
		r.Bytes, _ = strconv.ParseInt(e[2], 10, 64)
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
