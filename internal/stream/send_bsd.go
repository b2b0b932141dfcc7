//go:build unix && !linux

package stream

import "golang.org/x/sys/unix"

// sendOnce makes one non-blocking send of p, which may be empty.
func sendOnce(fd int, p []byte) (int, error) {
	return unix.SendmsgN(fd, p, nil, nil, unix.MSG_DONTWAIT|sendNoSignal)
}
