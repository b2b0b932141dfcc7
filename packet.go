//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/dgram"
	"github.com/ringnet/ringnet/internal/sockaddr"
)

// packetConn is what UDPConn and UnixConn share: a datagram socket served
// by an event loop, with the methods of net's conn type (Read, Write,
// Close, deadlines, buffers, SyscallConn, File), their errors included.
type packetConn struct {
	s         *dgram.Socket
	net       string
	laddr     net.Addr
	raddr     net.Addr
	family    sockaddr.Family
	connected bool // made by a dial: writes name no address
}

// UDPConn is a UDP socket served by an event loop. It has the methods of
// *net.UDPConn, with its errors, deadlines and close, and ReadBatch (see
// there). Received datagrams wait for ReadFrom in a queue the loop fills
// (io_uring: multishot receives in batches; poll: recvmmsg(2)); a write
// returns once its datagram is sent, or with the error that stopped it,
// as net's does.
type UDPConn struct{ packetConn }

// UnixConn is a Unix datagram socket ("unixgram") served by an event
// loop. It has the methods of *net.UnixConn, with its errors, deadlines
// and close; descriptors (SCM_RIGHTS) and credentials pass through
// ReadMsgUnix and WriteMsgUnix. Unix stream connections are *Conn.
type UnixConn struct{ packetConn }

var (
	_ net.PacketConn = (*UDPConn)(nil)
	_ net.Conn       = (*UDPConn)(nil)
	_ net.PacketConn = (*UnixConn)(nil)
	_ net.Conn       = (*UnixConn)(nil)
)

// servePacket moves a datagram socket made by the net package (a
// *net.UDPConn or *net.UnixConn) onto backend b: a duplicate of its fd goes
// to a loop, and nc is closed. connected says whether a dial made it. It
// returns a *UDPConn or a *UnixConn.
func servePacket(nc net.Conn, network string, b *backend.Backend, cfg config, connected bool) (net.Conn, error) {
	laddr, raddr := nc.LocalAddr(), nc.RemoteAddr()
	fd, err := dupFD(nc.(syscall.Conn))
	nc.Close()
	if err != nil {
		return nil, err
	}
	c := packetConn{net: network, laddr: laddr, raddr: raddr, connected: connected}
	switch sa, _ := unix.Getsockname(fd); sa.(type) {
	case *unix.SockaddrInet4:
		c.family = sockaddr.Inet4
	case *unix.SockaddrInet6:
		c.family = sockaddr.Inet6
	default:
		c.family = sockaddr.Unix
	}
	g, err := b.Acquire(cfg.backendConfig())
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	defer g.Release()
	c.s, err = g.AdoptPacket(fd, dgram.Options{Unix: c.family == sockaddr.Unix})
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	if c.family == sockaddr.Unix {
		return &UnixConn{c}, nil
	}
	return &UDPConn{c}, nil
}

// --- errors --------------------------------------------------------------

// packetErr gives an error of the socket the form net's internals give
// it: an errno wrapped in an *os.SyscallError named syscallName, the
// closed socket net.ErrClosed.
func packetErr(syscallName string, err error) error {
	if e, ok := err.(syscall.Errno); ok {
		return os.NewSyscallError(syscallName, e)
	}
	if err == dgram.ErrClosed {
		return net.ErrClosed
	}
	return err
}

// opErr wraps err, in the form net gives it, in a *net.OpError for op
// naming the socket's addresses, as net's conn methods do.
func (c *packetConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: c.net, Source: c.laddr, Addr: c.raddr, Err: err}
}

// writeErr is opErr for a write to addr (nil: none), which net names
// instead of the remote address.
func (c *packetConn) writeErr(addr net.Addr, err error) error {
	return &net.OpError{Op: "write", Net: c.net, Source: c.laddr, Addr: addr, Err: err}
}

// localOpErr is the error of the operations net reports against the
// local address alone (deadlines, buffer sizes).
func (c *packetConn) localOpErr(op string, err error) error {
	return &net.OpError{Op: op, Net: c.net, Addr: c.laddr, Err: err}
}

