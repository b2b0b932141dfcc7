//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSplice(t *testing.T) {
	block := beginMarker + "\nnew table\n" + endMarker + "\n"
	design := designHeading + "\n\nhand-written findings\n"
	tests := []struct {
		name, doc, want string
	}{
		{"replaces between markers",
			"# B\n\nintro\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\n" + design,
			"# B\n\nintro\n\n" + block + "\n" + design},
		{"inserts before design experiments",
			"# B\n\nintro\n\n" + design,
			"# B\n\nintro\n\n" + block + "\n" + design},
		{"appends without markers or design section",
			"# B\n\nintro\n",
			"# B\n\nintro\n\n" + block},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, splice(tt.doc, block, beginMarker, endMarker))
		})
	}
	t.Run("new file gets a title", func(t *testing.T) {
		got := splice("", block, beginMarker, endMarker)
		assert.True(t, strings.HasPrefix(got, "# "))
		assert.True(t, strings.HasSuffix(got, block))
	})
}

// summaryWith is a summary row of ringnet on w that measured metrics.
func summaryWith(w string, metrics ...string) summaryRow {
	row := summaryRow{Workload: w, Impl: "ringnet", Runs: 1, OK: 1, Cells: map[string]cell{}}
	for _, m := range metrics {
		row.Cells[m] = cell{Value: 1}
	}
	return row
}

func TestReportColumns(t *testing.T) {
	headers := func(rp *report) []string {
		var out []string
		for _, c := range rp.columns() {
			out = append(out, c.header)
		}
		return out
	}
	tests := []struct {
		name string
		rp   report
		want []string
	}{
		{"only what some row measured", report{Summary: []summaryRow{
			summaryWith("http-c50", mThroughput, mP50, mCPU, mSyscalls, mPeakRSS),
			summaryWith("idle-10k", mCPU, mRSS),
		}}, []string{"p50", "CPU µs/op", "syscalls/op", "RSS KiB/conn", "peak RSS MiB"}},
		{"syscalls n/a without perf", report{PerfNote: "perf not installed", Summary: []summaryRow{
			summaryWith("h2-c10x10", mThroughput, mCPU),
		}}, []string{"CPU µs/op", "syscalls/op"}},
		{"big machine", report{Big: true, Summary: []summaryRow{
			summaryWith("http-c1000-procs64", mThroughput, mCPU, mPeakRSS, mIdleRSS, mIdleCPU, mIdleWakes, mLoops),
		}}, []string{"CPU µs/op", "peak RSS MiB", "idle RSS MiB", "idle CPU ms/s", "idle wake-ups/s", "loops"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, headers(&tt.rp))
		})
	}
}

func TestMarkdownSections(t *testing.T) {
	// The full run and the big-machine run each replace only their own
	// part of bench.md.
	full := &report{Summary: []summaryRow{summaryWith("http-c50", mThroughput, mCPU)}}
	big := &report{Big: true, Summary: []summaryRow{summaryWith("http-c1000-procs64", mThroughput, mIdleRSS)}}
	doc := "# B\n\n" + beginMarker + "\nold full\n" + endMarker + "\n\n## Big\n\n" + bigBeginMarker + "\nold big\n" + bigEndMarker + "\n"

	b1, e1 := full.markers()
	doc = splice(doc, full.markdown(), b1, e1)
	assert.NotContains(t, doc, "old full")
	assert.Contains(t, doc, "old big")
	b2, e2 := big.markers()
	doc = splice(doc, big.markdown(), b2, e2)
	assert.NotContains(t, doc, "old big")
	assert.Contains(t, doc, "| http-c50 | ringnet |")
	assert.Contains(t, doc, "| http-c1000-procs64 | ringnet |")
	assert.Equal(t, 1, strings.Count(doc, beginMarker))
	assert.Equal(t, 1, strings.Count(doc, bigBeginMarker))
	assert.Less(t, strings.Index(doc, endMarker), strings.Index(doc, "## Big"), "the full table stays before the big section")
}

func TestMarkdownValueOnly(t *testing.T) {
	// Idle CPU and wake-ups are shown without a ratio; peak RSS with one.
	rp := &report{Big: true, Summary: []summaryRow{
		{Workload: "w", Impl: baseline, Runs: 1, OK: 1, Cells: map[string]cell{
			mIdleCPU: {Value: 0.002, Ratio: 1, HasRatio: true}, mPeakRSS: {Value: 60, Ratio: 1, HasRatio: true}}},
		{Workload: "w", Impl: "ringnet", Runs: 1, OK: 1, Cells: map[string]cell{
			mIdleCPU: {Value: 0.04, Ratio: 20, HasRatio: true}, mPeakRSS: {Value: 120, Ratio: 2, HasRatio: true}}},
	}}
	md := rp.markdown()
	assert.Contains(t, md, "| w | ringnet | 1/1 | — | — | 120 (2.00×) | 0.0400 |")
}
