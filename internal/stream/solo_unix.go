//go:build unix

package stream

import (
	"os"

	"golang.org/x/sys/unix"
)

// dupFile returns a dup of socket fd as an *os.File registered with Go's
// netpoller (the socket is non-blocking, and the dup shares that flag).
func dupFile(fd int) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("fcntl", err)
	}
	return os.NewFile(uintptr(nfd), "ringnet-solo"), nil
}

// readOnce is one read(2) from fd into p.
func readOnce(fd int, p []byte) (int, error) {
	n, err := unix.Read(fd, p)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// recvNonblock is one recv(2) from fd into p that does not wait
// (MSG_DONTWAIT, whatever the descriptor's flags), retried on EINTR.
func recvNonblock(fd int, p []byte) (int, error) {
	for {
		n, _, err := unix.Recvfrom(fd, p, unix.MSG_DONTWAIT)
		if err != unix.EINTR {
			return n, err
		}
	}
}