// --- what net's conn type has ----------------------------------------------

// Read reads the next datagram into b (a connected socket's, or any on
// an unconnected one); what does not fit b is dropped, as with net. An
// empty b returns at once.
func (c *packetConn) Read(b []byte) (int, error) {
	if c.s.Closed() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	if len(b) == 0 {
		return 0, nil // as net's: no datagram is consumed
	}
	var from sockaddr.Addr
	n, _, _, err := c.s.ReadMsg(b, nil, &from)
	if err != nil {
		return 0, c.opErr("read", packetErr("read", err))
	}
	return n, nil
}

// ReadMsg's n with an error is -1 where net's recvmsg(2) returned it:
// ReadMsgUDP and ReadMsgUnix pass it on, as net's do; the other reads
// return 0, as net's do.

// Write sends b as one datagram to the connected peer.
func (c *packetConn) Write(b []byte) (int, error) {
	n, _, err := c.s.WriteMsg(b, nil, nil)
	if err != nil {
		return 0, c.opErr("write", packetErr("write", err))
	}
	return n, nil
}

// Close closes the socket: a pending read or write returns net.ErrClosed.
// It returns once the socket is closed, so its address is free again.
func (c *packetConn) Close() error {
	if err := c.s.Close(); err != nil {
		return c.opErr("close", packetErr("close", err))
	}
	return nil
}

