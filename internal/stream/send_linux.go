//go:build linux

package stream

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendOnce makes one non-blocking send of p, which may be empty.
//
// It calls send(2) (sendto with no address) rather than sendmsg(2): one
// buffer needs no msghdr or iovec for the kernel to copy in, which
// measured cheaper on the one-connection ping-pong.
func sendOnce(fd int, p []byte) (int, error) {
	k, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		unix.MSG_DONTWAIT|sendNoSignal, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(k), nil
}
