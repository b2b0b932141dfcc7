// Package backend is the contract between ringnet's public API and the
// event-loop implementations behind it: loop/ (io_uring) and fallback/
// (readiness polling). The root package talks to a backend only through
// these interfaces, so it holds no backend-specific code.
//
// It owns no state and never touches a socket.
package backend

import (
	"context"
	"runtime"
	"syscall"
	"time"

	"github.com/ringnet/ringnet/internal/dgram"
	"github.com/ringnet/ringnet/internal/stream"
)

// Config is the shape of a group of loops. The zero value means each
// backend's defaults; fields a backend has no use for are ignored.
type Config struct {
	Loops       int    // event loops; 0 means DefaultLoops
	RingEntries uint32 // io_uring submission queue entries per ring
	Buffers     uint16 // io_uring provided buffers per loop, a power of two
	BufferSize  int    // bytes per provided buffer (io_uring) or read scratch buffer (poll)
}

// DefaultLoops is the number of loops of a group whose Config.Loops is
// zero, for this process now: LoopsFor(runtime.GOMAXPROCS(0),
// runtime.NumCPU()).
func DefaultLoops() int { return LoopsFor(runtime.GOMAXPROCS(0), runtime.NumCPU()) }

// LoopsFor is the default number of loops for gomaxprocs Ps on numCPU
// CPUs (runtime.NumCPU: those this process may run on): one per P that
// has a CPU of its own, min(gomaxprocs, numCPU), and at least one.
//
// A loop beyond the CPUs cannot run beside the others; it only splits
// their connections into smaller batches, each with its own sleeps and
// wake-ups, and each carries a ring and its buffers. GOMAXPROCS is above
// the CPU count only when set so by hand (since Go 1.25 its default
// follows the CPU limit of the process's cgroup, which NumCPU does not).
// Measured on 2 CPUs with GOMAXPROCS=64 (net/http hello, wrk -c1000;
// docs/bench.md, "Big machines"): 64 io_uring loops peaked at 2.2× the
// stdlib's RSS, 2 loops at about 1.0×.
func LoopsFor(gomaxprocs, numCPU int) int { return max(1, min(gomaxprocs, numCPU)) }

// Group is a running set of event loops. It lives while it has users: a
// caller of Acquire, a Listener or a connection.
type Group interface {
	// Listen starts accepting on the listening socket fd, which the
	// Listener then owns.
	Listen(fd int) Listener
	// Adopt hands a connected socket to one of the loops; the returned
	// stream owns fd.
	Adopt(fd int) *stream.Stream
	// Connect connects the non-blocking socket fd to sa through one of
	// the loops (IORING_OP_CONNECT on io_uring, writable readiness on
	// poll) and, once connected, adopts it there. It returns the
	// connection's stream, which then owns fd; or the syscall.Errno the
	// connect failed with, or ctx.Err() once ctx is done, and fd stays
	// the caller's.
	Connect(ctx context.Context, fd int, sa syscall.Sockaddr) (*stream.Stream, error)
	// AdoptPacket hands a datagram socket (UDP or Unix datagram) to one
	// of the loops, which receives and sends for it from then on; the
	// returned socket owns fd. If the loop cannot take it (its poller
	// refuses the fd), it returns the syscall.Errno and fd stays the
	// caller's.
	AdoptPacket(fd int, o dgram.Options) (*dgram.Socket, error)
	// Release drops the caller's reference from Acquire.
	Release()
}

// FileSender is implemented by the loop side of a connection (its
// stream's Kicker) when the backend moves file bytes to the socket itself,
// without user-space copies: io_uring splices them through a pipe on the
// ring. The root package uses it for ReadFrom, between the stream's
// LockSend and UnlockSend.
type FileSender interface {
	// SendFile moves up to n bytes (n < 0: to the end) of the regular
	// file src, from and advancing its offset, to the socket. It blocks
	// until done, the write deadline or Close, and returns the bytes
	// sent: the file offset then stands just past them. Errors are a
	// syscall.Errno, os.ErrDeadlineExceeded or stream.ErrClosed.
	SendFile(src int, n int64) (int64, error)
}

