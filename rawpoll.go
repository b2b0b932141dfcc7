//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// rawPollSlice bounds each poll(2) of a raw Read or Write: the fd stays
// locked open while it waits, so Close waits for the slice to end.
const rawPollSlice = 10 * time.Millisecond

// pollRaw is the body of a raw connection's Read or Write, for sockets a
// loop owns (Go's netpoller does not watch them): it calls f with the fd,
// which withFD lends while the socket is open, and while f reports false
// waits for events with poll(2), until f reports true or the deadline
// passes. As net does, a passed deadline fails the call before f runs
// and ends the wait after it. It returns nil, os.ErrDeadlineExceeded,
// what withFD returns for a closed socket, or poll's error as an
// *os.SyscallError.
func pollRaw(withFD func(func(int) error) error, events int16, deadline func() time.Time, f func(fd uintptr) bool) error {
	for {
		wait := rawPollSlice
		if dl := deadline(); !dl.IsZero() {
			left := time.Until(dl)
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			wait = min(wait, left)
		}
		done := false
		err := withFD(func(fd int) error {
			if f(uintptr(fd)) {
				done = true
				return nil
			}
			pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
			_, err := unix.Poll(pfd, int((wait+time.Millisecond-1)/time.Millisecond))
			if err == unix.EINTR {
				err = nil
			}
			return err
		})
		if err != nil {
			if errno, ok := err.(syscall.Errno); ok {
				err = os.NewSyscallError("poll", errno)
			}
			return err
		}
		if done {
			return nil
		}
	}
}
