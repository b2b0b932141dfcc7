//go:build linux

package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDerive(t *testing.T) {
	tests := []struct {
		name string
		kind kind
		r    runResult
		want map[string]float64
	}{
		{"load", wrkLoad, runResult{Ops: 1000, Rate: 500, P50us: 10, P99us: 90, CPUus: 2000, PeakKiB: 20 << 10,
			Perf: map[string]uint64{evSyscalls: 3000, evEnters: 100, evSwitches: 50}},
			map[string]float64{mThroughput: 500, mP50: 10, mP99: 90, mCPU: 2, mPeakRSS: 20,
				mSyscalls: 3, mEnters: 0.1, mSwitches: 0.05}},
		{"load then idle", wrkLoad, runResult{Ops: 100, Rate: 50, CPUus: 100, PeakKiB: 64 << 10,
			IdleSecs: 10, IdleCPUus: 5000, IdleRuns: 300, IdleRSSKiB: 32 << 10, Loops: 64},
			map[string]float64{mThroughput: 50, mP50: 0, mP99: 0, mCPU: 1, mPeakRSS: 64,
				mIdleRSS: 32, mIdleCPU: 0.5, mIdleWakes: 30, mLoops: 64}},
		{"idle connections", idleLoad, runResult{Ops: 10, CPUus: 50, RSSKiB: [2]int64{1000, 1080}},
			map[string]float64{mRSS: 8, mCPU: 5}},
		{"failed", wrkLoad, runResult{Ops: 10, Error: "boom"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.derive(tt.kind)
			assert.Equal(t, tt.want, tt.r.Metrics)
		})
	}
}

func TestProcStat(t *testing.T) {
	pid := os.Getpid()
	rss, err := vmRSS(pid)
	require.NoError(t, err)
	peak, err := vmHWM(pid)
	require.NoError(t, err)
	assert.Positive(t, rss)
	assert.GreaterOrEqual(t, peak, rss, "the peak is at least the current RSS")

	cpu, runs, err := schedTotals(pid)
	require.NoError(t, err)
	assert.Positive(t, cpu)
	assert.Positive(t, runs)
	ticks, err := cpuTime(pid)
	require.NoError(t, err)
	assert.InDelta(t, ticks.Seconds(), cpu.Seconds(), 0.05+ticks.Seconds()*0.2, "schedstat and stat agree, to stat's ticks")

	_, _, err = schedTotals(1 << 30)
	assert.Error(t, err, "no such process")
	_, err = statusKiB(pid, "NoSuchField")
	assert.Error(t, err)
}
