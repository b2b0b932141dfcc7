package ringnet

import (
	"context"
	"net"
	"time"
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

// Dial connects to the address on the named network, as net.Dial does.
// "tcp", "tcp4", "tcp6" and "unix" connections are served by the event
// loops; other networks are dialed by the net package unchanged.
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
