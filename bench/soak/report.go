package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ringnet/ringnet"
)

// sample is the state of the process at one moment.
type sample struct {
	at         time.Duration
	rssKiB     int64
	goroutines int
	loops      int
	conns      int64 // owned by ringnet's loops
	open       int64 // held open by the servers
	bufsInUse  int64
	accepts    uint64
	bytesIn    uint64
	noBufs     uint64
	recvPauses uint64
	ops, errs  int64
	srvErrs    int64
}

func takeSample(at time.Duration, srv *servers, cl *clients) sample {
	s := sample{at: at, rssKiB: rssKiB(), goroutines: runtime.NumGoroutine()}
	for _, l := range ringnet.Stats() {
		s.loops++
		s.conns += l.Conns
		s.bufsInUse += l.BuffersInUse
		s.accepts += l.Accepts
		s.bytesIn += l.BytesIn
		s.noBufs += l.NoBufs
		s.recvPauses += l.RecvPauses
	}
	s.open = srv.open.Load()
	s.ops, s.errs = cl.totals()
	s.srvErrs, _ = srv.errors()
	return s
}

// rssKiB is VmRSS from /proc/self/status.
func rssKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

func mib(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }

const tableHead = "|     t | RSS MiB | goroutines | loops | conns | open | bufs in use |  accepts |   MiB in | ops (total) | errors |"
const tableRule = "|------:|--------:|-----------:|------:|------:|-----:|------------:|---------:|---------:|------------:|-------:|"

func (s sample) row() string {
	return fmt.Sprintf("| %5s | %7s | %10d | %5d | %5d | %4d | %11d | %8d | %8.0f | %11d | %6d |",
		s.at.Round(time.Second).String(), mib(s.rssKiB), s.goroutines, s.loops, s.conns, s.open, s.bufsInUse, s.accepts,
		float64(s.bytesIn)/(1<<20), s.ops, s.errs+s.srvErrs)
}

func (s sample) line() string {
	return fmt.Sprintf("soak: t=%-6s rss=%sMiB goroutines=%d loops=%d conns=%d open=%d bufsInUse=%d accepts=%d ops=%d errors=%d",
		s.at.Round(time.Second), mib(s.rssKiB), s.goroutines, s.loops, s.conns, s.open, s.bufsInUse, s.accepts, s.ops,
		s.errs+s.srvErrs)
}

// result is everything a run found.
type result struct {
	cfg               config
	backend, reason   string
	start             time.Time
	traffic           time.Duration
	goVersion, kernel string
	cpus              int
	samples           []sample
	final             sample
	ops, errs         map[string]int64
	errSamples        []string
	serverErrs        int64
	serverErrSamples  []string
	resets            int64
	shutdownErr       error
	loopsStopped      bool
	afterClose        []ringnet.LoopStats
	goroutinesAfter   int
	notes             []string
}

func (r *result) totalErrors() int64 {
	n := r.serverErrs
	for _, v := range r.errs {
		n += v
	}
	return n
}

func (r *result) ok() bool {
	return r.totalErrors() == 0 && r.shutdownErr == nil && r.loopsStopped
}

// steady are the samples after the warm-up (all of them if the run was
// too short for one), and the final one.
func (r *result) steady() []sample {
	var out []sample
	for _, s := range r.samples {
		if s.at >= r.cfg.warmup {
			out = append(out, s)
		}
	}
	out = append(out, r.final)
	return out
}

type flatStat struct{ first, last, max int64 }

func (r *result) flat(get func(sample) int64) flatStat {
	st := r.steady()
	f := flatStat{first: get(st[0]), last: get(st[len(st)-1])}
	for _, s := range st {
		f.max = max(f.max, get(s))
	}
	return f
}

func (r *result) sectionName() string { return "soak:" + r.backend }

