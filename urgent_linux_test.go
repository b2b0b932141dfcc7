package ringnet

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestUrgentDataInStream: a peer that sends urgent (MSG_OOB) data in the
// middle of the stream: as with net, the reader gets every other byte, in
// order (the urgent byte is out of band and not read). A TCP read stops
// short at the urgent mark with bytes still queued behind it, which must
// not be taken for an empty socket. Run with the bytes arriving while the
// loop receives, and while it is paused at the high-water mark.
func TestUrgentDataInStream(t *testing.T) {
	send := func(t *testing.T, peer net.Conn, filler []byte) []byte {
		if len(filler) > 0 {
			_, err := peer.Write(filler)
			require.NoError(t, err)
		}
		rc, err := peer.(*net.TCPConn).SyscallConn()
		require.NoError(t, err)
		require.NoError(t, rc.Control(func(fd uintptr) {
			require.NoError(t, unix.Send(int(fd), []byte("hello"), 0))
			require.NoError(t, unix.Send(int(fd), []byte("X"), unix.MSG_OOB))
			require.NoError(t, unix.Send(int(fd), []byte("world"), 0))
		}))
		return append(append(append([]byte(nil), filler...), "hello"...), "world"...)
	}
	readAll := func(t *testing.T, c net.Conn, want []byte) {
		got, buf := make([]byte, 0, len(want)), make([]byte, 32<<10)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		for len(got) < len(want) {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			require.NoError(t, err, "after %d of %d bytes", len(got), len(want))
		}
		require.True(t, bytes.Equal(want, got), "the bytes differ")
	}
	scenarios := []struct {
		name   string
		filler int
		wait   time.Duration // before reading: the bytes arrive first
	}{
		{"while receiving", 0, 0},
		{"while paused", 300 << 10, 200 * time.Millisecond}, // past the 256 KiB the loop takes ahead
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			filler := bytes.Repeat([]byte{'.'}, sc.filler)
			t.Run("net", func(t *testing.T) {
				peer, c := netPairT(t)
				want := send(t, peer, filler)
				time.Sleep(sc.wait)
				readAll(t, c, want)
			})
			forEachBackend(t, func(t *testing.T, backend string) {
				lc := ListenConfig{Backend: backend, Loops: 1}
				ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
				require.NoError(t, err)
				defer ln.Close()
				peer, c := connectT(t, ln, nil)
				connectT(t, ln, nil) // a second connection: the loop receives for both
				want := send(t, peer, filler)
				time.Sleep(sc.wait)
				readAll(t, c, want)
			})
		})
	}
}
