//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// runsUsage is the help of "bench runs".
const runsUsage = `Usage: go run ./bench runs RUN1/bench.json RUN2/bench.json ...

Reads the bench.json of several runs of the harness and prints one
markdown table (rows in the order of the last file's report, then those
only earlier ones have): for every workload and implementation, the
median over the runs of each run's figure (its ratio to the baseline for
throughput, p50, p99, CPU per op, RSS per connection and peak RSS; the
value itself for syscalls per op, the implementation's and the
baseline's), and in brackets every run's figure, in the order the files
were given ("—" where a run did not measure it). One run's ratios move by ±0.1–0.3 on a shared 2-CPU VM;
the median of several runs is steadier.
`

// runsColumn is one column of the runs table: a metric, whether the
// figure is the ratio to the baseline or the value, and whether it is the
// baseline's own value on the same workload (to compare with).
type runsColumn struct {
	metric, header    string
	ratio, ofBaseline bool
	format            func(float64) string
}

var runsColumns = []runsColumn{
	{mThroughput, "×" + baseline, true, false, fmtTimes},
	{mP50, "p50 ÷ " + baseline, true, false, fmtTimes},
	{mP99, "p99 ÷ " + baseline, true, false, fmtTimes},
	{mCPU, "CPU/op ÷ " + baseline, true, false, fmtTimes},
	{mSyscalls, "syscalls/op", false, false, fmtNumber},
	{mSyscalls, "syscalls/op of " + baseline, false, true, fmtNumber},
	{mRSS, "RSS/conn ÷ " + baseline, true, false, fmtTimes},
	{mPeakRSS, "peak RSS ÷ " + baseline, true, false, fmtTimes},
}

// figure returns column c's figure in row, if row measured it (a run
// without the row gives the zero summaryRow, which measured nothing).
func (c runsColumn) figure(row summaryRow) (float64, bool) {
	if row.OK == 0 {
		return 0, false
	}
	cl, ok := row.Cells[c.metric]
	switch {
	case !ok:
		return 0, false
	case c.ratio:
		return cl.Ratio, cl.HasRatio
	}
	return cl.Value, true
}

// runsMain is "bench runs FILE...". It returns the exit code.
func runsMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stderr, runsUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	reports := make([]report, len(args))
	for i, name := range args {
		b, err := os.ReadFile(name)
		if err == nil {
			err = json.Unmarshal(b, &reports[i])
		}
		if err == nil && len(reports[i].Summary) == 0 {
			err = fmt.Errorf("no summary rows")
		}
		if err != nil {
			fmt.Fprintf(stderr, "bench runs: %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprint(stdout, runsTable(args, reports))
	return 0
}

// runsTable renders the table of runsMain for reports read from names.
func runsTable(names []string, reports []report) string {
	type key struct{ workload, impl string }
	rows := make([]map[key]summaryRow, len(reports))
	for i, rp := range reports {
		rows[i] = map[key]summaryRow{}
		for _, row := range rp.Summary {
			rows[i][key{row.Workload, row.Impl}] = row
		}
	}
	// The last report's rows in its order (the harness's newest), then
	// those only earlier reports have, first seen first.
	var order []key
	listed := map[key]bool{}
	newestFirst := append([]report{reports[len(reports)-1]}, reports[:len(reports)-1]...)
	for _, rp := range newestFirst {
		for _, row := range rp.Summary {
			if k := (key{row.Workload, row.Impl}); !listed[k] {
				listed[k] = true
				order = append(order, k)
			}
		}
	}
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("Median of %d runs [each run's figure]: %s.\n\n", len(reports), strings.Join(names, ", "))
	p("| Workload | Impl |")
	for _, c := range runsColumns {
		p(" %s |", c.header)
	}
	p("\n|---|---|%s\n", strings.Repeat("---|", len(runsColumns)))
	for _, k := range order {
		if k.impl == baseline {
			continue
		}
		p("| %s | %s |", k.workload, k.impl)
		for _, c := range runsColumns {
			var got []float64
			each := make([]string, len(reports))
			of := k
			if c.ofBaseline {
				of.impl = baseline
			}
			for i := range reports {
				each[i] = "—"
				if v, ok := c.figure(rows[i][of]); ok {
					got = append(got, v)
					each[i] = strings.TrimSuffix(c.format(v), "×")
				}
			}
			if len(got) == 0 {
				p(" — |")
				continue
			}
			p(" %s [%s] |", c.format(median(got)), strings.Join(each, "/"))
		}
		p("\n")
	}
	return b.String()
}