// Listener accepts connections on one listening socket.
type Listener interface {
	// Accept returns the next connection's stream and its peer's
	// address as the accept reported it (nil when the backend did not
	// learn it: the caller asks the socket), or a syscall.Errno from a
	// failed accept, stream.ErrClosed after Close, or
	// os.ErrDeadlineExceeded.
	Accept() (*stream.Stream, syscall.Sockaddr, error)
	// SetDeadline sets the deadline of Accept.
	SetDeadline(t time.Time)
	// Close stops accepting and closes the socket; a second Close returns
	// stream.ErrClosed.
	Close() error
	// WithFD runs f on the listening socket (for socket options and
	// File) while it is open, or returns stream.ErrClosed once Close has
	// closed it.
	WithFD(f func(fd int) error) error
}

// Backend is one implementation.
type Backend struct {
	// Name is "io_uring" or "poll".
	Name string
	// Acquire starts (or joins) the group of loops for cfg; the caller
	// owns one reference.
	Acquire func(cfg Config) (Group, error)
	// Stats returns the counters of every running loop.
	Stats func() []Stats
	// ProbePackets reports whether the backend can serve datagram
	// sockets on this system (nil), or why not; it probes once. A nil
	// ProbePackets means it always can.
	ProbePackets func() error
}

// Stats are one loop's counters at one moment. Fields a backend does not
// have stay zero.
type Stats struct {
	Backend        string
	Loop           int
	Conns          int64  // connections and datagram sockets owned now
	Accepts        uint64 // connections this loop accepted from the kernel (io_uring loops keep them; poll spreads them over the loops, and Conns is who owns them)
	AcceptErrors   uint64 // accepts that failed (EMFILE...)
	Connects       uint64 // outgoing connects the loop carried out (dials)
	ZeroCopyBytes  uint64 // bytes ReadFrom moved to sockets without user-space copies (sendfile(2) or splice(2))
	SQEs           uint64 // io_uring submission entries submitted
	CQEs           uint64 // io_uring completions reaped
	Enters         uint64 // io_uring_enter calls
	Polls          uint64 // epoll_wait/kevent calls that blocked (poll backend)
	Sleeps         uint64 // times the loop parked waiting
	Yields         uint64 // times a loop pass let the readers it fed run before going on (io_uring)
	SoloHandoffs   uint64 // times a loop's only connection had its receiving handed to its reader (again after a second connection left, or a bulk transfer ended)
	WakesWritten   uint64 // wake fd writes by producers that found the loop asleep
	WakesCoalesced uint64 // producer notifications that found it awake and wrote nothing
	BuffersInUse   int64  // provided buffers held by completions not yet recycled
	Buffers        int    // provided buffers the ring has room for (io_uring)
	BuffersOut     int    // provided buffers the kernel holds now: the ring provides more as receives run out (io_uring)
	Trims          uint64 // times the loop gave its receive buffers' pages back after going idle
	BytesIn        uint64 // bytes received
	RecvPauses     uint64 // receives paused at the high-water mark
	NoBufs         uint64 // receives that ran out of provided buffers
	DatagramsIn    uint64 // datagrams received
	DatagramsOut   uint64 // datagrams sent by the loop (not those a writer sent itself)
}

// Connected is the outcome of a connect a loop carried out: the adopted
// connection's stream, or the syscall.Errno the connect failed with
// (ECANCELED when a cancel stopped it).
type Connected struct {
	Stream *stream.Stream
	Err    error
}

// AwaitConnect waits for a connect's outcome on done (buffered, sent to
// exactly once). If ctx ends first it calls cancel and still waits, so that
// no operation refers to the socket when it returns: a cancelled connect
// then reports ctx.Err(); one that completed before the cancel reached it
// keeps its own outcome.
func AwaitConnect(ctx context.Context, done <-chan Connected, cancel func()) (*stream.Stream, error) {
	select {
	case r := <-done:
		return r.Stream, r.Err
	case <-ctx.Done():
	}
	cancel()
	r := <-done
	if r.Err == syscall.ECANCELED {
		return nil, ctx.Err()
	}
	return r.Stream, r.Err
}
