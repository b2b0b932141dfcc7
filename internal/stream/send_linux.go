//go:build linux

package stream

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendNonblock sends as much of b as the socket takes without blocking. A
// full socket is not an error: it returns the count sent so far.
//
// It calls send(2) (sendto with no address) rather than sendmsg(2): one
// buffer needs no msghdr or iovec for the kernel to copy in, which
// measured cheaper on the one-connection ping-pong.
func sendNonblock(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		p := b[n:]
		k, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
			unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
		switch errno {
		case 0:
			n += int(k)
		case unix.EINTR:
		case unix.EAGAIN:
			return n, nil
		default:
			return n, errno
		}
	}
	return n, nil
}
