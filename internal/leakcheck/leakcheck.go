// Package leakcheck is the check that every test package's TestMain runs
// once its tests have passed: the package's own conditions (its loops idle,
// then stopped), then that no goroutine the tests started is left (goleak)
// and that the process holds no more file descriptors than before them.
//
// What it owns: the counting, the retrying and the report. What it must
// never touch: library code imports it nowhere; only tests do.
package leakcheck

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Config is what one package checks beyond goroutines and descriptors.
type Config struct {
	// Name prefixes every report ("loop TestMain: ...").
	Name string
	// FDSlack is how many more descriptors the process may hold after the
	// tests than before them.
	FDSlack int
	// Checks run first, in order; each returns what it found left over.
	Checks []func() error
}

// Main runs m's tests and, if they passed, cfg's checks, then the goroutine
// and descriptor checks; it exits the process with the tests' code, or 1 if
// a check failed.
func Main(m *testing.M, cfg Config) {
	primeNetpoller()
	before := CountFDs()
	code := m.Run()
	if code == 0 {
		checks := append(append([]func() error(nil), cfg.Checks...),
			checkGoroutines,
			func() error { return CheckFDs(before, cfg.FDSlack) })
		for _, check := range checks {
			if err := check(); err != nil {
				fmt.Fprintf(os.Stderr, "%s TestMain: %v\n", cfg.Name, err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Within calls check until it returns nil or d has passed, and returns its
// last result: what the tests left behind may wind down asynchronously.
func Within(d time.Duration, check func() error) error {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// primeNetpoller makes the runtime open the descriptors it keeps for the
// process's lifetime (the netpoller's), so that the count taken before the
// tests compares with the one after.
func primeNetpoller() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return
	}
	defer ln.Close()
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		if s, err := ln.Accept(); err == nil {
			s.Close()
		}
		c.Close()
	}
}

// checkGoroutines is goleak's check, retried for longer than goleak does:
// net/http and the loops wind down asynchronously.
func checkGoroutines() error {
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if err = goleak.Find(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("goroutines outlive the tests: %w", err)
}

// fdDir lists the process's open descriptors, where the system has one.
func fdDir() string {
	if runtime.GOOS == "linux" {
		return "/proc/self/fd"
	}
	return "/dev/fd"
}

// CountFDs returns how many descriptors the process holds, or -1 where they
// cannot be listed.
func CountFDs() int {
	ents, err := os.ReadDir(fdDir())
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the descriptor of the directory being read
}

// fdWait is how long CheckFDs waits for descriptors to be closed.
var fdWait = 5 * time.Second

// CheckFDs waits a little for descriptors closed asynchronously (garbage
// collecting forgotten *os.File), then reports whether the process holds
// more than before the tests, listing what it holds.
func CheckFDs(before, slack int) error {
	if before < 0 {
		return nil
	}
	var after int
	for deadline := time.Now().Add(fdWait); ; time.Sleep(50 * time.Millisecond) {
		runtime.GC()
		after = CountFDs()
		if after <= before+slack || time.Now().After(deadline) {
			break
		}
	}
	if after <= before+slack {
		return nil
	}
	ents, _ := os.ReadDir(fdDir())
	var sb strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink(fdDir() + "/" + e.Name())
		fmt.Fprintf(&sb, "  fd %s -> %s\n", e.Name(), target)
	}
	return fmt.Errorf("file descriptors leaked: %d open before the tests, %d after (slack %d):\n%s",
		before, after, slack, sb.String())
}
