// Package wake provides the cross-goroutine wake handle of a ringnet event
// loop.
//
// Each event loop sleeps in the kernel (on its io_uring, or on a readiness
// poller) when it has nothing to do. User goroutines that enqueue work for a
// loop must be able to wake it. A [Handle] owns the file descriptor(s) used
// for that and nothing else: an eventfd(2) counter ([Eventfd], Linux only) or
// a non-blocking pipe ([Pipe]). Producers call [Handle.Wake] (or the cheap,
// copyable [Carrier.Wake]) to make [Handle.ReadFd] readable; the loop waits on
// ReadFd and consumes pending wakes with [Handle.Drain], or reads the eventfd
// through its ring.
//
// [Signal] implements wake coalescing: a producer only writes the fd when the
// loop has announced that it is about to sleep, so a busy loop costs its
// producers no system calls.
//
// Ownership and limits:
//
//   - The package owns exactly the wake descriptors it creates in [New]. They
//     are closed exactly once, by [Handle.Close] or, if a Wake or Drain is
//     still in flight, by the last of those calls to return. After Close, no
//     method ever reads or writes the (possibly reused) descriptor numbers.
//   - The package must never touch sockets, io_uring instances, submission
//     or completion queues, or any descriptor it did not create. Registering
//     ReadFd with a ring or a poller is the loop's job; the loop must stop
//     using ReadFd before it calls Close.
//
// The package builds only on Unix-like systems; on other platforms (Windows)
// it is empty. Eventfd is available only on Linux; on other Unix systems
// New(Eventfd) returns an error wrapping [errors.ErrUnsupported].
package wake
