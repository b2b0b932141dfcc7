//go:build !linux

package main

import (
	"fmt"
	"os"
)

// main says what the server needs: one of its listeners is go-uring's, and
// it asks the kernel to kill it with its parent (prctl).
func main() {
	fmt.Fprintln(os.Stderr, "bench/server: Linux only: it serves on io_uring listeners (ringnet's and go-uring's)")
	os.Exit(1)
}
