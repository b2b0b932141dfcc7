//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/dgram"
	"github.com/ringnet/ringnet/internal/sockaddr"
)

// packetIO is a loop's datagram I/O here: one recvmsg(2) or sendmsg(2) per
// datagram (darwin has no recvmmsg; the BSDs' are left unused so that one
// code path serves them all). Allocated when the loop's first datagram
// socket arrives.
type packetIO struct {
	data    []byte
	ctl     []byte
	n, ctln int
	flags   int
	from    sockaddr.Addr
	sent    int
}

const maxDatagram = 65535

const ctlSpace = 1280 // dgram.Options.ControlSpace of a Unix socket, the larger

func newPacketIO(cfg Config) *packetIO {
	return &packetIO{data: make([]byte, max(cfg.BufferSize, maxDatagram)), ctl: make([]byte, ctlSpace)}
}

func (p *packetIO) batch() int { return 1 }

// recv receives one datagram from fd without blocking.
func (p *packetIO) recv(fd int, unixSock bool) (int, error) {
	flags := unix.MSG_DONTWAIT
	if unixSock {
		flags |= msgCmsgCloexec
	}
	n, oobn, rflags, from, err := unix.Recvmsg(fd, p.data, p.ctl, flags)
	if err != nil {
		return 0, err
	}
	p.n, p.ctln, p.flags, p.from = n, oobn, rflags, sockaddr.FromSockaddr(from)
	if unixSock && msgCmsgCloexec == 0 {
		setCloexecRights(p.ctl[:oobn])
	}
	return 1, nil
}

func (p *packetIO) received(int) (payload, ctl []byte, flags int, from *sockaddr.Addr) {
	return p.data[:p.n], p.ctl[:p.ctln], p.flags, &p.from
}

// send sends the first datagram of reqs without blocking.
func (p *packetIO) send(fd int, reqs []*dgram.Send) (int, error) {
	r := reqs[0]
	var sa unix.Sockaddr
	if to := r.To(); to != nil {
		sa = to.Sockaddr()
	}
	n, err := unix.SendmsgN(fd, r.Buf, r.OOB, sa, unix.MSG_DONTWAIT|sendNoSignal)
	if err != nil {
		return 0, err
	}
	p.sent = n
	return 1, nil
}

func (p *packetIO) sentLen(int) int { return p.sent }

// setCloexecRights marks the descriptors received in SCM_RIGHTS messages
// close-on-exec, where recvmsg(2) has no MSG_CMSG_CLOEXEC (darwin): a
// fork meanwhile may inherit them, as with net there.
func setCloexecRights(ctl []byte) {
	msgs, err := unix.ParseSocketControlMessage(ctl)
	if err != nil {
		return
	}
	for _, m := range msgs {
		if fds, err := unix.ParseUnixRights(&m); err == nil {
			for _, fd := range fds {
				unix.CloseOnExec(fd)
			}
		}
	}
}
