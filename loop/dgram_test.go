//go:build linux

package loop

import (
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/dgram"
	"github.com/ringnet/ringnet/internal/sockaddr"
)

func TestProbePackets(t *testing.T) {
	require.NoError(t, ProbePackets(), "this kernel (6.0 or later) has multishot recvmsg")
}

// adoptPacketT hands a duplicate of pc's socket to a one-loop group of
// shape cfg; both end with the test.
func adoptPacketT(t *testing.T, cfg Config, pc syscall.Conn, o dgram.Options) *dgram.Socket {
	t.Helper()
	rc, err := pc.SyscallConn()
	require.NoError(t, err)
	fd := -1
	require.NoError(t, rc.Control(func(s uintptr) { fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }))
	require.NoError(t, err)
	cfg.Loops = 1
	g, err := Acquire(cfg)
	require.NoError(t, err)
	s, err := g.AdoptPacket(fd, o)
	g.Release()
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRecvMsg receives through the multishot receive: whole datagrams in
// order with their source, empty ones, one cut by the reader's buffer,
// and, with a ring of two buffers, bursts that run the ring dry (ENOBUFS)
// without losing or reordering one.
func TestRecvMsg(t *testing.T) {
	nc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer nc.Close()
	s := adoptPacketT(t, Config{Buffers: 2}, nc.(syscall.Conn), dgram.Options{})
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer peer.Close()
	sizes := []int{10, 0, 1500, 65507, 3}
	for round := range 20 {
		for i, n := range sizes {
			b := make([]byte, n)
			if n > 0 {
				b[0] = byte(round*len(sizes) + i)
			}
			_, err := peer.WriteTo(b, nc.LocalAddr())
			require.NoError(t, err)
		}
		for i, n := range sizes {
			buf := make([]byte, 70000)
			if i == 2 {
				buf = buf[:100] // cut
			}
			s.SetReadDeadline(time.Now().Add(5 * time.Second))
			var from sockaddr.Addr
			got, _, flags, err := s.ReadMsg(buf, nil, &from)
			require.NoError(t, err)
			assert.Equal(t, min(n, len(buf)), got, "round %d datagram %d", round, i)
			assert.Equal(t, n > len(buf), flags&unix.MSG_TRUNC != 0, "round %d datagram %d", round, i)
			if n > 0 {
				assert.Equal(t, byte(round*len(sizes)+i), buf[0], "round %d datagram %d: order", round, i)
			}
			assert.Equal(t, uint16(peer.LocalAddr().(*net.UDPAddr).Port), from.Port)
		}
	}
}

// TestCloseCancelsSends closes a socket whose writer waits on a SENDMSG
// the kernel parked on a full peer (a connected Unix datagram socket that
// reads nothing): the loop cancels it, the writer gets ErrClosed, and the
// socket is closed.
func TestCloseCancelsSends(t *testing.T) {
	path := t.TempDir() + "/peer"
	peer, err := net.ListenPacket("unixgram", path)
	require.NoError(t, err)
	defer peer.Close()
	nc, err := net.Dial("unixgram", path)
	require.NoError(t, err)
	defer nc.Close()
	s := adoptPacketT(t, Config{}, nc.(syscall.Conn), dgram.Options{Unix: true})
	errc := make(chan error, 1)
	go func() {
		for {
			if _, _, err := s.WriteMsg(make([]byte, 100), nil, nil); err != nil {
				errc <- err
				return
			}
		}
	}()
	select {
	case err := <-errc:
		t.Fatalf("a write to a full peer returned %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, s.Close())
	select {
	case err := <-errc:
		assert.Equal(t, dgram.ErrClosed, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the writer still waits after Close")
	}
	assert.ErrorIs(t, s.WithFD(func(int) error { return nil }), dgram.ErrClosed)
	_ = os.Remove(path)
}
