//go:build linux

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{3}, 3},
		{"odd", []float64{5, 1, 3}, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"outlier", []float64{1, 1.1, 100}, 1.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			assert.InDelta(t, tt.want, median(tt.in), 1e-12)
			assert.Equal(t, in, tt.in, "median must not reorder its input")
		})
	}
}

// okRun is a successful run with the given throughput and p99.
func okRun(w, im string, rep int, thr, p99 float64) runResult {
	return runResult{Workload: w, Impl: im, Rep: rep, Metrics: map[string]float64{mThroughput: thr, mP99: p99}}
}

func TestSummarize(t *testing.T) {
	failed := runResult{Workload: "w", Impl: "ringnet", Rep: 3, Error: "boom"}
	runs := []runResult{
		okRun("w", baseline, 1, 100, 10), okRun("w", "ringnet", 1, 120, 5),
		okRun("w", baseline, 2, 50, 20), okRun("w", "ringnet", 2, 80, 30),
		okRun("w", baseline, 3, 200, 10), failed,
		// The baseline failed in repetition 4: no ratio from it.
		{Workload: "w", Impl: baseline, Rep: 4, Error: "down"}, okRun("w", "ringnet", 4, 1000, 1),
	}
	rows := summarize(runs, []string{"w"}, []string{baseline, "ringnet", "gouring"})
	require.Len(t, rows, 2, "gouring never ran and gets no row")

	base := rows[0]
	assert.Equal(t, baseline, base.Impl)
	assert.Equal(t, 4, base.Runs)
	assert.Equal(t, 3, base.OK)
	assert.Equal(t, []string{"down"}, base.Errors)
	assert.InDelta(t, 100, base.Cells[mThroughput].Value, 1e-12)
	assert.InDelta(t, 1, base.Cells[mThroughput].Ratio, 1e-12)

	rn := rows[1]
	assert.Equal(t, 4, rn.Runs)
	assert.Equal(t, 3, rn.OK)
	assert.Equal(t, []string{"boom"}, rn.Errors)
	// Values 120, 80, 1000; ratios 1.2 and 1.6 (repetitions 1 and 2 only).
	assert.InDelta(t, 120, rn.Cells[mThroughput].Value, 1e-12)
	assert.True(t, rn.Cells[mThroughput].HasRatio)
	assert.InDelta(t, 1.4, rn.Cells[mThroughput].Ratio, 1e-12)
	// p99 ratios 0.5 and 1.5: the median of ratios, not the ratio of medians.
	assert.InDelta(t, 1.0, rn.Cells[mP99].Ratio, 1e-12)
}

func TestSummarizeWithoutBaseline(t *testing.T) {
	rows := summarize([]runResult{okRun("w", "ringnet", 1, 10, 1)}, []string{"w"}, []string{"ringnet"})
	require.Len(t, rows, 1)
	assert.False(t, rows[0].Cells[mThroughput].HasRatio)
	assert.InDelta(t, 10, rows[0].Cells[mThroughput].Value, 1e-12)
}
