//go:build linux

package stream

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// fdWaiter is an eventfd a reader parks on in Go's netpoller. Waking it
// makes the reader runnable from the netpoller, which runs it on the thread
// that next looks for work (the loop's, when the loop parks right after),
// instead of readying it from the loop goroutine, which wakes an idle P's
// thread that then races the loop's thread for it.
type fdWaiter struct {
	f  *os.File
	rc syscall.RawConn
	fd int // f's descriptor (os.File.Fd would make it blocking)
}

func newFDWaiter() *fdWaiter {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), "eventfd")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil
	}
	return &fdWaiter{f: f, rc: rc, fd: fd}
}

// wait returns once ready reports true; ready is called first and then
// after every wake. The counter is never drained: every write (the loop's,
// PollerWaker.WakeReaderFD) is a new edge for the edge-triggered
// netpoller.
func (w *fdWaiter) wait(ready func(uintptr) bool) {
	if err := w.rc.Read(ready); err != nil {
		// interrupt: clear its deadline for the next wait. The waker
		// changed the stream's state before interrupting, and the
		// reader looks at that state next.
		_ = w.f.SetReadDeadline(time.Time{})
	}
}

// interrupt wakes the waiter without a system call: a deadline in the past
// makes Go's netpoller unblock it at once. For wake-ups from user
// goroutines (Close, SetReadDeadline), which net/http makes on every
// request (abortPendingRead); the loop's own go through the eventfd.
func (w *fdWaiter) interrupt() {
	_ = w.f.SetReadDeadline(aLongTimeAgo)
}

var aLongTimeAgo = time.Unix(1, 0)

func (w *fdWaiter) close() { _ = w.f.Close() }
