//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/dgram"
	"github.com/ringnet/ringnet/internal/sockaddr"
)

// ReadBatch reads up to len(ms) datagrams, as golang.org/x/net/ipv4's
// PacketConn.ReadBatch reads them with recvmmsg(2): it waits for one, then
// takes those already queued behind it without waiting, and fills each
// message's Buffers (in order), OOB, N, NN, Flags and Addr (a
// *net.UDPAddr). It takes them from the loop's queue, not from the socket:
// quic-go, which reads batches through a conn's own ReadBatch when it has
// one (else through ipv4.NewPacketConn on the raw connection, behind the
// loop's back), reads this way. flags may be 0 or MSG_DONTWAIT (then it
// returns EAGAIN when nothing is queued); errors read as ipv4's do on a
// *net.UDPConn.
func (c *UDPConn) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	if flags&^unix.MSG_DONTWAIT != 0 {
		return 0, c.batchErr(os.NewSyscallError("recvmmsg", syscall.EOPNOTSUPP))
	}
	opts := dgram.Options{}
	n, err := c.s.ReadBatch(len(ms), flags&unix.MSG_DONTWAIT != 0, func(i int, d *dgram.Datagram) {
		m := &ms[i]
		m.N, m.NN, m.Flags = d.CopyTo(m.Buffers, m.OOB, opts)
		m.Addr = batchAddr(d.From())
	})
	// With an error, n is -1 where ipv4's recvmmsg(2) returned it, as
	// ipv4 passes it on.
	switch {
	case err == nil:
		return n, nil
	case err == dgram.ErrClosed || err == os.ErrDeadlineExceeded:
		// ipv4 meets these in the raw connection's Read.
		return n, c.batchErr(c.opErr("raw-read", packetErr("", err)))
	}
	return n, c.batchErr(packetErr("recvmmsg", err))
}

// batchErr is ipv4's error for a failed ReadBatch.
func (c *UDPConn) batchErr(err error) error {
	return &net.OpError{Op: "read", Net: c.laddr.Network(), Source: c.laddr, Err: err}
}

// batchAddr is a datagram's source as ipv4's ReadBatch gives it: a
// *net.UDPAddr of the sockaddr's own family.
func batchAddr(a *sockaddr.Addr) net.Addr {
	switch a.Family {
	case sockaddr.Inet4:
		ip := make(net.IP, net.IPv4len)
		copy(ip, a.IP[:4])
		return &net.UDPAddr{IP: ip, Port: int(a.Port)}
	case sockaddr.Inet6:
		ip := make(net.IP, net.IPv6len)
		copy(ip, a.IP[:])
		return &net.UDPAddr{IP: ip, Port: int(a.Port), Zone: zoneName(int(a.Zone))}
	}
	return nil
}
