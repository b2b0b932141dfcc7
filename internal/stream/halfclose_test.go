//go:build linux

package stream

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// tcpPair returns a stream on a non-blocking duplicate of one end of a
// loopback TCP connection, driven by a fake loop that never sends, and
// the other end.
func tcpPair(t *testing.T) (*Stream, *fakeLoop, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { peer.Close() })
	c, err := ln.Accept()
	require.NoError(t, err)
	defer c.Close()
	f, err := c.(*net.TCPConn).File()
	require.NoError(t, err)
	fd, err := unix.Dup(int(f.Fd()))
	require.NoError(t, err)
	f.Close()
	require.NoError(t, unix.SetNonblock(fd, true))
	k := &fakeLoop{}
	s := New(fd, k)
	t.Cleanup(s.CloseFD)
	return s, k, peer.(*net.TCPConn)
}

// TestCloseWriteOnBrokenConnection: with bytes queued, CloseWrite leaves
// the shutdown to the loop, unless the connection is already broken (the
// peer reset it): then no queued byte can reach the peer and the caller
// shuts down now, getting net's error (ENOTCONN). The check leaves the
// socket's pending error to the next receive, as net would see it.
func TestCloseWriteOnBrokenConnection(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(map[bool]string{false: "alive", true: "peer reset"}[reset], func(t *testing.T) {
			s, _, peer := tcpPair(t)
			_, err := s.Write([]byte("queued")) // the fake loop never sends it
			require.NoError(t, err)
			if reset {
				require.NoError(t, peer.SetLinger(0))
				require.NoError(t, peer.Close())
				require.Eventually(t, s.peerGone, 5*time.Second, time.Millisecond, "the reset never arrived")
			}
			now, err := s.CloseWrite()
			require.NoError(t, err)
			assert.Equal(t, reset, now, "shut down now")
			if !reset {
				return
			}
			err = s.WithFD(func(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) })
			assert.Equal(t, syscall.ENOTCONN, err, "net's CloseWrite after a reset")
			err = s.WithFD(func(fd int) error {
				_, _, err := unix.Recvfrom(fd, make([]byte, 1), unix.MSG_DONTWAIT)
				return err
			})
			assert.Equal(t, syscall.ECONNRESET, err, "the reset is still the socket's to report")
		})
	}
}
