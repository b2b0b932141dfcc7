package ringnet

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/ringnet/ringnet/internal/backend"
)

// servedNetwork reports whether the event loops serve the network; other
// networks are left to the net package.
func servedNetwork(network string) bool {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
		return true
	}
	return false
}

// Listen announces on the local network address, as net.Listen does, and
// serves the listener's connections on the event loops. The networks
// "tcp", "tcp4", "tcp6" and "unix" are served by the loops; other networks,
// and every network where no backend can run, are served by the net
// package unchanged.
func Listen(network, address string) (net.Listener, error) {
	var lc ListenConfig
	return lc.Listen(context.Background(), network, address)
}

// Listen announces on the local network address, as
// net.ListenConfig.Listen does.
//
// The socket is made, bound and set listening by the net package, so that
// address parsing, name resolution, Control and every error are exactly
// net's; the loops then take over a duplicate of its fd.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	nlc := lc.netListenConfig()
	if !servedNetwork(network) {
		return nlc.Listen(ctx, network, address)
	}
	cfg := config{Loops: lc.Loops, RingEntries: lc.RingEntries, Buffers: lc.Buffers, BufferSize: lc.BufferSize, Backend: lc.Backend}
	if err := cfg.validate(); err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	b, err := pickBackend(cfg.Backend)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	sl, err := nlc.Listen(ctx, network, address)
	if err != nil || b == nil {
		return sl, err
	}
	addr := sl.Addr()
	ln, err := serveListener(sl, network, b, cfg, opts{keepAlive: lc.KeepAlive, keepAliveConfig: lc.KeepAliveConfig, unlink: true, userOptions: lc.Control != nil})
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	return ln, nil
}

// servedPacketNetwork reports whether the event loops serve the packet
// network; other packet networks are left to the net package.
func servedPacketNetwork(network string) bool {
	switch network {
	case "udp", "udp4", "udp6", "unixgram":
		return true
	}
	return false
}

// packetBackend validates cfg and picks the backend for a datagram socket:
// the one pickBackend picks, unless that cannot serve datagram sockets on
// this system (ProbePackets: an io_uring without the operations they
// need), when the poll loops serve them instead; an explicit choice of
// io_uring then fails, as Listen fails where io_uring cannot run. A nil
// backend (with a nil error) means that the net package serves.
func packetBackend(cfg config) (*backend.Backend, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b, err := pickBackend(cfg.Backend)
	if err != nil || b == nil || b.ProbePackets == nil {
		return b, err
	}
	perr := b.ProbePackets()
	if perr == nil {
		return b, nil
	}
	if cause := outOfFDs(perr); cause != nil {
		return nil, cause // the probe could not make its socket: nor could net
	}
	name := cfg.Backend
	if name == "" {
		name = os.Getenv(BackendEnv)
	}
	if name == b.Name || pollBackend == nil {
		return nil, fmt.Errorf("ringnet: backend %s cannot serve datagram sockets: %w", b.Name, perr)
	}
	return pollBackend, nil
}

// opAddr is a *net.UDPAddr as net's errors name it: nil for none.
func opAddr(a *net.UDPAddr) net.Addr {
	if a == nil {
		return nil
	}
	return a
}

// ListenPacket announces on the local network address, as
// net.ListenPacket does. "udp", "udp4", "udp6" and "unixgram" sockets are
// served by the event loops and returned as a *UDPConn or a *UnixConn;
// other networks (and every network where no backend can run) are served
// by the net package unchanged.
func ListenPacket(network, address string) (net.PacketConn, error) {
	var lc ListenConfig
	return lc.ListenPacket(context.Background(), network, address)
}

// ListenPacket announces on a packet network as
// net.ListenConfig.ListenPacket does. The socket is made and bound by the
// net package, so that address parsing, Control and every error are
// net's; a loop then takes over a duplicate of its fd.
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	nlc := lc.netListenConfig()
	if !servedPacketNetwork(network) {
		return nlc.ListenPacket(ctx, network, address)
	}
	cfg := config{Loops: lc.Loops, RingEntries: lc.RingEntries, Buffers: lc.Buffers, BufferSize: lc.BufferSize, Backend: lc.Backend}
	b, err := packetBackend(cfg)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	pc, err := nlc.ListenPacket(ctx, network, address)
	if err != nil || b == nil {
		return pc, err
	}
	c, err := servePacket(pc.(net.Conn), network, b, cfg, false)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: pc.LocalAddr(), Err: err}
	}
	return c.(net.PacketConn), nil
}

// ListenUDP acts like ListenPacket for UDP networks, as net.ListenUDP does.
func ListenUDP(network string, laddr *net.UDPAddr) (*UDPConn, error) {
	b, err := packetBackend(config{})
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: opAddr(laddr), Err: err}
	}
	nc, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	c, err := servePacket(nc, network, b, config{}, false)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: nc.LocalAddr(), Err: err}
	}
	return udpConnOf(c), nil
}

