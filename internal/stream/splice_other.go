//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package stream

import "golang.org/x/sys/unix"

// spliceFrom is Linux's: elsewhere the caller copies from a socket.
func (s *Stream) spliceFrom(int, int64, func() error, func(int)) (int64, error) {
	return 0, unix.EINVAL
}
