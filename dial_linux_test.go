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

// TestDialTimeout dials a listener whose accept queue is full, so its SYNs
// are dropped and the connect cannot complete.
func TestDialTimeout(t *testing.T) {
	// A listener with a backlog of 0 that never accepts: once one
	// connection waits in its queue, further SYNs are dropped.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, unix.Listen(fd, 0))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	var fill []net.Conn
	defer func() {
		for _, c := range fill {
			c.Close()
		}
	}()
	full := false
	for range 16 {
		// A dropped SYN is retried after a second: a dial that waits
		// that long means the queue is really full, not the machine slow.
		c, err := net.DialTimeout("tcp", addr, 1500*time.Millisecond)
		if err != nil {
			full = true
			break
		}
		fill = append(fill, c)
	}
	require.True(t, full, "the accept queue never filled")

	d := Dialer{Timeout: 100 * time.Millisecond}
	start := time.Now()
	c, err := d.Dial("tcp", addr)
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.Nil(t, c)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "want a timeout, got %v", err)
	assert.Less(t, elapsed, 2*time.Second)
}
