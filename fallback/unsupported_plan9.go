//go:build plan9

package fallback

import (
	"errors"
	"fmt"
	"runtime"
)

// ErrUnsupported is returned by Backend.Acquire: there are no sockets to
// poll here.
var ErrUnsupported = fmt.Errorf("ringnet/fallback: no readiness poller on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Backend stands in for the backend.Backend value of other systems.
// Package internal/backend does not build on plan9 (internal/stream uses
// syscall.EPIPE), so this value has the same field names but not its
// type: Backend.Name, Backend.Acquire(cfg) and Backend.Stats() read the
// same, and Acquire always fails with ErrUnsupported.
var Backend = struct {
	Name    string
	Acquire func(cfg any) (any, error)
	Stats   func() []any
}{
	Name:    "poll",
	Acquire: func(any) (any, error) { return nil, ErrUnsupported },
	Stats:   func() []any { return nil },
}

// WaitStopped returns at once: no loop ever runs here.
func WaitStopped() {}