// LocalAddr returns the local network address.
func (c *packetConn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the remote network address of a connected socket,
// else nil.
func (c *packetConn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline sets the read and write deadlines.
func (c *packetConn) SetDeadline(t time.Time) error {
	if c.s.Closed() {
		return c.localOpErr("set", net.ErrClosed)
	}
	c.s.SetReadDeadline(t)
	c.s.SetWriteDeadline(t)
	return nil
}

// SetReadDeadline sets the deadline for reads, including one already
// blocked.
func (c *packetConn) SetReadDeadline(t time.Time) error {
	if c.s.Closed() {
		return c.localOpErr("set", net.ErrClosed)
	}
	c.s.SetReadDeadline(t)
	return nil
}

// SetWriteDeadline sets the deadline for writes, including one already
// blocked.
func (c *packetConn) SetWriteDeadline(t time.Time) error {
	if c.s.Closed() {
		return c.localOpErr("set", net.ErrClosed)
	}
	c.s.SetWriteDeadline(t)
	return nil
}

// setBuffer sets a socket buffer size, with net's error for it.
func (c *packetConn) setBuffer(opt, bytes int) error {
	err := c.s.WithFD(func(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, bytes) })
	if err != nil {
		return c.localOpErr("set", packetErr("setsockopt", err))
	}
	return nil
}

// SetReadBuffer sets the size of the kernel's receive buffer. The loop
// queues up to 256 KiB (and 1,024 datagrams) beyond it before it stops
// receiving.
func (c *packetConn) SetReadBuffer(bytes int) error { return c.setBuffer(unix.SO_RCVBUF, bytes) }

// SetWriteBuffer sets the size of the kernel's send buffer.
func (c *packetConn) SetWriteBuffer(bytes int) error { return c.setBuffer(unix.SO_SNDBUF, bytes) }

// File returns a duplicate of the socket that the caller owns, as net's
// File does. Closing one does not affect the other; datagrams the loop
// has already received can only be read through this socket.
func (c *packetConn) File() (*os.File, error) {
	fd := -1
	err := c.s.WithFD(func(sfd int) error {
		var e error
		fd, e = unix.FcntlInt(uintptr(sfd), unix.F_DUPFD_CLOEXEC, 0)
		return e
	})
	if err != nil {
		return nil, c.opErr("file", packetErr("dupfd", err))
	}
	return os.NewFile(uintptr(fd), c.fileName()), nil
}

// fileName is the name net gives the file of a socket.
func (c *packetConn) fileName() string {
	var ls, rs string
	if c.laddr != nil {
		ls = c.laddr.String()
	}
	if c.raddr != nil {
		rs = c.raddr.String()
	}
	return c.net + ":" + ls + "->" + rs
}

// SyscallConn returns a raw connection for socket options. Its Control
// runs while the fd is guaranteed open; Read and Write wait for readiness
// with poll(2) under the read or write deadline, since the loop, not Go's
// netpoller, owns the socket. The loop receives on the socket all along:
// datagrams it has taken are read through the conn's own reads, not by a
// recvmsg(2) in the raw connection's Read.
func (c *packetConn) SyscallConn() (syscall.RawConn, error) { return packetRaw{c}, nil }

type packetRaw struct{ c *packetConn }

func (r packetRaw) Control(f func(fd uintptr)) error {
	if err := r.c.s.WithFD(func(fd int) error { f(uintptr(fd)); return nil }); err != nil {
		return r.c.localOpErr("raw-control", packetErr("", err))
	}
	return nil
}

func (r packetRaw) Read(f func(fd uintptr) bool) error {
	return r.wait("raw-read", unix.POLLIN, r.c.s.ReadDeadline, f)
}

func (r packetRaw) Write(f func(fd uintptr) bool) error {
	return r.wait("raw-write", unix.POLLOUT, r.c.s.WriteDeadline, f)
}

func (r packetRaw) wait(op string, events int16, deadline func() time.Time, f func(fd uintptr) bool) error {
	if r.c.s.Closed() {
		return r.c.opErr(op, net.ErrClosed)
	}
	if err := pollRaw(r.c.s.WithFD, events, deadline, f); err != nil {
		return r.c.opErr(op, packetErr("", err))
	}
	return nil
}

// --- UDP -------------------------------------------------------------------

// udpAddr converts a datagram's source as net does for a socket of c's
// family: a 4-byte IP on an IPv4 socket, a 16-byte one with its zone on
// an IPv6 one.
func (c *UDPConn) udpAddr(a *sockaddr.Addr) *net.UDPAddr {
	if c.family == sockaddr.Inet4 {
		ip := make(net.IP, net.IPv4len)
		copy(ip, a.IP[:4])
		return &net.UDPAddr{IP: ip, Port: int(a.Port)}
	}
	ip := make(net.IP, net.IPv6len)
	copy(ip, a.IP[:])
	return &net.UDPAddr{IP: ip, Port: int(a.Port), Zone: zoneName(int(a.Zone))}
}

// addrPort is udpAddr's netip form: an IPv4 socket's address is IPv4, an
// IPv6 socket's IPv6 (IPv4-mapped for an IPv4 peer of a dual-stack socket).
func (c *UDPConn) addrPort(a *sockaddr.Addr) netip.AddrPort {
	if c.family == sockaddr.Inet4 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a.IP[:4])), a.Port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16(a.IP).WithZone(zoneName(int(a.Zone))), a.Port)
}

// readFrom reads one datagram as ReadFrom does, for the named system call
// (with ReadMsg's n on an error).
func (c *UDPConn) readFrom(b, oob []byte, syscallName string) (n, oobn, flags int, from sockaddr.Addr, err error) {
	n, oobn, flags, err = c.s.ReadMsg(b, oob, &from)
	if err != nil {
		return n, 0, 0, sockaddr.Addr{}, c.opErr("read", packetErr(syscallName, err))
	}
	return n, oobn, flags, from, nil
}

// ReadFromUDP acts like ReadFrom but returns a *net.UDPAddr.
func (c *UDPConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	n, _, _, from, err := c.readFrom(b, nil, "recvfrom")
	if err != nil {
		return 0, nil, err
	}
	return n, c.udpAddr(&from), nil
}

// ReadFrom reads one datagram into b and returns its size (what fit b:
// the rest is dropped, as net drops it) and source.
func (c *UDPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromUDP(b)
	if addr == nil {
		return n, nil, err
	}
	return n, addr, err
}

// ReadFromUDPAddrPort acts like ReadFrom but returns a netip.AddrPort; on
// a socket bound to an unspecified IPv6 address, an IPv4 peer's address
// is IPv4-mapped, as with net.
func (c *UDPConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, _, _, from, err := c.readFrom(b, nil, "recvfrom")
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	return n, c.addrPort(&from), nil
}

