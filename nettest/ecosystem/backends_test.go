package ecosystem_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ringnet/ringnet"
)

// backend is one implementation of listeners and dialed connections that
// every test runs on.
type backend struct {
	name string
	// ringnet is false for the standard library, the reference entry.
	ringnet bool
	// listen is the backend's net.Listen.
	listen func(network, address string) (net.Listener, error)
	// dial is the backend's net.Dialer.DialContext ("udp" included: a
	// connected datagram socket).
	dial func(ctx context.Context, network, address string) (net.Conn, error)
	// listenPacket is the backend's net.ListenPacket.
	listenPacket func(network, address string) (net.PacketConn, error)
}

var stdDialer net.Dialer

// ringnetBackend forces one of ringnet's backends through the Backend
// field of ListenConfig and Dialer, so one process tests both.
func ringnetBackend(name string) backend {
	lc := &ringnet.ListenConfig{Backend: name}
	d := &ringnet.Dialer{Backend: name}
	return backend{
		name:    name,
		ringnet: true,
		listen: func(network, address string) (net.Listener, error) {
			return lc.Listen(context.Background(), network, address)
		},
		dial: d.DialContext,
		listenPacket: func(network, address string) (net.PacketConn, error) {
			return lc.ListenPacket(context.Background(), network, address)
		},
	}
}

// backends is the table every test runs on. Adding a backend is one line.
var backends = []backend{
	{name: "stdlib", listen: net.Listen, dial: stdDialer.DialContext, listenPacket: net.ListenPacket},
	ringnetBackend("io_uring"),
	ringnetBackend("poll"),
}

// forEachBackend runs f as a subtest named after each backend. limit bounds
// the subtest: past it the whole process dumps its goroutines and exits, so
// that no test can hang.
func forEachBackend(t *testing.T, limit time.Duration, f func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.ringnet {
				// Registered first, so it runs after every other cleanup of
				// the subtest: by then every server and client is closed.
				t.Cleanup(func() { checkNoConns(t) })
			}
			guard(t, limit)
			f(t, b)
		})
	}
}

// guard makes the process dump every goroutine and exit if the test has not
// finished within d, long before go test's own -timeout.
func guard(t *testing.T, d time.Duration) {
	name := t.Name()
	timer := time.AfterFunc(d, func() {
		fmt.Fprintf(os.Stderr, "ecosystem: %s did not finish within %v\n", name, d)
		dumpGoroutines()
		os.Exit(2)
	})
	t.Cleanup(func() { timer.Stop() })
}

// checkNoConns fails t if ringnet's loops still own connections a few
// seconds after the test closed all of its own.
func checkNoConns(t *testing.T) {
	var conns, bufs int64
	for deadline := time.Now().Add(5 * time.Second); ; {
		conns, bufs = 0, 0
		for _, s := range ringnet.Stats() {
			conns += s.Conns
			bufs += s.BuffersInUse
		}
		if (conns == 0 && bufs == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if conns != 0 || bufs != 0 {
		t.Errorf("after the test ringnet still owns %d connections and %d buffers: %+v", conns, bufs, ringnet.Stats())
	}
}

// requireUDPConnOf fails t unless c is backend b's UDP socket: a
// *net.UDPConn from the standard library, a *ringnet.UDPConn from ringnet,
// with a loop of that backend running to serve it. It proves that a test
// runs its datagrams through the backend it names.
func requireUDPConnOf(t *testing.T, b backend, c any) {
	t.Helper()
	if !b.ringnet {
		require.IsType(t, (*net.UDPConn)(nil), c)
		return
	}
	require.IsType(t, (*ringnet.UDPConn)(nil), c)
	var loops []string
	for _, s := range ringnet.Stats() {
		if s.Backend == b.name && s.Conns > 0 {
			return
		}
		loops = append(loops, s.Backend)
	}
	require.Failf(t, "no loop serves the socket", "want a %s loop owning sockets, have loops %v", b.name, loops)
}
