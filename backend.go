package ringnet

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/ringnet/ringnet/internal/backend"
)

// BackendEnv is the environment variable that picks the backend for the
// whole process: "io_uring", "poll" or "auto" (the default). A
// ListenConfig or Dialer with its own Backend field overrides it.
const BackendEnv = "RINGNET_BACKEND"

// Registered per platform (backends_*.go): nil where a backend does not
// exist.
var (
	ioURing     *backend.Backend
	pollBackend *backend.Backend
	probeOnce   sync.Once
	probeErr    error
)

// probeIOURing tests once per process whether io_uring can run here.
func probeIOURing() error {
	probeOnce.Do(func() {
		if ioURing == nil {
			probeErr = errors.New("io_uring exists only on Linux")
			return
		}
		probeErr = probeKernel()
	})
	return probeErr
}

// errNoBackend is reported by pickBackend for an explicit choice that has
// no implementation on this platform.
var errNoBackend = errors.ErrUnsupported

// pickBackend returns the backend for a ListenConfig or Dialer whose
// Backend field is name. A nil backend (with a nil error) means that no
// loop can run on this platform: the net package then serves.
func pickBackend(name string) (*backend.Backend, error) {
	if name == "" {
		name = os.Getenv(BackendEnv)
	}
	switch name {
	case "", "auto":
		b, _ := autoBackend()
		return b, nil
	case "io_uring":
		if err := probeIOURing(); err != nil {
			return nil, fmt.Errorf("ringnet: backend io_uring was asked for but cannot run: %w", err)
		}
		return ioURing, nil
	case "poll":
		if pollBackend == nil {
			return nil, fmt.Errorf("ringnet: backend poll: %w on this platform", errNoBackend)
		}
		return pollBackend, nil
	}
	return nil, fmt.Errorf("ringnet: %s=%q: want io_uring, poll or auto", BackendEnv, name)
}

// autoBackend is the automatic choice: io_uring where it runs, else the
// poll loop, else none. The reason says why io_uring was not chosen.
func autoBackend() (b *backend.Backend, reason string) {
	err := probeIOURing()
	switch {
	case err == nil:
		return ioURing, ""
	case pollBackend != nil:
		return pollBackend, err.Error()
	}
	return nil, err.Error() + "; no poll loop on this platform either: the net package serves"
}

// Backend reports the backend that serves listeners and connections made
// without an explicit choice: "io_uring", "poll", or "net" where no loop
// can run and the net package serves. It follows RINGNET_BACKEND; an
// invalid value reports "invalid" (and Listen reports the error).
func Backend() string {
	b, err := pickBackend("")
	switch {
	case err != nil:
		return "invalid"
	case b == nil:
		return "net"
	}
	return b.Name
}

// BackendReason says why the io_uring backend is not the one in use: the
// probe's error (io_uring_setup refused with ENOSYS or EPERM, a missing
// opcode, a failed buffer-ring registration...), or that RINGNET_BACKEND
// asked for another. It is empty when io_uring serves.
func BackendReason() string {
	name := os.Getenv(BackendEnv)
	switch name {
	case "", "auto":
		_, reason := autoBackend()
		return reason
	case "io_uring":
		if err := probeIOURing(); err != nil {
			return err.Error()
		}
		return ""
	}
	return BackendEnv + "=" + name
}

// Stats returns the counters of every running event loop, of every
// backend.
func Stats() []LoopStats {
	var out []LoopStats
	for _, b := range []*backend.Backend{ioURing, pollBackend} {
		if b != nil {
			out = append(out, b.Stats()...)
		}
	}
	return out
}

// LoopStats are the counters of one event loop at one moment.
type LoopStats = backend.Stats