// ReadMsgUDP reads one datagram, copying its payload into b and its
// control data into oob, and returns the bytes copied into each, the
// message's flags (MSG_TRUNC if b was too small, MSG_CTRUNC if oob was)
// and its source.
func (c *UDPConn) ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	var ap netip.AddrPort
	n, oobn, flags, ap, err = c.ReadMsgUDPAddrPort(b, oob)
	if ap.IsValid() {
		addr = net.UDPAddrFromAddrPort(ap)
	}
	return
}

// ReadMsgUDPAddrPort is ReadMsgUDP with a netip.AddrPort. As net's, it
// returns the unspecified address of the socket's family with an error.
func (c *UDPConn) ReadMsgUDPAddrPort(b, oob []byte) (n, oobn, flags int, addr netip.AddrPort, err error) {
	n, oobn, flags, from, err := c.readFrom(b, oob, "recvmsg")
	return n, oobn, flags, c.addrPort(&from), err
}

// udpSockaddr is addr as net makes it for a socket of c's family.
func (c *UDPConn) udpSockaddr(addr *net.UDPAddr) (sockaddr.Addr, error) {
	if c.family == sockaddr.Inet4 {
		ip := addr.IP
		if len(ip) == 0 {
			ip = net.IPv4zero
		}
		ip4 := ip.To4()
		if ip4 == nil {
			return sockaddr.Addr{}, &net.AddrError{Err: "non-IPv4 address", Addr: addr.IP.String()}
		}
		a := sockaddr.Addr{Family: sockaddr.Inet4, Port: uint16(addr.Port)}
		copy(a.IP[:], ip4)
		return a, nil
	}
	ip := addr.IP
	if len(ip) == 0 || ip.Equal(net.IPv4zero) {
		ip = net.IPv6zero
	}
	ip6 := ip.To16()
	if ip6 == nil {
		return sockaddr.Addr{}, &net.AddrError{Err: "non-IPv6 address", Addr: addr.IP.String()}
	}
	a := sockaddr.Addr{Family: sockaddr.Inet6, Port: uint16(addr.Port), Zone: zoneIndex(addr.Zone)}
	copy(a.IP[:], ip6)
	return a, nil
}

// addrPortSockaddr is udpSockaddr for a netip.AddrPort.
func (c *UDPConn) addrPortSockaddr(ap netip.AddrPort) (sockaddr.Addr, error) {
	ip := ap.Addr()
	if c.family == sockaddr.Inet4 {
		if !ip.Is4() && !ip.Is4In6() {
			return sockaddr.Addr{}, &net.AddrError{Err: "non-IPv4 address", Addr: ip.String()}
		}
		a := sockaddr.Addr{Family: sockaddr.Inet4, Port: ap.Port()}
		ip4 := ip.As4()
		copy(a.IP[:], ip4[:])
		return a, nil
	}
	return sockaddr.Addr{Family: sockaddr.Inet6, Port: ap.Port(), IP: ip.As16(), Zone: zoneIndex(ip.Zone())}, nil
}

// addrPortUDPAddr names a netip.AddrPort in a write's error, as net's
// unexported type of that name does.
type addrPortUDPAddr struct{ netip.AddrPort }

func (addrPortUDPAddr) Network() string { return "udp" }

// writeTo sends b with oob to to (nil: the connected peer), for the named
// system call.
func (c *packetConn) writeTo(b, oob []byte, to *sockaddr.Addr, syscallName string) (n, oobn int, err error) {
	n, oobn, err = c.s.WriteMsg(b, oob, to)
	if err != nil {
		return 0, 0, packetErr(syscallName, err)
	}
	return n, oobn, nil
}

// WriteToUDP acts like WriteTo but takes a *net.UDPAddr.
func (c *UDPConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	n, err := c.writeToUDP(b, addr)
	if err != nil {
		return n, c.writeErr(opAddr(addr), err)
	}
	return n, nil
}

