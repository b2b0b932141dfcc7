//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"
)

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
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		s, c, stop := pipe(t, nil)
		return s, c, stop, nil
	})
}
