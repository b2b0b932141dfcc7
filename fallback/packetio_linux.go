//go:build linux

package fallback

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/dgram"
	"github.com/ringnet/ringnet/internal/sockaddr"
)

// packetBatch is how many datagrams one recvmmsg(2) or sendmmsg(2) of a
// loop moves at most.
const packetBatch = 8

// packetIO is a loop's datagram I/O: recvmmsg(2) into scratch buffers
// (one per datagram of a batch, each big enough for the largest UDP
// datagram, so none is cut short), sendmmsg(2) from the writers' own
// buffers. Allocated when the loop's first datagram socket arrives.
type packetIO struct {
	size  int // payload room per datagram
	data  []byte
	ctl   []byte
	names [packetBatch]unix.RawSockaddrAny
	iovs  [packetBatch]unix.Iovec
	hs    [packetBatch]unix.Mmsghdr
	from  [packetBatch]sockaddr.Addr
}

// maxDatagram is the payload room of a scratch buffer: a whole IPv4 or
// IPv6 UDP datagram (65,507 or 65,527 bytes), or BufferSize if larger
// (Unix datagrams can be).
const maxDatagram = 65535

const ctlSpace = 1280 // dgram.Options.ControlSpace of a Unix socket, the larger

func newPacketIO(cfg Config) *packetIO {
	p := &packetIO{size: max(cfg.BufferSize, maxDatagram)}
	p.data = make([]byte, packetBatch*p.size)
	p.ctl = make([]byte, packetBatch*ctlSpace)
	return p
}

func (p *packetIO) batch() int { return packetBatch }

// recv receives up to a batch of datagrams from fd without blocking and
// returns how many, or the error of the first (EAGAIN: none).
func (p *packetIO) recv(fd int, unixSock bool) (int, error) {
	for i := range p.hs {
		p.iovs[i].Base = &p.data[i*p.size]
		p.iovs[i].SetLen(p.size)
		h := &p.hs[i].Hdr
		*h = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&p.names[i])), Namelen: unix.SizeofSockaddrAny, Iov: &p.iovs[i],
			Control: &p.ctl[i*ctlSpace]}
		h.SetIovlen(1)
		h.SetControllen(ctlSpace)
		p.hs[i].Len = 0
	}
	flags := unix.MSG_DONTWAIT
	if unixSock {
		flags |= unix.MSG_CMSG_CLOEXEC
	}
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&p.hs[0])), packetBatch, uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// received returns the k-th datagram of the last recv.
func (p *packetIO) received(k int) (payload, ctl []byte, flags int, from *sockaddr.Addr) {
	h := &p.hs[k]
	n := min(int(h.Len), p.size)
	names := unsafe.Slice((*byte)(unsafe.Pointer(&p.names[k])), unix.SizeofSockaddrAny)
	p.from[k] = sockaddr.Parse(names[:min(int(h.Hdr.Namelen), unix.SizeofSockaddrAny)])
	return p.data[k*p.size : k*p.size+n], p.ctl[k*ctlSpace : k*ctlSpace+int(h.Hdr.Controllen)], int(h.Hdr.Flags), &p.from[k]
}

// send sends the datagrams of reqs, up to a batch, without blocking, and
// returns how many went (sentLen has their sizes) and the error of the
// next one (EAGAIN: the socket is full).
func (p *packetIO) send(fd int, reqs []*dgram.Send) (int, error) {
	n := min(len(reqs), packetBatch)
	for i, r := range reqs[:n] {
		h := &p.hs[i].Hdr
		*h = unix.Msghdr{}
		p.hs[i].Len = 0
		if to := r.To(); to != nil {
			l, err := to.Put(&p.names[i])
			if err != nil {
				if i == 0 {
					return 0, err
				}
				n = i // sent first; this one's error comes next
				break
			}
			h.Name = (*byte)(unsafe.Pointer(&p.names[i]))
			h.Namelen = l
		}
		if len(r.Buf) > 0 {
			p.iovs[i].Base = &r.Buf[0]
			p.iovs[i].SetLen(len(r.Buf))
			h.Iov = &p.iovs[i]
			h.SetIovlen(1)
		}
		if len(r.OOB) > 0 {
			h.Control = &r.OOB[0]
			h.SetControllen(len(r.OOB))
		}
	}
	k, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&p.hs[0])), uintptr(n),
		unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(k), nil
}

// sentLen returns the bytes the last send sent of its i-th datagram.
func (p *packetIO) sentLen(i int) int { return int(p.hs[i].Len) }
