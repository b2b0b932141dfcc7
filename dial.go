package ringnet

import (
	"context"
	"net"
	"syscall"
	"time"
)

// Dialer mirrors net.Dialer: its fields mean what net.Dialer's do, and the
// connections it returns are served by the same event loops as accepted
// ones. The zero value dials with no timeout and the default loops.
type Dialer struct {
	// Timeout, Deadline, LocalAddr, FallbackDelay, KeepAlive,
	// KeepAliveConfig, Resolver, Control and ControlContext are net.Dialer's.
	Timeout         time.Duration
	Deadline        time.Time
	LocalAddr       net.Addr
	FallbackDelay   time.Duration
	KeepAlive       time.Duration
	KeepAliveConfig net.KeepAliveConfig
	Resolver        *net.Resolver
	Control         func(network, address string, c syscall.RawConn) error
	ControlContext  func(ctx context.Context, network, address string, c syscall.RawConn) error

	// Loops, RingEntries, Buffers and BufferSize shape the event loops
	// as in ListenConfig.
	Loops       int
	RingEntries uint32
	Buffers     int
	BufferSize  int
}

// Dial connects to the address on the named network, as net.Dial does.
// "tcp", "tcp4", "tcp6" and "unix" connections are served by the event
// loops; other networks are dialed by the net package unchanged.
func Dial(network, address string) (net.Conn, error) {
	var d Dialer
	return d.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context, as net.DialContext: cancelling ctx
// before the connection is established aborts the dial.
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
// fallback, timeouts and cancellation are net.Dialer's own, so errors are
// exactly net's; once connected, the socket is handed to an event loop.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	nd := net.Dialer{
		Timeout:         d.Timeout,
		Deadline:        d.Deadline,
		LocalAddr:       d.LocalAddr,
		FallbackDelay:   d.FallbackDelay,
		KeepAlive:       d.KeepAlive,
		KeepAliveConfig: d.KeepAliveConfig,
		Resolver:        d.Resolver,
		Control:         d.Control,
		ControlContext:  d.ControlContext,
	}
	nc, err := nd.DialContext(ctx, network, address)
	if err != nil || !servedNetwork(network) {
		return nc, err
	}
	cfg := config{Loops: d.Loops, RingEntries: d.RingEntries, Buffers: d.Buffers, BufferSize: d.BufferSize}
	c, err := adoptConn(nc, network, cfg)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: err}
	}
	return c, nil
}

// servedNetwork reports whether the event loops serve the network.
func servedNetwork(network string) bool {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
		return true
	}
	return false
}
