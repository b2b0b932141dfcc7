//go:build unix && !linux

package dgram

import (
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/sockaddr"
)

// sendDirect makes one non-blocking sendmsg(2) of p with control data oob
// to to (nil: the connected peer).
func sendDirect(fd int, p, oob []byte, to *sockaddr.Addr) (int, error) {
	var sa unix.Sockaddr
	if to != nil {
		sa = to.Sockaddr()
	}
	for {
		n, err := unix.SendmsgN(fd, p, oob, sa, unix.MSG_DONTWAIT|sendNoSignal)
		if err == syscall.EINTR {
			continue
		}
		return n, err
	}
}