// DialUDP acts like Dial for UDP networks, as net.DialUDP does.
func DialUDP(network string, laddr, raddr *net.UDPAddr) (*UDPConn, error) {
	b, err := packetBackend(config{})
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Source: opAddr(laddr), Addr: opAddr(raddr), Err: err}
	}
	nc, err := net.DialUDP(network, laddr, raddr)
	if err != nil {
		return nil, err
	}
	c, err := servePacket(nc, network, b, config{}, true)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: err}
	}
	return udpConnOf(c), nil
}

// ListenUnixgram acts like ListenPacket for Unix datagram sockets, as
// net.ListenUnixgram does. As with net, closing it does not remove its
// socket file.
func ListenUnixgram(network string, laddr *net.UnixAddr) (*UnixConn, error) {
	b, err := packetBackend(config{})
	if err != nil {
		var a net.Addr
		if laddr != nil {
			a = laddr
		}
		return nil, &net.OpError{Op: "listen", Net: network, Addr: a, Err: err}
	}
	nc, err := net.ListenUnixgram(network, laddr)
	if err != nil {
		return nil, err
	}
	c, err := servePacket(nc, network, b, config{}, false)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: nc.LocalAddr(), Err: err}
	}
	return unixConnOf(c), nil
}

// Dial connects to the address on the named network, as net.Dial does.
// "tcp", "tcp4", "tcp6" and "unix" connections, and "udp", "udp4",
// "udp6" and "unixgram" sockets, are served by the event loops; other
// networks are dialed by the net package unchanged.
func Dial(network, address string) (net.Conn, error) {
	var d Dialer
	return d.DialContext(context.Background(), network, address)
}

// DialTimeout is Dial with a timeout, as net.DialTimeout: the timeout
// covers name resolution and every address tried.
func DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	d := Dialer{Timeout: timeout}
	return d.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context, as a zero net.Dialer's DialContext:
// cancelling ctx before the connection is established aborts the dial. Its signature fits
// http.Transport.DialContext.
func DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var d Dialer
	return d.DialContext(ctx, network, address)
}

// Dial connects to the address on the named network.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to the address on the named network using ctx.
//
// Name resolution, the choice among several addresses, dual-stack fast
// fallback, timeouts, cancellation and every error are as with
// net.Dialer; the connect itself is carried by an event loop
// (IORING_OP_CONNECT on io_uring, writable readiness on poll), which then
// serves the connection.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if servedPacketNetwork(network) {
		return d.dialPacket(ctx, network, address)
	}
	if !servedNetwork(network) {
		return d.netDialer().DialContext(ctx, network, address)
	}
	cfg := config{Loops: d.Loops, RingEntries: d.RingEntries, Buffers: d.Buffers, BufferSize: d.BufferSize, Backend: d.Backend}
	if err := cfg.validate(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	b, err := pickBackend(cfg.Backend)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	if b == nil {
		return d.netDialer().DialContext(ctx, network, address)
	}
	return d.dial(ctx, network, address, b, cfg)
}

// dialPacket dials a datagram socket: net's Dialer makes and connects it
// (resolution, LocalAddr, Control and every error are net's; a datagram
// connect waits for no peer), then a loop takes over a duplicate of its
// fd.
func (d *Dialer) dialPacket(ctx context.Context, network, address string) (net.Conn, error) {
	cfg := config{Loops: d.Loops, RingEntries: d.RingEntries, Buffers: d.Buffers, BufferSize: d.BufferSize, Backend: d.Backend}
	b, err := packetBackend(cfg)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	nc, err := d.netDialer().DialContext(ctx, network, address)
	if err != nil || b == nil {
		return nc, err
	}
	c, err := servePacket(nc, network, b, cfg, true)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: err}
	}
	return c, nil
}

// netDialer is d as a net.Dialer, for the networks and systems the loops
// do not serve.
func (d *Dialer) netDialer() *net.Dialer {
	nd := &net.Dialer{
		Timeout:         d.Timeout,
		Deadline:        d.Deadline,
		LocalAddr:       d.LocalAddr,
		FallbackDelay:   d.FallbackDelay,
		KeepAlive:       d.KeepAlive,
		KeepAliveConfig: d.KeepAliveConfig,
		Resolver:        d.Resolver,
		Control:         d.Control,
		ControlContext:  d.ControlContext,
		//lint:ignore SA1019 passed on so that net honours it as ours does
		Cancel: d.Cancel,
	}
	d.mptcp.apply(nd.SetMultipathTCP)
	return nd
}
