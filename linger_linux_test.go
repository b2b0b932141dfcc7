package ringnet

import (
	"bytes"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestLingerClose checks what Close does after SO_LINGER is set, against net:
// with SetLinger(0) it discards what is unsent and resets the connection
// at once (the peer gets less than was written, then ECONNRESET, as from
// net); with a positive linger, close(2) blocks until the bytes are sent
// or the time is up, which must not stall the loop's other connections.
func TestLingerClose(t *testing.T) {
	const total = 200 << 10
	// stuck returns a server-side connection that has written total bytes
	// (or is blocked writing them) to a peer that reads nothing and has a
	// small receive buffer. With sndbuf set, the server's send buffer is
	// that small too, so that ringnet holds most of the bytes in its queue
	// (and net's Write blocks); else the kernel takes them all.
	stuck := func(t *testing.T, ln net.Listener, sndbuf int) (server net.Conn, peer *net.TCPConn) {
		c, server := connectT(t, ln, nil)
		peer = c.(*net.TCPConn)
		require.NoError(t, peer.SetReadBuffer(16<<10))
		if sndbuf > 0 {
			require.NoError(t, server.(interface{ SetWriteBuffer(int) error }).SetWriteBuffer(sndbuf))
		}
		go func() { _, _ = server.Write(bytes.Repeat([]byte("x"), total)) }() // blocks on net: Close ends it
		time.Sleep(100 * time.Millisecond)
		return server, peer
	}
	drain := func(peer *net.TCPConn) (int64, error) {
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		return io.Copy(io.Discard, peer)
	}

	// The ways a program sets SO_LINGER: SetLinger, a raw connection's
	// Control, or a ListenConfig.Control hook on the listening socket,
	// which accepted sockets inherit.
	ways := []struct {
		name   string
		listen func(sec int) ListenConfig // the listener's configuration
		set    func(t *testing.T, c *Conn, sec int)
	}{
		{"SetLinger", func(int) ListenConfig { return ListenConfig{} }, func(t *testing.T, c *Conn, sec int) {
			require.NoError(t, c.SetLinger(sec))
		}},
		{"SyscallConn", func(int) ListenConfig { return ListenConfig{} }, func(t *testing.T, c *Conn, sec int) {
			rc, err := c.SyscallConn()
			require.NoError(t, err)
			require.NoError(t, rc.Control(func(fd uintptr) { setLinger(t, fd, sec) }))
		}},
		{"ListenConfig.Control", func(sec int) ListenConfig {
			return ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) { setLinger(t, fd, sec) })
			}}
		}, func(*testing.T, *Conn, int) {}},
	}

	t.Run("zero", func(t *testing.T) {
		nln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer nln.Close()
		server, peer := stuck(t, nln, 16<<10)
		require.NoError(t, server.(*net.TCPConn).SetLinger(0))
		require.NoError(t, server.Close())
		netGot, netPeerErr := drain(peer)
		require.ErrorIs(t, netPeerErr, syscall.ECONNRESET, "net: the peer is reset")
		require.Less(t, netGot, int64(total), "net: unsent bytes are discarded")

		forEachBackend(t, func(t *testing.T, backend string) {
			for _, way := range ways {
				t.Run(way.name, func(t *testing.T) {
					lc := way.listen(0)
					lc.Backend = backend
					ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
					require.NoError(t, err)
					defer ln.Close()
					server, peer := stuck(t, ln, 16<<10)
					way.set(t, server.(*Conn), 0)
					require.NoError(t, server.Close())
					got, err := drain(peer)
					assert.ErrorIs(t, err, syscall.ECONNRESET, "the peer is reset")
					assert.Less(t, got, int64(total), "unsent bytes are discarded (net's peer got %d)", netGot)
				})
			}
		})
	})

	t.Run("positive", func(t *testing.T) {
		forEachBackend(t, func(t *testing.T, backend string) {
			for _, way := range ways {
				t.Run(way.name, func(t *testing.T) {
					lc := way.listen(2)
					lc.Backend, lc.Loops = backend, 1
					ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
					require.NoError(t, err)
					defer ln.Close()
					// An echo connection on the same (only) loop, with the
					// default linger: the hook's is undone.
					echoPeer, echo := connectT(t, ln, nil)
					require.NoError(t, echo.(*Conn).SetLinger(-1))
					go func() { _, _ = io.Copy(echo, echo) }()

					server, _ := stuck(t, ln, 0)
					way.set(t, server.(*Conn), 2)
					start := time.Now()
					require.NoError(t, server.Close())
					assert.Less(t, time.Since(start), time.Second, "Close returns at once")
					// The loop goes on serving the echo while the lingering
					// close waits.
					time.Sleep(200 * time.Millisecond)
					start = time.Now()
					_, err = echoPeer.Write([]byte("ping"))
					require.NoError(t, err)
					buf := make([]byte, 4)
					require.NoError(t, echoPeer.SetReadDeadline(time.Now().Add(5*time.Second)))
					_, err = io.ReadFull(echoPeer, buf)
					require.NoError(t, err)
					assert.Less(t, time.Since(start), time.Second, "echo round trip while another connection lingers")
				})
			}
		})
	})
}

// setLinger sets fd's SO_LINGER as net.TCPConn.SetLinger(sec) would.
func setLinger(t *testing.T, fd uintptr, sec int) {
	l := unix.Linger{}
	if sec >= 0 {
		l.Onoff, l.Linger = 1, int32(sec)
	}
	require.NoError(t, unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &l))
}
