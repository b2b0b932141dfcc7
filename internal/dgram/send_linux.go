//go:build linux

package dgram

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/sockaddr"
)

// sendDirect makes one non-blocking sendmsg(2) of p with control data oob
// to to (nil: the connected peer). It builds the msghdr on the stack: no
// allocation, no conversion through a unix.Sockaddr.
func sendDirect(fd int, p, oob []byte, to *sockaddr.Addr) (int, error) {
	var msg unix.Msghdr
	var iov unix.Iovec
	var raw unix.RawSockaddrAny
	if to != nil {
		l, err := to.Put(&raw)
		if err != nil {
			return 0, err
		}
		msg.Name = (*byte)(unsafe.Pointer(&raw))
		msg.Namelen = l
	}
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
		msg.Iov = &iov
		msg.SetIovlen(1)
	}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	for {
		n, _, errno := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		switch errno {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, errno
	}
}
