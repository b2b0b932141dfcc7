//go:build linux

package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Markers around the generated part of bench.md; the rest of the file is
// left as it is.
const (
	beginMarker = "<!-- bench:begin -->"
	endMarker   = "<!-- bench:end -->"
	// The big-machine run (-big) writes between these instead.
	bigBeginMarker = "<!-- bench:big:begin -->"
	bigEndMarker   = "<!-- bench:big:end -->"
	// designHeading starts a hand-written section the harness must keep.
	designHeading = "## Design experiments"
)

// report is everything one invocation measured: docs/bench.json.
type report struct {
	Command   string       `json:"command"`
	Started   time.Time    `json:"started"`
	Runtime   string       `json:"runtime"`
	Machine   machine      `json:"machine"`
	Reps      int          `json:"reps"`
	RunSecs   float64      `json:"run_seconds"`
	WarmSecs  float64      `json:"warm_seconds"`
	Impls     []string     `json:"impls"`
	Big       bool         `json:"big,omitempty"`       // the big-machine workloads (-big)
	PerfNote  string       `json:"perf_note,omitempty"` // why syscalls are n/a
	Summary   []summaryRow `json:"summary"`
	Runs      []runResult  `json:"runs"`
	workloads []workload   // the workloads run, in order
	chart     string       // the chart's file name, "" if none
	toolNotes []string     // load generators missing, for the notes
}

// column is one metric column of the table.
type column struct {
	metric string
	header string
	format func(float64) string
	// valueOnly leaves out the ratio: an idle server's CPU and wake-ups
	// are near zero and vary from run to run by orders of magnitude, so
	// their ratios say nothing.
	valueOnly bool
}

var allColumns = []column{
	{mP50, "p50", fmtLatency, false},
	{mP99, "p99", fmtLatency, false},
	{mCPU, "CPU µs/op", fmtNumber, false},
	{mSyscalls, "syscalls/op", fmtNumber, false},
	{mRSS, "RSS KiB/conn", fmtNumber, false},
	{mPeakRSS, "peak RSS MiB", fmtNumber, false},
	{mIdleRSS, "idle RSS MiB", fmtNumber, false},
	{mIdleCPU, "idle CPU ms/s", fmtNumber, true},
	{mIdleWakes, "idle wake-ups/s", fmtNumber, true},
	{mLoops, "loops", fmtCount, true},
}

// columns returns the columns the report has figures for: those some row
// measured, and syscalls/op whenever perf was off (to say n/a).
func (rp *report) columns() []column {
	var out []column
	for _, c := range allColumns {
		keep := c.metric == mSyscalls && rp.PerfNote != ""
		for _, row := range rp.Summary {
			if _, ok := row.Cells[c.metric]; ok {
				keep = true
			}
		}
		if keep {
			out = append(out, c)
		}
	}
	return out
}

// markers returns the markers of the report's part of bench.md.
func (rp *report) markers() (begin, end string) {
	if rp.Big {
		return bigBeginMarker, bigEndMarker
	}
	return beginMarker, endMarker
}

// markdown renders the generated part of bench.md, markers included.
func (rp *report) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	begin, end := rp.markers()
	columns := rp.columns()
	p("%s\n<!-- Written by go run ./bench: edits between these markers are overwritten. -->\n\n", begin)
	m := rp.Machine
	p("Measured %s on %d CPUs (%s), Linux %s, %s, %s, %s, %s.\n\n",
		rp.Started.Format("2006-01-02 15:04 MST"), m.CPUs, orUnknown(m.CPUModel), orUnknown(m.Kernel), m.Go, orUnknown(m.Wrk), orUnknown(m.H2load), orUnknown(m.Perf))
	long := ""
	for _, w := range rp.workloads {
		if w.long {
			long = fmt.Sprintf(" (%gs on the rows that say so)", longWindow*rp.RunSecs)
			break
		}
	}
	p("Command: `%s` (%s, %gs measured per run%s after %gs of warm-up, which wrk rounds up to whole seconds; total runtime %s).\n\n",
		rp.Command, plural(rp.Reps, "repetition"), rp.RunSecs, long, rp.WarmSecs, rp.Runtime)
	p("Each cell is the median over the repetitions; in parentheses, the median of its ratio to %s measured in the same repetition. "+
		"**×%s** is the throughput ratio (higher is better); for the other columns lower is better. "+
		"An op is a request (http, https, h2, h2c, upload), a gRPC call or stream message (grpc), a message echoed (echo, pingpong) or a connection (idle).\n\n", baseline, baseline)
	p("| Workload | Impl | runs ok | ×%s | throughput |", baseline)
	for _, c := range columns {
		p(" %s |", c.header)
	}
	p("\n|---|---|---|---|---|%s\n", strings.Repeat("---|", len(columns)))
	units := map[string]string{}
	for _, w := range rp.workloads {
		units[w.name] = w.unit
	}
	for _, row := range rp.Summary {
		p("| %s | %s | %d/%d |", row.Workload, row.Impl, row.OK, row.Runs)
		if row.OK == 0 {
			p(" failed | |%s\n", strings.Repeat(" |", len(columns)))
			continue
		}
		if c, ok := row.Cells[mThroughput]; ok {
			p(" %s | %s %s/s |", fmtRatio(c, true), fmtRate(c.Value), units[row.Workload])
		} else {
			p(" — | — |")
		}
		for _, col := range columns {
			c, ok := row.Cells[col.metric]
			switch {
			case ok && row.Impl != baseline && c.HasRatio && !col.valueOnly:
				p(" %s (%s) |", col.format(c.Value), fmtRatio(c, false))
			case ok:
				p(" %s |", col.format(c.Value))
			case col.metric == mSyscalls && rp.PerfNote != "":
				p(" n/a |")
			default:
				p(" — |")
			}
		}
		p("\n")
	}
	if rp.chart != "" {
		p("\n![Throughput ratio to %s per workload](%s)\n", baseline, rp.chart)
	}
	p("\nWorkloads:\n\n")
	for _, w := range rp.workloads {
		p("- `%s`: %s.\n", w.name, w.describe())
	}
	p("\nNotes:\n\n")
	for _, n := range rp.notes() {
		p("- %s\n", n)
	}
	p("\n%s\n", end)
	return b.String()
}

