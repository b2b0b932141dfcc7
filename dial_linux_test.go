package ringnet

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fullListener listens on host:port (port 0: any) with a backlog of 0 and
// never accepts, then fills its accept queue, so that further SYNs are
// dropped and a connect to it cannot complete. It returns the port.
func fullListener(t *testing.T, host string, port int) int {
	t.Helper()
	ip := net.ParseIP(host)
	var fd int
	var err error
	if ip4 := ip.To4(); ip4 != nil {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		require.NoError(t, unix.Bind(fd, sa))
	} else {
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		require.NoError(t, unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1))
		sa := &unix.SockaddrInet6{Port: port}
		copy(sa.Addr[:], ip.To16())
		require.NoError(t, unix.Bind(fd, sa))
	}
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Listen(fd, 0))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		port = sa.Port
	case *unix.SockaddrInet6:
		port = sa.Port
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	for range 16 {
		// A dropped SYN is retried after a second: a dial that waits
		// that long means the queue is really full, not the machine slow.
		c, err := net.DialTimeout("tcp", addr, 1500*time.Millisecond)
		if err != nil {
			return port
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return 0
}

// TestDialTimeout dials a listener whose SYNs are dropped: a 100 ms
// timeout ends the in-flight connect with a timeout error, and a context
// cancelled meanwhile ends it with context.Canceled in the chain.
func TestDialTimeout(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(fullListener(t, "127.0.0.1", 0)))
	forEachBackend(t, func(t *testing.T, backend string) {
		t.Run("timeout", func(t *testing.T) {
			d := Dialer{Backend: backend, Timeout: 100 * time.Millisecond}
			start := time.Now()
			c, err := d.Dial("tcp", addr)
			elapsed := time.Since(start)
			require.Error(t, err)
			assert.Nil(t, c)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout(), "want a timeout, got %v", err)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, "dial tcp "+addr+": i/o timeout", err.Error(), "reads as net's")
			assert.GreaterOrEqual(t, elapsed, 100*time.Millisecond)
			assert.Less(t, elapsed, 2*time.Second)
		})
		t.Run("cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			d := Dialer{Backend: backend}
			c, err := d.DialContext(ctx, "tcp", addr)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, "dial tcp "+addr+": operation was canceled", err.Error(), "reads as net's")
		})
	})
}
