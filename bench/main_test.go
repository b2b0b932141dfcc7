//go:build linux

package main

import (
	"testing"

	"github.com/ringnet/ringnet/internal/leakcheck"
)

// TestMain fails the package if a test leaves a goroutine behind or a
// descriptor open (internal/leakcheck).
func TestMain(m *testing.M) { leakcheck.Main(m, leakcheck.Config{Name: "bench"}) }