func (r *result) summaryLines() []string {
	rss := r.flat(func(s sample) int64 { return s.rssKiB })
	gor := r.flat(func(s sample) int64 { return int64(s.goroutines) })
	conns := r.flat(func(s sample) int64 { return s.conns })
	var ops int64
	for _, v := range r.ops {
		ops += v
	}
	verdict := "PASS"
	if !r.ok() {
		verdict = "FAIL"
	}
	lines := []string{
		fmt.Sprintf("verdict: %s (%d errors; loops stopped after close: %v; shutdown: %v)", verdict, r.totalErrors(),
			r.loopsStopped, errString(r.shutdownErr)),
		fmt.Sprintf("after the %v warm-up: RSS first %s MiB, last %s MiB, max %s MiB; goroutines first %d, last %d, max %d; server conns first %d, last %d, max %d",
			r.cfg.warmup, mib(rss.first), mib(rss.last), mib(rss.max), gor.first, gor.last, gor.max, conns.first, conns.last, conns.max),
		fmt.Sprintf("traffic: %d operations in %v (%.0f/s), %d deliberate resets; %d connections accepted, %.0f MiB received by the server",
			ops, r.traffic.Round(time.Second), float64(ops)/r.traffic.Seconds(), r.resets, r.final.accepts,
			float64(r.final.bytesIn)/(1<<20)),
	}
	var per []string
	for _, k := range kinds {
		per = append(per, fmt.Sprintf("%s %d ops/%d errors", k, r.ops[k], r.errs[k]))
	}
	lines = append(lines, "per kind: "+strings.Join(per, ", "))
	lines = append(lines, fmt.Sprintf("server-side unexpected errors: %d; goroutines after everything closed: %d",
		r.serverErrs, r.goroutinesAfter))
	if len(r.afterClose) > 0 {
		lines = append(lines, fmt.Sprintf("loops still running after close: %+v", r.afterClose))
	}
	for _, e := range r.errSamples {
		lines = append(lines, "client error: "+e)
	}
	for _, e := range r.serverErrSamples {
		lines = append(lines, "server error: "+strings.TrimSpace(e))
	}
	lines = append(lines, r.notes...)
	return lines
}

func errString(err error) string {
	if err == nil {
		return "clean"
	}
	return err.Error()
}

func (r *result) table() []string {
	out := []string{tableHead, tableRule}
	for _, s := range r.samples {
		out = append(out, s.row())
	}
	end := r.final
	out = append(out, strings.Replace(end.row(), "| "+fmt.Sprintf("%5s", end.at.Round(time.Second).String()), "|   end", 1))
	return out
}

func (r *result) text() string {
	var sb strings.Builder
	sb.WriteString("\n")
	for _, l := range r.table() {
		sb.WriteString(l + "\n")
	}
	sb.WriteString("\n")
	for _, l := range r.summaryLines() {
		sb.WriteString(l + "\n")
	}
	return sb.String()
}

func (r *result) markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "## Backend %s\n\n", r.backend)
	fmt.Fprintf(&sb, "`go run ./bench/soak -d %v -backend %s` on %s: Linux %s, %d CPUs, %s; %d client goroutines "+
		"(%d per kind), %v pause between operations, sampled every %v.\n\n",
		r.cfg.d, r.cfg.backend, r.start.UTC().Format("2006-01-02 15:04 UTC"), r.kernel, r.cpus, r.goVersion,
		6*r.cfg.workers, r.cfg.workers, r.cfg.pause, r.cfg.sample)
	if r.reason != "" {
		fmt.Fprintf(&sb, "Backend reason: %s\n\n", r.reason)
	}
	for _, l := range r.summaryLines() {
		fmt.Fprintf(&sb, "- %s\n", l)
	}
	sb.WriteString("\n")
	for _, l := range r.table() {
		sb.WriteString(l + "\n")
	}
	return sb.String()
}

const docHeader = `# Soak runs

Written by ` + "`go run ./bench/soak`" + ` (see bench/soak/main.go): one process serves HTTP/1.1, HTTP/2 over TLS,
a raw TCP echo and a WebSocket echo on ringnet listeners on loopback, while client goroutines (standard library)
drive them with connection churn and deliberate resets. Every sample shows the process's resident memory
(VmRSS), its goroutine count and ringnet.Stats() totals: loops, "conns" (connections the loops own), "bufs in
use" (provided receive buffers held), connections accepted and bytes received; "open" is the connections the
servers' code holds open (net/http keeps a connection it closes after a response for 500 ms), "ops" and
"errors" are cumulative (client errors plus unexpected server errors; deliberate resets are not errors). "end"
is taken once the traffic has stopped, before the servers close; after closing, the loops must stop by
themselves. Each run replaces only the section of its backend.

The io_uring backend's resident memory starts higher because each loop maps its provided-buffer ring (16 MiB
per loop by default, two loops here): what matters is that it stays flat.
`

// writeSection puts md between the section's markers in path, replacing
// an earlier run of the same backend and keeping the others.
func writeSection(path, name, md string) error {
	begin, end := "<!-- "+name+" -->", "<!-- /"+name+" -->"
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	if doc == "" {
		doc = docHeader
	}
	block := begin + "\n" + md + end
	if i := strings.Index(doc, begin); i >= 0 {
		if j := strings.Index(doc[i:], end); j >= 0 {
			doc = doc[:i] + block + doc[i+j+len(end):]
		} else {
			doc = doc[:i] + block + "\n"
		}
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + block + "\n"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
