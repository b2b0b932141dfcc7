//go:build !linux

package main

import (
	"fmt"
	"os"
)

// main says what the harness needs: it measures ringnet's io_uring loops
// against the standard library and go-uring, reading /proc and running perf.
func main() {
	fmt.Fprintln(os.Stderr, "bench: Linux only: it benchmarks io_uring, reading /proc and running perf")
	os.Exit(1)
}