func (c *UDPConn) writeToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	if c.connected {
		return 0, net.ErrWriteToConnected
	}
	if addr == nil {
		return 0, errMissingAddress
	}
	to, err := c.udpSockaddr(addr)
	if err != nil {
		return 0, err
	}
	n, _, err := c.writeTo(b, nil, &to, "sendto")
	return n, err
}

// WriteToUDPAddrPort acts like WriteTo but takes a netip.AddrPort.
func (c *UDPConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	n, err := c.writeToAddrPort(b, addr)
	if err != nil {
		return n, c.writeErr(addrPortUDPAddr{addr}, err)
	}
	return n, nil
}

func (c *UDPConn) writeToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.connected {
		return 0, net.ErrWriteToConnected
	}
	if !addr.IsValid() {
		return 0, errMissingAddress
	}
	to, err := c.addrPortSockaddr(addr)
	if err != nil {
		return 0, err
	}
	n, _, err := c.writeTo(b, nil, &to, "sendto")
	return n, err
}

// WriteTo sends b as one datagram to addr, a *net.UDPAddr, and returns
// once it is sent, or with the error that stopped it.
func (c *UDPConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	a, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, c.writeErr(addr, syscall.EINVAL)
	}
	return c.WriteToUDP(b, a)
}

// WriteMsgUDP sends b with control data oob to addr, or to the connected
// peer when addr is nil. oob may carry UDP_SEGMENT (GSO: b is cut into
// datagrams of that size by the kernel) and the IP-level messages of
// golang.org/x/net/ipv4 and ipv6.
func (c *UDPConn) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error) {
	n, oobn, err = c.writeMsgUDP(b, oob, addr)
	if err != nil {
		err = c.writeErr(opAddr(addr), err)
	}
	return
}

func (c *UDPConn) writeMsgUDP(b, oob []byte, addr *net.UDPAddr) (int, int, error) {
	if c.connected && addr != nil {
		return 0, 0, net.ErrWriteToConnected
	}
	if !c.connected && addr == nil {
		return 0, 0, errMissingAddress
	}
	var to *sockaddr.Addr
	if addr != nil {
		a, err := c.udpSockaddr(addr)
		if err != nil {
			return 0, 0, err
		}
		to = &a
	}
	return c.writeTo(b, oob, to, "sendmsg")
}

// WriteMsgUDPAddrPort is WriteMsgUDP with a netip.AddrPort (the zero
// AddrPort for the connected peer).
func (c *UDPConn) WriteMsgUDPAddrPort(b, oob []byte, addr netip.AddrPort) (n, oobn int, err error) {
	n, oobn, err = c.writeMsgAddrPort(b, oob, addr)
	if err != nil {
		err = c.writeErr(addrPortUDPAddr{addr}, err)
	}
	return
}

func (c *UDPConn) writeMsgAddrPort(b, oob []byte, addr netip.AddrPort) (int, int, error) {
	if c.connected && addr.IsValid() {
		return 0, 0, net.ErrWriteToConnected
	}
	if !c.connected && !addr.IsValid() {
		return 0, 0, errMissingAddress
	}
	var to *sockaddr.Addr
	if addr.IsValid() {
		a, err := c.addrPortSockaddr(addr)
		if err != nil {
			return 0, 0, err
		}
		to = &a
	}
	return c.writeTo(b, oob, to, "sendmsg")
}

// --- Unix datagrams --------------------------------------------------------

// unixAddr is a datagram's source as net gives it: nil for an unnamed
// sender.
func unixAddr(a *sockaddr.Addr) *net.UnixAddr {
	if a.Name == "" {
		return nil
	}
	return &net.UnixAddr{Name: a.Name, Net: "unixgram"}
}

// ReadFromUnix acts like ReadFrom but returns a *net.UnixAddr (nil for an
// unnamed sender).
func (c *UnixConn) ReadFromUnix(b []byte) (int, *net.UnixAddr, error) {
	var from sockaddr.Addr
	n, _, _, err := c.s.ReadMsg(b, nil, &from)
	if err != nil {
		return 0, nil, c.opErr("read", packetErr("recvfrom", err))
	}
	return n, unixAddr(&from), nil
}

