//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// installHint is how to get the external tools the harness runs.
const installHint = "apt-get update && apt-get install -y wrk nghttp2-client linux-perf"

// config is what one invocation of the harness measures and where it writes.
type config struct {
	reps  int            // repetitions of every workload × impl
	dur   time.Duration  // measured window of each run
	warm  time.Duration  // warm-up before each measured window
	big   bool           // the big-machine workloads instead of the full run's
	only  *regexp.Regexp // workloads to run, of the full run's or the big-machine ones
	impls []impl         // implementations, in run order
	out   string         // directory of bench.md, bench.png and bench.json
	perf  bool           // count syscalls with perf stat
	args  []string       // the command line, for the report
}

// parseConfig parses the harness's command line (without the program name).
func parseConfig(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "smoke run of about 8 minutes: -reps 1 unless given")
	reps := fs.Int("reps", 3, "repetitions; implementations are interleaved within each")
	dur := fs.Duration("d", time.Second, "measured duration of each run (wrk rounds it up to whole seconds)")
	warm := fs.Duration("warm", 500*time.Millisecond, "warm-up load before each measured run (wrk rounds it up to whole seconds)")
	big := fs.Bool("big", false, "run the big-machine workloads (GOMAXPROCS "+fmtInts(bigProcs)+", each with an idle phase) instead, and write their section")
	only := fs.String("only", "", "regexp: run only the workloads whose name matches")
	implList := fs.String("impls", strings.Join(implNames(), ","), "comma-separated implementations, of: "+strings.Join(implNames(), ", "))
	out := fs.String("out", "docs", "directory to write bench.md, bench.png and bench.json to")
	perf := fs.Bool("perf", true, "count the server's syscalls with perf stat (reported n/a when off or unavailable)")
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["reps"] {
			*reps = 1
		}
	}
	if *reps < 1 || *dur < time.Second || *warm < 0 {
		return nil, fmt.Errorf("need -reps >= 1, -d >= 1s, -warm >= 0")
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		return nil, fmt.Errorf("-only: %w", err)
	}
	impls, err := pickImpls(*implList)
	if err != nil {
		return nil, err
	}
	return &config{
		reps: *reps, dur: *dur, warm: *warm, big: *big, only: re, impls: impls,
		out: *out, perf: *perf, args: args,
	}, nil
}

// usage prints the -h text.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, `Usage: go run ./bench [flags]

Benchmarks the bench/server binary with each listener implementation
(%s) on every workload, interleaving the
implementations within each repetition, and writes docs/bench.md (the table between the bench markers),
docs/bench.png and docs/bench.json. gouring runs only the rows it had before
the harness grew (hello, echo of 128 B and 16 KiB, ping-pong, idle).

Workloads:
%s
With -big, the big-machine workloads instead (written to docs/bench.md
between the bench:big markers and to docs/big.json, no chart):
%s
'go run ./bench runs A/bench.json B/bench.json ...' prints the median over
several runs' reports instead (see 'go run ./bench runs -h').

Needs wrk for the HTTP/1.1 and wrk-driven echo workloads, h2load
(nghttp2-client) for HTTP/2, and perf for syscall counts (reported n/a
without it). Install them with:

	%s

Flags:
`, strings.Join(implNames(), ", "), workloadHelp(workloads), workloadHelp(bigWorkloads), installHint)
	fs.PrintDefaults()
}

// fmtInts formats a list of numbers as "2, 16 and 64".
func fmtInts(xs []int) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprint(x))
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
