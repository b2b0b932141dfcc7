//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runReport is a report of one run with ringnet's throughput ratio thr and
// syscalls per op sc on workload w (the baseline row included).
// The baseline makes 3 syscalls per op.
func runReport(w string, thr, sc float64) report {
	return report{Summary: []summaryRow{
		{Workload: w, Impl: baseline, Runs: 1, OK: 1, Cells: map[string]cell{
			mThroughput: {Value: 100, Ratio: 1, HasRatio: true},
			mSyscalls:   {Value: 3, Ratio: 1, HasRatio: true},
		}},
		{Workload: w, Impl: "ringnet", Runs: 1, OK: 1, Cells: map[string]cell{
			mThroughput: {Value: 100 * thr, Ratio: thr, HasRatio: true},
			mSyscalls:   {Value: sc, Ratio: sc / 3, HasRatio: true},
		}},
	}}
}

func writeReport(t *testing.T, dir, name string, rp report) string {
	t.Helper()
	b, err := json.Marshal(rp)
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

// rowOf returns the table line of workload w and implementation im.
func rowOf(t *testing.T, table, w, im string) string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "| "+w+" | "+im+" |") {
			return line
		}
	}
	t.Fatalf("no row for %s / %s in:\n%s", w, im, table)
	return ""
}

func TestRunsTable(t *testing.T) {
	dir := t.TempDir()
	a := writeReport(t, dir, "a.json", runReport("http-c50", 1.10, 0.48))
	b := writeReport(t, dir, "b.json", runReport("http-c50", 1.40, 0.53))
	c := writeReport(t, dir, "c.json", runReport("http-c50", 1.20, 0.33))
	// A run that did not measure the workload counts as missing, not as zero.
	d := writeReport(t, dir, "d.json", runReport("echo", 2, 0.1))

	var out, errs bytes.Buffer
	require.Equal(t, 0, runsMain([]string{a, b, c, d}, &out, &errs), errs.String())
	table := out.String()

	row := rowOf(t, table, "http-c50", "ringnet")
	assert.Contains(t, row, "| 1.20× [1.10/1.40/1.20/—] |", "throughput: the median ratio, then each run's")
	assert.Contains(t, row, "| 0.480 [0.480/0.530/0.330/—] |", "syscalls: values, not ratios")
	assert.Contains(t, row, "| 3.00 [3.00/3.00/3.00/—] |", "the baseline's syscalls beside them")
	assert.Contains(t, row, "| — |", "p50 was measured by no run")
	cells := strings.Split(strings.Trim(row, "| "), " | ")
	require.Len(t, cells, 2+len(runsColumns), "workload, impl, then one cell per column")
	for i, c := range runsColumns {
		if c.metric == mP50 || c.metric == mP99 || c.metric == mCPU || c.metric == mRSS {
			assert.Equal(t, "—", cells[2+i], "%s: measured by no run", c.header)
		}
	}
	assert.Contains(t, rowOf(t, table, "echo", "ringnet"), "| 2.00× [—/—/—/2.00] |")
	assert.NotContains(t, table, "| http-c50 | "+baseline+" |", "the baseline's ratios are 1 by definition")
}

func TestRunsErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeReport(t, dir, "good.json", runReport("w", 1, 1))
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{"), 0o644))
	empty := writeReport(t, dir, "empty.json", report{})
	tests := []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"no files", nil, 2, "Usage: go run ./bench runs"},
		{"help", []string{"-h"}, 0, "Usage: go run ./bench runs"},
		{"missing file", []string{good, filepath.Join(dir, "none.json")}, 1, "none.json"},
		{"not JSON", []string{good, bad}, 1, "bad.json"},
		{"no summary", []string{empty}, 1, "no summary rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			assert.Equal(t, tt.code, runsMain(tt.args, &out, &errs))
			assert.Contains(t, errs.String(), tt.message)
			assert.Empty(t, out.String(), "nothing on stdout")
		})
	}
}

func TestRunsTableOrder(t *testing.T) {
	// An old run has two rows; the newest adds one between them. The
	// table lists rows in the newest run's order, then rows only older
	// runs have.
	dir := t.TempDir()
	old := runReport("http-c50", 1.1, 0.5)
	old.Summary = append(old.Summary, runReport("echo-128B-c50", 1.0, 0.2).Summary...)
	old.Summary = append(old.Summary, runReport("gone", 1.0, 0.2).Summary...)
	newer := runReport("http-c50", 1.2, 0.4)
	newer.Summary = append(newer.Summary, runReport("http-json-c50", 1.3, 0.3).Summary...)
	newer.Summary = append(newer.Summary, runReport("echo-128B-c50", 0.9, 0.2).Summary...)
	a := writeReport(t, dir, "a.json", old)
	b := writeReport(t, dir, "b.json", newer)

	var out, errs bytes.Buffer
	require.Equal(t, 0, runsMain([]string{a, b}, &out, &errs), errs.String())
	var order []string
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Split(line, " | "); len(f) > 2 && strings.HasPrefix(line, "| ") && f[1] == "ringnet" {
			order = append(order, strings.TrimPrefix(f[0], "| "))
		}
	}
	assert.Equal(t, []string{"http-c50", "http-json-c50", "echo-128B-c50", "gone"}, order)
}
