package nettest_test

import (
	"context"
	"flag"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listenOpts are the ListenConfig-ish knobs a test may ask for. A backend
// applies those it understands and ignores the rest (the standard library has
// no buffer ring, so Buffers means nothing to it).
type listenOpts struct {
	Control   func(network, address string, c syscall.RawConn) error
	KeepAlive time.Duration
	Loops     int
	Buffers   int // provided-buffer ring entries per loop (ringnet only)
}

// loopStats is what a backend reports about its event loops, summed up.
type loopStats struct {
	Loops        int
	Conns        int64
	BuffersInUse int64
	Buffers      int64 // provided buffers in the rings
	RecvPauses   uint64
	NoBufs       uint64
}

// backend is one implementation under test.
type backend struct {
	name string
	// std marks the standard library, the reference implementation.
	std bool
	// listen is the backend's net.Listen.
	listen func(network, address string) (net.Listener, error)
	// listenConfig is the backend's ListenConfig.Listen.
	listenConfig func(ctx context.Context, o listenOpts, network, address string) (net.Listener, error)
	// stats reports the backend's loops; nil when it has none.
	stats func() loopStats
	// statsDetail describes each loop, for failure reports; nil when none.
	statsDetail func() string
	// listenPacket is the backend's net.ListenPacket, and dialPacket its
	// net.Dial for datagram networks ("udp", "unixgram"...); nil while
	// the backend serves no datagram sockets.
	listenPacket func(network, address string) (net.PacketConn, error)
	dialPacket   func(network, address string) (net.Conn, error)
}

// stdlibBackend is the reference: the standard library itself.
var stdlibBackend = &backend{
	name:         "stdlib",
	std:          true,
	listen:       net.Listen,
	listenPacket: net.ListenPacket,
	dialPacket:   net.Dial,
	listenConfig: func(ctx context.Context, o listenOpts, network, address string) (net.Listener, error) {
		lc := net.ListenConfig{Control: o.Control, KeepAlive: o.KeepAlive}
		return lc.Listen(ctx, network, address)
	},
}

// allBackends lists every backend the suite runs on. Adding a backend is one
// line here (or one append in an init function of a file of its own, as
// ringnet_backend_test.go does so that -tags noringnet can leave it out).
var allBackends = []*backend{
	stdlibBackend,
}

var backendsFlag = flag.String("backends", "", "comma-separated names of the backends to test (default: all of "+
	"stdlib, io_uring and poll)")

// selectedBackends returns the backends chosen with -backends.
func selectedBackends() []*backend {
	if *backendsFlag == "" {
		return allBackends
	}
	var out []*backend
	for _, b := range allBackends {
		for _, n := range strings.Split(*backendsFlag, ",") {
			if strings.TrimSpace(n) == b.name {
				out = append(out, b)
			}
		}
	}
	return out
}

func backendByName(name string) *backend {
	for _, b := range allBackends {
		if b.name == name {
			return b
		}
	}
	return nil
}

// forEachBackend runs f as a subtest for every selected backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b *backend)) {
	t.Helper()
	bs := selectedBackends()
	if len(bs) == 0 {
		t.Skipf("no backend selected by -backends=%q", *backendsFlag)
	}
	for _, b := range bs {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// forEachPacketBackend is forEachBackend for the backends that serve
// datagram sockets.
func forEachPacketBackend(t *testing.T, f func(t *testing.T, b *backend)) {
	t.Helper()
	forEachBackend(t, func(t *testing.T, b *backend) {
		if b.listenPacket == nil {
			t.Skipf("%s serves no datagram sockets", b.name)
		}
		f(t, b)
	})
}
