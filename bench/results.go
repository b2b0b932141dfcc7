//go:build linux

package main

import "time"

// runResult is one run: one workload against one implementation in one
// repetition, from its server's start to its stop.
type runResult struct {
	Workload string            `json:"workload"`
	Impl     string            `json:"impl"`
	Rep      int               `json:"rep"`
	Start    time.Time         `json:"start"`
	Error    string            `json:"error,omitempty"`   // the run failed and has no metrics
	Warning  string            `json:"warning,omitempty"` // the run counts, but something was off
	Ops      uint64            `json:"ops"`               // requests, messages or connections in the window
	Seconds  float64           `json:"seconds"`           // the window as the load generator measured it
	Rate     float64           `json:"rate,omitempty"`    // ops per second as the load generator reported it
	P50us    float64           `json:"p50_us,omitempty"`
	P99us    float64           `json:"p99_us,omitempty"`
	CPUus    float64           `json:"cpu_us"`                 // server CPU time in the window
	Perf     map[string]uint64 `json:"perf,omitempty"`         // perf stat counts in the window
	RSSKiB   [2]int64          `json:"rss_kib,omitzero"`       // server VmRSS before and after (idle)
	PeakKiB  int64             `json:"peak_rss_kib,omitempty"` // server VmHWM at the end of the load
	// After a load with an idle phase (the big-machine workloads): its
	// length, the CPU time of the server's threads over it and the times
	// they were put on a CPU, and its VmRSS at its end.
	IdleSecs   float64            `json:"idle_seconds,omitempty"`
	IdleCPUus  float64            `json:"idle_cpu_us,omitempty"`
	IdleRuns   uint64             `json:"idle_runs,omitempty"`
	IdleRSSKiB int64              `json:"idle_rss_kib,omitempty"`
	Loops      int                `json:"loops,omitempty"` // ringnet's running loops, where counted
	Metrics    map[string]float64 `json:"metrics,omitempty"`
}

// Metric keys: what the summary takes medians and ratios of.
const (
	mThroughput = "throughput_per_s"
	mP50        = "p50_us"
	mP99        = "p99_us"
	mCPU        = "cpu_us_per_op"
	mSyscalls   = "syscalls_per_op"
	mEnters     = "io_uring_enters_per_op"
	mSwitches   = "context_switches_per_op"
	mRSS        = "rss_kib_per_conn"
	mPeakRSS    = "peak_rss_mib"
	mIdleRSS    = "idle_rss_mib"
	mIdleCPU    = "idle_cpu_ms_per_s"
	mIdleWakes  = "idle_wakeups_per_s"
	mLoops      = "loops"
)

// warn adds a warning to the run.
func (r *runResult) warn(msg string) {
	if r.Warning != "" {
		msg = r.Warning + "; " + msg
	}
	r.Warning = msg
}

// derive fills r.Metrics from the raw measurements of a successful run.
func (r *runResult) derive(k kind) {
	if r.Error != "" || r.Ops == 0 {
		return
	}
	m := map[string]float64{}
	ops := float64(r.Ops)
	if k == idleLoad {
		m[mRSS] = float64(r.RSSKiB[1]-r.RSSKiB[0]) / ops
	} else {
		m[mThroughput], m[mP50], m[mP99] = r.Rate, r.P50us, r.P99us
	}
	m[mCPU] = r.CPUus / ops
	if r.PeakKiB > 0 {
		m[mPeakRSS] = float64(r.PeakKiB) / 1024
	}
	if r.IdleSecs > 0 {
		m[mIdleRSS] = float64(r.IdleRSSKiB) / 1024
		m[mIdleCPU] = r.IdleCPUus / 1e3 / r.IdleSecs
		m[mIdleWakes] = float64(r.IdleRuns) / r.IdleSecs
	}
	if r.Loops > 0 {
		m[mLoops] = float64(r.Loops)
	}
	for key, ev := range map[string]string{mSyscalls: evSyscalls, mEnters: evEnters, mSwitches: evSwitches} {
		if n, ok := r.Perf[ev]; ok {
			m[key] = float64(n) / ops
		}
	}
	r.Metrics = m
}
