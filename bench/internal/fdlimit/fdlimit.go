//go:build linux

// Package fdlimit raises a process's open-file limit, so that the benchmark
// server and its load client can each hold 10,000 connections. It is
// Linux only, as the programs that use it are.
package fdlimit

import (
	"fmt"
	"syscall"
)

// Raise sets the soft RLIMIT_NOFILE to the hard limit and returns the new
// soft limit. It fails if that is still below want.
func Raise(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("setrlimit: %w", err)
		}
	}
	if lim.Cur < want {
		return lim.Cur, fmt.Errorf("open-file limit is %d, below the %d needed (raise the hard limit: ulimit -Hn)", lim.Cur, want)
	}
	return lim.Cur, nil
}
