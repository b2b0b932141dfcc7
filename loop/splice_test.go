//go:build linux

package loop

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// socketPair returns both ends of a Unix stream socket pair as *os.File.
func socketPair(t *testing.T) (a, b *os.File) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	return os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
}

// TestSendFileReusesPipes: a SendFile from a socket that ends with its pipe
// empty leaves the pipe to the next one on the same loop, which moves its
// bytes through the same pipe; the loop closes kept pipes when it stops
// (TestMain counts descriptors).
func TestSendFileReusesPipes(t *testing.T) {
	g, err := Acquire(Config{Loops: 1})
	require.NoError(t, err)
	defer g.Release()

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	s := g.Adopt(fds[0])
	peer := os.NewFile(uintptr(fds[1]), "peer")
	defer peer.Close()
	c := s.Kicker().(*conn)

	src, feed := socketPair(t)
	defer src.Close()
	defer feed.Close()

	want := bytes.Repeat([]byte("ringnet "), 8<<10) // 64 KiB per SendFile
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(peer, int64(2*len(want))))
		got <- b
	}()

	var first splicePipe
	for i := range 2 {
		go func() { _, _ = feed.Write(want) }()
		require.NoError(t, s.LockSend())
		n, err := c.SendFile(int(src.Fd()), int64(len(want)))
		s.UnlockSend(err)
		require.NoError(t, err)
		require.Equal(t, int64(len(want)), n)

		c.l.pipes.mu.Lock()
		kept := append([]splicePipe(nil), c.l.pipes.free...)
		c.l.pipes.mu.Unlock()
		require.Len(t, kept, 1, "SendFile %d kept its empty pipe", i)
		if i == 0 {
			first = kept[0]
		} else {
			assert.Equal(t, first, kept[0], "the second SendFile made a pipe of its own")
		}
	}
	assert.Equal(t, append(want, want...), <-got)
	require.NoError(t, s.Close())
}
