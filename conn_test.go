//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"
)

// testBackends are the backends every test of this package runs on.
var testBackends = []string{"io_uring", "poll"}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range testBackends {
		t.Run(b, func(t *testing.T) { f(t, b) })
	}
}

// listenOn returns a Listen that uses backend.
func listenOn(backend string) func(network, address string) (net.Listener, error) {
	return func(network, address string) (net.Listener, error) {
		lc := ListenConfig{Backend: backend}
		return lc.Listen(context.Background(), network, address)
	}
}

// pipe returns an accepted ringnet conn and its net.Dial peer.
func pipe(t testing.TB, lc *ListenConfig) (*Conn, net.Conn, func()) {
	t.Helper()
	if lc == nil {
		lc = &ListenConfig{}
	}
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server, err := ln.(*Listener).AcceptRing()
	require.NoError(t, err)
	return server, client, func() {
		server.Close()
		client.Close()
		ln.Close()
	}
}

func TestConnConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			s, c, stop := pipe(t, &ListenConfig{Backend: backend})
			return s, c, stop, nil
		})
	})
}

// connectT dials ln with dial (net.Dial if nil) and accepts the
// connection; both are closed when the test ends.
func connectT(t testing.TB, ln net.Listener, dial func(network, address string) (net.Conn, error)) (client, server net.Conn) {
	t.Helper()
	if dial == nil {
		dial = net.Dial
	}
	client, err := dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { server.Close() })
	return client, server
}

// netPairT returns a connected pair of the net package's own TCP
// connections on loopback, the reference the parity tests compare with;
// both are closed when the test ends.
func netPairT(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return connectT(t, ln, nil)
}
