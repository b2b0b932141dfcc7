//go:build !linux

package main

import (
	"fmt"
	"os"
)

// main says what idlemem needs: it reads the resident memory of its
// server from /proc.
func main() {
	fmt.Fprintln(os.Stderr, "bench/idlemem: Linux only: it reads the server's memory from /proc")
	os.Exit(1)
}
