//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package wake

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Kind selects the kind of wake file descriptor a [Handle] owns.
type Kind int

const (
	// Eventfd is an eventfd(2) created with EFD_NONBLOCK|EFD_CLOEXEC.
	// Wake adds 1 to its counter by writing a native-endian uint64 1.
	// It is supported on Linux only.
	Eventfd Kind = iota
	// Pipe is a pipe2(2) whose ends are both O_NONBLOCK|O_CLOEXEC.
	// Wake writes one byte to the write end; the loop reads the read end.
	Pipe
)

// String returns "eventfd" or "pipe" ("Kind(N)" for unknown values).
func (k Kind) String() string {
	switch k {
	case Eventfd:
		return "eventfd"
	case Pipe:
		return "pipe"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// closedBit is the closed flag in Handle.state; the low bits count the
// Wake and Drain calls currently using the descriptors.
const closedBit = uint64(1) << 63

// closeFD closes a descriptor. It is a variable so that tests can count
// closes.
var closeFD = unix.Close

// Handle owns the wake file descriptor(s) of one event loop. All methods are
// safe for concurrent use. A Handle must not be copied.
type Handle struct {
	// state is closedBit | number of in-flight Wake/Drain calls.
	state atomic.Uint64
	kind  Kind
	rfd   int    // eventfd, or pipe read end
	wfd   int    // eventfd, or pipe write end
	wbuf  []byte // what Wake writes; never modified
}

var (
	// eventfd(2) counters are host-endian uint64s.
	eventfdOne = binary.NativeEndian.AppendUint64(nil, 1)
	pipeByte   = []byte{1}
)

// New creates a Handle owning a new wake descriptor of the given kind.
// System call failures are returned as *[os.SyscallError] ("eventfd" or
// "pipe2"). New(Eventfd) on a system without eventfd returns an error
// wrapping [errors.ErrUnsupported].
func New(kind Kind) (*Handle, error) {
	h := &Handle{kind: kind}
	switch kind {
	case Eventfd:
		fd, err := newEventfd()
		if err != nil {
			return nil, err
		}
		h.rfd, h.wfd, h.wbuf = fd, fd, eventfdOne
	case Pipe:
		r, w, err := newPipe()
		if err != nil {
			return nil, err
		}
		h.rfd, h.wfd, h.wbuf = r, w, pipeByte
	default:
		return nil, fmt.Errorf("wake: invalid kind %v", kind)
	}
	return h, nil
}

// Kind reports the kind of descriptor h owns.
func (h *Handle) Kind() Kind { return h.kind }

// ReadFd returns the descriptor the loop waits on and reads: the eventfd
// itself, or the read end of the pipe. The descriptor belongs to h: callers
// must not close it and must stop using it before calling [Handle.Close].
// After Close, ReadFd returns -1.
func (h *Handle) ReadFd() int {
	if h.state.Load()&closedBit != 0 {
		return -1
	}
	return h.rfd
}

// Wake makes ReadFd readable. It never blocks, never panics and reports no
// error: if the descriptor is full (EAGAIN) a wake is already pending, which
// is all Wake needs. After Close, Wake does nothing; it never writes to a
// descriptor number that may have been reused.
func (h *Handle) Wake() {
	if h == nil || !h.acquire() {
		return
	}
	for {
		_, err := unix.Write(h.wfd, h.wbuf)
		if err != unix.EINTR {
			break
		}
	}
	h.release()
}

// Drain consumes all pending wakes without blocking and returns how many
// there were: the eventfd counter (one 8-byte read), or the number of bytes
// read from the pipe (64-byte reads until EAGAIN). It returns 0 and a nil
// error if nothing was pending. After Close it returns an error wrapping
// [net.ErrClosed].
//
// Drain is meant for loops built on readiness polling; io_uring loops read
// the eventfd through their ring instead.
func (h *Handle) Drain() (int, error) {
	if !h.acquire() {
		return 0, h.closedError("drain")
	}
	defer h.release()
	if h.kind == Eventfd {
		var b [8]byte
		for {
			n, err := unix.Read(h.rfd, b[:])
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return 0, nil
			case err != nil:
				return 0, os.NewSyscallError("read", err)
			case n != len(b):
				return 0, fmt.Errorf("wake: short eventfd read (%d bytes)", n)
			}
			v := binary.NativeEndian.Uint64(b[:])
			return int(min(v, math.MaxInt)), nil
		}
	}
	var b [64]byte
	total := 0
	for {
		n, err := unix.Read(h.rfd, b[:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return total, nil
		case err != nil:
			return total, os.NewSyscallError("read", err)
		case n == 0: // EOF; cannot happen while h holds the write end
			return total, nil
		}
		total += n
	}
}

// Carrier returns a non-owning [Carrier] for h.
func (h *Handle) Carrier() Carrier { return Carrier{h: h} }

// Close marks h closed. Later Wake calls do nothing and later Drain calls
// fail. The descriptors are closed exactly once: immediately if no Wake or
// Drain is in flight, otherwise by the last in-flight call when it returns
// (close errors are then discarded and Close returns nil). Closing an
// already closed Handle returns an error wrapping [net.ErrClosed].
func (h *Handle) Close() error {
	for {
		s := h.state.Load()
		if s&closedBit != 0 {
			return h.closedError("close")
		}
		if h.state.CompareAndSwap(s, s|closedBit) {
			if s == 0 {
				return h.closeFDs()
			}
			return nil
		}
	}
}

// acquire registers an in-flight user; it fails once h is closed.
func (h *Handle) acquire() bool {
	for {
		s := h.state.Load()
		if s&closedBit != 0 {
			return false
		}
		if h.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// release ends an in-flight use. The user that drops the count to zero
// after Close closes the descriptors. Since acquire never succeeds once the
// closed bit is set, the state can reach exactly closedBit only once.
func (h *Handle) release() {
	if h.state.Add(^uint64(0)) == closedBit {
		_ = h.closeFDs()
	}
}

func (h *Handle) closeFDs() error {
	err := closeFD(h.rfd)
	if h.wfd != h.rfd {
		if werr := closeFD(h.wfd); err == nil {
			err = werr
		}
	}
	if err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

func (h *Handle) closedError(op string) error {
	return fmt.Errorf("wake: %s %v handle: %w", op, h.kind, net.ErrClosed)
}

// Carrier is a non-owning reference to a [Handle]: a single pointer that can
// be copied freely into hot structures. The zero Carrier is valid to use and
// does nothing.
type Carrier struct {
	h *Handle
}

// Wake is the same as [Handle.Wake] on the Carrier's Handle; it does nothing
// on the zero Carrier.
func (c Carrier) Wake() {
	if c.h != nil {
		c.h.Wake()
	}
}

// Valid reports whether c refers to a Handle (it is false for the zero
// Carrier). A Carrier stays valid after its Handle is closed; Wake is then a
// no-op.
func (c Carrier) Valid() bool { return c.h != nil }
