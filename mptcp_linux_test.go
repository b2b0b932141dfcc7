package ringnet

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMultipathTCPParity checks SetMultipathTCP and MultipathTCP of
// ListenConfig and Dialer against net's, and that the connections they
// make use MPTCP exactly when net's do (on a system without MPTCP, never),
// and carry bytes.
func TestMultipathTCPParity(t *testing.T) {
	choices := []struct {
		name string
		set  func(func(bool))
	}{
		{"default", func(func(bool)) {}},
		{"on", func(set func(bool)) { set(true) }},
		{"off", func(set func(bool)) { set(false) }},
	}
	// mptcpOf reports whether c uses MPTCP, after an echo through it.
	mptcpOf := func(t *testing.T, c net.Conn, peer net.Conn) bool {
		go func() { _, _ = io.Copy(peer, peer) }()
		_, err := c.Write([]byte("mptcp?"))
		require.NoError(t, err)
		buf := make([]byte, 6)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		assert.Equal(t, "mptcp?", string(buf))
		mp, err := c.(interface{ MultipathTCP() (bool, error) }).MultipathTCP()
		require.NoError(t, err)
		return mp
	}
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, ch := range choices {
			t.Run("listen/"+ch.name, func(t *testing.T) {
				var nlc net.ListenConfig
				rlc := ListenConfig{Backend: backend}
				ch.set(nlc.SetMultipathTCP)
				ch.set(rlc.SetMultipathTCP)
				assert.Equal(t, nlc.MultipathTCP(), rlc.MultipathTCP())
				var client net.Dialer
				client.SetMultipathTCP(true)
				var got [2]bool
				for i, listen := range []func(context.Context, string, string) (net.Listener, error){nlc.Listen, rlc.Listen} {
					ln, err := listen(t.Context(), "tcp", "127.0.0.1:0")
					require.NoError(t, err)
					defer ln.Close()
					c, s := connectT(t, ln, client.Dial)
					got[i] = mptcpOf(t, s, c)
				}
				assert.Equal(t, got[0], got[1], "the accepted connection uses MPTCP: net, then ringnet")
			})
			t.Run("dial/"+ch.name, func(t *testing.T) {
				var nd net.Dialer
				rd := Dialer{Backend: backend}
				ch.set(nd.SetMultipathTCP)
				ch.set(rd.SetMultipathTCP)
				assert.Equal(t, nd.MultipathTCP(), rd.MultipathTCP())
				var server net.ListenConfig
				server.SetMultipathTCP(true)
				ln, err := server.Listen(t.Context(), "tcp", "127.0.0.1:0")
				require.NoError(t, err)
				defer ln.Close()
				var got [2]bool
				for i, dial := range []func(string, string) (net.Conn, error){nd.Dial, rd.Dial} {
					c, s := connectT(t, ln, dial)
					got[i] = mptcpOf(t, c, s)
				}
				assert.Equal(t, got[0], got[1], "the dialed connection uses MPTCP: net, then ringnet")
				t.Logf("MPTCP: %v", got[0])
			})
		}
	})
}
