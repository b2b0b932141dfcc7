//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly && !plan9

package fallback

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/ringnet/ringnet/internal/backend"
)

// ErrUnsupported is returned by Backend.Acquire where the package has no
// poller to run loops on (neither epoll nor kqueue).
var ErrUnsupported = fmt.Errorf("ringnet/fallback: no epoll or kqueue on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Backend is the readiness-polling backend; here it cannot run.
var Backend = backend.Backend{
	Name:    "poll",
	Acquire: func(backend.Config) (backend.Group, error) { return nil, ErrUnsupported },
	Stats:   func() []backend.Stats { return nil },
}

// WaitStopped returns at once: no loop ever runs here.
func WaitStopped() {}
