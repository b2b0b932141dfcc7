//go:build linux

package stream

import (
	"io"
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

// TestReadAfterShutRead: after CloseRead (ShutRead) and the loop's hand
// over (StartSolo, whatever the loop's other connections), Read returns
// the bytes the loop had queued, then those still in the socket, then
// io.EOF without waiting; an end of stream the loop's last receive
// reported does not stop it. A TCP peer's later bytes are read too, as
// with net; a Unix peer can no longer write.
func TestReadAfterShutRead(t *testing.T) {
	type side struct {
		s     *Stream
		k     *fakeLoop
		write func(string) error
	}
	pairs := map[string]func(t *testing.T) side{
		"tcp": func(t *testing.T) side {
			s, k, peer := tcpPair(t)
			return side{s, k, func(b string) error { _, err := peer.Write([]byte(b)); return err }}
		},
		"unix": func(t *testing.T) side {
			s, k, peer, _ := soloPair(t)
			return side{s, k, func(b string) error { _, err := unix.Write(peer, []byte(b)); return err }}
		},
	}
	for name, pair := range pairs {
		t.Run(name, func(t *testing.T) {
			p := pair(t)
			s := p.s
			inQueue := func() int {
				n := 0
				_ = s.WithFD(func(fd int) error { n, _ = unix.IoctlGetInt(fd, unix.SIOCINQ); return nil })
				return n
			}
			s.Deliver([]byte("queued"))
			require.NoError(t, p.write("kernel"))
			require.Eventually(t, func() bool { return inQueue() == len("kernel") }, 5*time.Second, time.Millisecond)
			assert.False(t, s.StartSolo(false), "a connection sharing its loop is not handed over before CloseRead")

			require.NoError(t, s.WithFD(func(fd int) error { return unix.Shutdown(fd, unix.SHUT_RD) }))
			s.TakeRequests()
			s.ShutRead()
			assert.NotZero(t, s.TakeRequests()&ReqResume, "the loop is asked to hand receiving over")
			s.DeliverEnd(io.EOF) // the loop's receive in flight ends as shutdown wakes it
			require.True(t, s.RecvWanted(), "the loop hands over after the end of stream")
			require.True(t, s.StartSolo(false))

			for _, want := range []string{"queued", "kernel"} {
				r := await(t, readAsync(s))
				require.NoError(t, r.err)
				assert.Equal(t, want, r.b)
			}
			r := await(t, readAsync(s))
			assert.Equal(t, io.EOF, r.err, "nothing left: io.EOF at once")

			err := p.write("late")
			if name == "unix" {
				assert.ErrorIs(t, err, syscall.EPIPE, "a Unix peer's write after CloseRead")
			} else {
				require.NoError(t, err)
				require.Eventually(t, func() bool { return inQueue() == len("late") }, 5*time.Second, time.Millisecond)
				r = await(t, readAsync(s))
				require.NoError(t, r.err)
				assert.Equal(t, "late", r.b, "bytes sent after CloseRead")
			}
			r = await(t, readAsync(s))
			assert.Equal(t, io.EOF, r.err)
			assert.False(t, s.SoloReading())
		})
	}
}