// ReadFrom reads one datagram into b (what does not fit is dropped) and
// returns its size and source (nil for an unnamed sender).
func (c *UnixConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromUnix(b)
	if addr == nil {
		return n, nil, err
	}
	return n, addr, err
}

// ReadMsgUnix reads one datagram, copying its payload into b and its
// control data into oob (descriptors arrive close-on-exec; those that do
// not fit are closed, as the kernel closes them), and returns the bytes
// copied into each, the message's flags and its source.
func (c *UnixConn) ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	var from sockaddr.Addr
	n, oobn, flags, err = c.s.ReadMsg(b, oob, &from)
	if err != nil {
		return n, 0, 0, nil, c.opErr("read", packetErr("recvmsg", err))
	}
	return n, oobn, flags, unixAddr(&from), nil
}

// WriteToUnix acts like WriteTo but takes a *net.UnixAddr.
func (c *UnixConn) WriteToUnix(b []byte, addr *net.UnixAddr) (int, error) {
	n, err := c.writeToUnix(b, addr)
	if err != nil {
		var a net.Addr
		if addr != nil {
			a = addr
		}
		return n, c.writeErr(a, err)
	}
	return n, nil
}

func (c *UnixConn) writeToUnix(b []byte, addr *net.UnixAddr) (int, error) {
	if c.connected {
		return 0, net.ErrWriteToConnected
	}
	if addr == nil {
		return 0, errMissingAddress
	}
	if addr.Net != "unixgram" {
		return 0, syscall.EAFNOSUPPORT
	}
	n, _, err := c.writeTo(b, nil, &sockaddr.Addr{Family: sockaddr.Unix, Name: addr.Name}, "sendto")
	return n, err
}

// WriteTo sends b as one datagram to addr, a *net.UnixAddr.
func (c *UnixConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	a, ok := addr.(*net.UnixAddr)
	if !ok {
		return 0, c.writeErr(addr, syscall.EINVAL)
	}
	return c.WriteToUnix(b, a)
}

// WriteMsgUnix sends b with control data oob (descriptors, credentials)
// to addr, or, on an unconnected socket with a nil addr, as sendmsg(2)
// without an address does.
func (c *UnixConn) WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error) {
	n, oobn, err = c.writeMsgUnix(b, oob, addr)
	if err != nil {
		var a net.Addr
		if addr != nil {
			a = addr
		}
		err = c.writeErr(a, err)
	}
	return
}

func (c *UnixConn) writeMsgUnix(b, oob []byte, addr *net.UnixAddr) (int, int, error) {
	if c.connected {
		return 0, 0, net.ErrWriteToConnected // as net's, for a datagram socket, whatever addr
	}
	var to *sockaddr.Addr
	if addr != nil {
		if addr.Net != "unixgram" {
			return 0, 0, syscall.EAFNOSUPPORT
		}
		to = &sockaddr.Addr{Family: sockaddr.Unix, Name: addr.Name}
	}
	return c.writeTo(b, oob, to, "sendmsg")
}

// CloseRead shuts down the reading side, as net's does (a Unix datagram
// socket's reads then still wait for datagrams).
func (c *UnixConn) CloseRead() error { return c.shutdown(unix.SHUT_RD) }

// CloseWrite shuts down the writing side: later writes fail.
func (c *UnixConn) CloseWrite() error { return c.shutdown(unix.SHUT_WR) }

func (c *UnixConn) shutdown(how int) error {
	if err := c.s.WithFD(func(fd int) error { return unix.Shutdown(fd, how) }); err != nil {
		return c.opErr("close", packetErr("shutdown", err))
	}
	return nil
}

// udpConnOf and unixConnOf give servePacket's result its type.
func udpConnOf(c net.Conn) *UDPConn   { return c.(*UDPConn) }
func unixConnOf(c net.Conn) *UnixConn { return c.(*UnixConn) }
