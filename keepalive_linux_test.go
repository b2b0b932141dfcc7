package ringnet

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// keepAliveConn is the keep-alive API that *Conn shares with
// *net.TCPConn.
type keepAliveConn interface {
	net.Conn
	SetKeepAlive(bool) error
	SetKeepAlivePeriod(time.Duration) error
	SetKeepAliveConfig(net.KeepAliveConfig) error
}

// keepAliveState reads the socket options that keep-alive settings and
// connection setup touch.
func keepAliveState(t *testing.T, c net.Conn) string {
	t.Helper()
	fd := fdOf(t, c)
	get := func(level, opt int) int {
		v, err := unix.GetsockoptInt(fd, level, opt)
		require.NoError(t, err)
		return v
	}
	return fmt.Sprintf("SO_KEEPALIVE=%d TCP_KEEPIDLE=%d TCP_KEEPINTVL=%d TCP_KEEPCNT=%d TCP_NODELAY=%d",
		get(unix.SOL_SOCKET, unix.SO_KEEPALIVE), get(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE),
		get(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL), get(unix.IPPROTO_TCP, unix.TCP_KEEPCNT),
		get(unix.IPPROTO_TCP, unix.TCP_NODELAY))
}

// TestKeepAliveParity makes connections with every keep-alive setting of
// ListenConfig and Dialer, then changes them with every setter, and
// checks after each step that the socket is set exactly as the standard
// library sets its own in the same steps.
func TestKeepAliveParity(t *testing.T) {
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer peer.Close()
	go acceptAll(peer)

	made := []struct {
		name string
		ka   time.Duration
		cfg  net.KeepAliveConfig
	}{
		{"defaults", 0, net.KeepAliveConfig{}},
		{"KeepAlive 30s", 30 * time.Second, net.KeepAliveConfig{}},
		{"KeepAlive 1500ms", 1500 * time.Millisecond, net.KeepAliveConfig{}},
		{"KeepAlive negative", -1, net.KeepAliveConfig{}},
		{"KeepAliveConfig 5s/-1/0", 0, net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: -1}},
		{"KeepAliveConfig over KeepAlive", -1, net.KeepAliveConfig{Enable: true, Idle: 42 * time.Second, Interval: 7 * time.Second, Count: 3}},
		{"KeepAliveConfig disabled", 20 * time.Second, net.KeepAliveConfig{Idle: 42 * time.Second}},
	}
	steps := []struct {
		name string
		do   func(c keepAliveConn) error
	}{
		{"as made", func(keepAliveConn) error { return nil }},
		{"SetKeepAlivePeriod(0)", func(c keepAliveConn) error { return c.SetKeepAlivePeriod(0) }},
		{"SetKeepAlivePeriod(20s)", func(c keepAliveConn) error { return c.SetKeepAlivePeriod(20 * time.Second) }},
		{"SetKeepAlivePeriod(-1)", func(c keepAliveConn) error { return c.SetKeepAlivePeriod(-1) }},
		{"SetKeepAlive(false)", func(c keepAliveConn) error { return c.SetKeepAlive(false) }},
		{"SetKeepAliveConfig off 7/8/4", func(c keepAliveConn) error {
			return c.SetKeepAliveConfig(net.KeepAliveConfig{Idle: 7 * time.Second, Interval: 8 * time.Second, Count: 4})
		}},
		{"SetKeepAliveConfig on, zeros", func(c keepAliveConn) error {
			return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true})
		}},
		{"SetKeepAliveConfig on -1/3/-1", func(c keepAliveConn) error {
			return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: 3 * time.Second, Count: -1})
		}},
	}
	// states applies the steps to c and returns the state after each.
	states := func(t *testing.T, c net.Conn) []string {
		var out []string
		for _, s := range steps {
			require.NoError(t, s.do(c.(keepAliveConn)), s.name)
			out = append(out, s.name+": "+keepAliveState(t, c))
		}
		return out
	}

	forEachBackend(t, func(t *testing.T, backend string) {
		for _, m := range made {
			t.Run(m.name, func(t *testing.T) {
				t.Run("accepted", func(t *testing.T) {
					nln, err := (&net.ListenConfig{KeepAlive: m.ka, KeepAliveConfig: m.cfg}).Listen(t.Context(), "tcp", "127.0.0.1:0")
					require.NoError(t, err)
					defer nln.Close()
					rln, err := (&ListenConfig{KeepAlive: m.ka, KeepAliveConfig: m.cfg, Backend: backend}).Listen(t.Context(), "tcp", "127.0.0.1:0")
					require.NoError(t, err)
					defer rln.Close()
					var got [2][]string
					for i, ln := range []net.Listener{nln, rln} {
						_, c := connectT(t, ln, nil)
						got[i] = states(t, c)
					}
					assert.Equal(t, got[0], got[1], "stdlib, then ringnet")
				})
				t.Run("dialed", func(t *testing.T) {
					nc, err := (&net.Dialer{KeepAlive: m.ka, KeepAliveConfig: m.cfg}).Dial("tcp", peer.Addr().String())
					require.NoError(t, err)
					defer nc.Close()
					rc, err := (&Dialer{KeepAlive: m.ka, KeepAliveConfig: m.cfg, Backend: backend}).Dial("tcp", peer.Addr().String())
					require.NoError(t, err)
					defer rc.Close()
					assert.Equal(t, states(t, nc), states(t, rc), "stdlib, then ringnet")
				})
			})
		}
	})
}