// notes lists the failures, warnings and caveats of the run.
func (rp *report) notes() []string {
	var out []string
	for _, row := range rp.Summary {
		for _, e := range row.Errors {
			out = append(out, fmt.Sprintf("%s on %s: %d of %d runs failed: %s", row.Impl, row.Workload, row.Runs-row.OK, row.Runs, oneLine(e)))
		}
		if len(row.Warnings) > 0 {
			out = append(out, fmt.Sprintf("%s on %s: %s", row.Impl, row.Workload, oneLine(strings.Join(row.Warnings, "; "))))
		}
	}
	out = append(out, rp.toolNotes...)
	if rp.PerfNote != "" {
		out = append(out, "syscalls/op is n/a: "+rp.PerfNote+".")
	} else {
		out = append(out, "syscalls/op counts the raw_syscalls:sys_enter tracepoint over the measured window for all of the server's threads (perf stat started with the server, counters enabled only for the window). "+
			"The tracepoint adds a little cost to every syscall, so it weighs slightly more on the implementation that makes more of them. "+
			"bench.json also has io_uring_enter calls and context switches per op.")
	}
	out = append(out,
		"CPU µs/op is the server's utime+stime from /proc/PID/stat over the window (10 ms resolution) divided by the ops; the load generator shares the 2 CPUs with the server in the unpinned workloads.",
		"peak RSS MiB is the server's VmHWM at the end of the measured window: the most it held at once since it started, warm-up included.",
	)
	if rp.Big {
		out = append(out,
			"idle RSS MiB is the server's VmRSS at the end of the "+bigIdleFor.String()+" without traffic after the load (wrk closed its connections); idle CPU ms/s is its threads' time on a CPU per second over that span, and idle wake-ups/s how many times per second they were put on one (/proc/PID/task/*/schedstat); loops is the number of ringnet loops running after the load (GET /debug/ringnet), which must equal GOMAXPROCS.",
			"GOMAXPROCS above the machine's CPU count gives the Go scheduler and ringnet as many Ps and loops as a server with that many CPUs, on 2 CPUs: the memory and idle costs that scale with the loop count show; the throughput is that of 2 CPUs shared by more threads.",
		)
	} else {
		out = append(out,
			"h2load reports no latency percentiles: the h2 rows have no p50 or p99.",
			"The echo rows driven by wrk (-wrk) send a fixed message that is itself an HTTP/1.1 200 response of the row's size (header included), which the echo server sends back and wrk parses as the response to it; the script's done() prints wrk's exact byte count, and a run whose bytes are not the message size times the responses (plus at most one message per connection in flight) fails.",
		)
	}
	out = append(out,
		"Absolute numbers drift by tens of percent on a shared VM; the ratios, measured side by side in the same repetition, are the numbers to compare.",
		"gouring is github.com/godzie44/go-uring/net's listener with one ring per usable CPU sharing one worker pool, as in its examples (GOMAXPROCS left at its default). "+
			"Its reactor submits queued operations only between waits for completions, and each wait times out after 1 ms. It runs only the rows the harness had before issue 21.",
	)
	return out
}

// splice puts block in place of the part of the document doc between the
// markers begin and end, keeping everything else. A document without them
// gets the block before its design-experiments section, or at its end; an
// empty one gets a title first.
func splice(doc, block, begin, end string) string {
	if i := strings.Index(doc, begin); i >= 0 {
		if j := strings.Index(doc[i:], end); j >= 0 {
			return doc[:i] + strings.TrimSuffix(block, "\n") + doc[i+j+len(end):]
		}
	}
	if strings.TrimSpace(doc) == "" {
		return "# Benchmarks\n\nThe section below is written by `go run ./bench`; see `go run ./bench -h`.\n\n" + block
	}
	if i := strings.Index(doc, "\n"+designHeading); i >= 0 {
		return doc[:i+1] + block + "\n" + doc[i+1:]
	}
	return strings.TrimRight(doc, "\n") + "\n\n" + block
}

// fmtTimes formats a ratio: the report's cells and "bench runs" use it.
func fmtTimes(v float64) string { return fmt.Sprintf("%.2f×", v) }

// fmtRatio formats a cell's ratio, in bold for the headline ratio.
func fmtRatio(c cell, bold bool) string {
	if !c.HasRatio {
		return "—"
	}
	s := fmtTimes(c.Ratio)
	if bold {
		return "**" + s + "**"
	}
	return s
}

// fmtRate formats a rate with thousands separators.
func fmtRate(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// fmtLatency formats microseconds in a readable unit.
func fmtLatency(us float64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%.0f µs", us)
	case us < 1e6:
		return fmt.Sprintf("%.2f ms", us/1e3)
	default:
		return fmt.Sprintf("%.2f s", us/1e6)
	}
}

// fmtCount formats a whole number.
func fmtCount(v float64) string { return fmt.Sprintf("%.0f", v) }

// fmtNumber formats a per-op figure with three significant digits.
func fmtNumber(v float64) string {
	if v == 0 || math.Abs(v) >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	digits := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	return fmt.Sprintf("%.*f", digits, v)
}

// plural formats a count of things.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// oneLine keeps a message from breaking a Markdown list, and short.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}
