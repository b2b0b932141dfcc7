package ringnet

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

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
)

// The probe's verdict, kept once there is one. A probe that ran out of
// file descriptors (EMFILE, ENFILE) has none: it says nothing about
// io_uring, so the next call probes again rather than the process giving
// up on io_uring for good.
var (
	probeMu sync.Mutex
	probed  atomic.Pointer[probeVerdict]
)

type probeVerdict struct{ err error }

// probeIOURing tests whether io_uring can run here, once per process once
// it has a verdict: nil, or why not. undecided is set instead when the
// probe ran out of descriptors: the cause (an os.SyscallError or errno),
// for the caller to fail with.
func probeIOURing() (verdict, undecided error) {
	if v := probed.Load(); v != nil {
		return v.err, nil
	}
	probeMu.Lock()
	defer probeMu.Unlock()
	if v := probed.Load(); v != nil {
		return v.err, nil
	}
	var err error
	if ioURing == nil {
		err = errors.New("io_uring exists only on Linux")
	} else {
		err = probeKernel()
	}
	if cause := outOfFDs(err); cause != nil {
		return nil, cause
	}
	probed.Store(&probeVerdict{err})
	return err, nil
}

// outOfFDs returns the cause of err if it is a want of file descriptors,
// else nil.
func outOfFDs(err error) error {
	if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
		return nil
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, syscall.EMFILE) {
		return syscall.EMFILE
	}
	return syscall.ENFILE
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
		b, _, err := autoBackend()
		return b, err
	case "io_uring":
		verdict, undecided := probeIOURing()
		switch {
		case undecided != nil:
			return nil, undecided
		case verdict != nil:
			return nil, fmt.Errorf("ringnet: backend io_uring was asked for but cannot run: %w", verdict)
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
// poll loop, else none. The reason says why io_uring was not chosen. err
// is the probe's want of descriptors, when it could not decide: the caller
// fails as it would have failed making its socket.
func autoBackend() (b *backend.Backend, reason string, err error) {
	verdict, undecided := probeIOURing()
	switch {
	case undecided != nil:
		return nil, "", undecided
	case verdict == nil:
		return ioURing, "", nil
	case pollBackend != nil:
		return pollBackend, verdict.Error(), nil
	}
	return nil, verdict.Error() + "; no poll loop on this platform either: the net package serves", nil
}

// Backend reports the backend that serves listeners and connections made
// without an explicit choice: "io_uring", "poll", or "net" where no loop
// can run and the net package serves. It follows RINGNET_BACKEND; an
// invalid value reports "invalid" (and Listen reports the error). Before
// the first Listen or Dial it probes io_uring; if the process is out of
// file descriptors then, it reports "undecided" (BackendReason says why),
// and the next call probes again.
func Backend() string {
	b, err := pickBackend("")
	switch {
	case err != nil && outOfFDs(err) != nil:
		return "undecided"
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
		_, reason, err := autoBackend()
		if err != nil {
			return "io_uring not probed yet: " + err.Error()
		}
		return reason
	case "io_uring":
		verdict, undecided := probeIOURing()
		switch {
		case undecided != nil:
			return "io_uring not probed yet: " + undecided.Error()
		case verdict != nil:
			return verdict.Error()
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
