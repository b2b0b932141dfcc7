//go:build linux

package loop

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// listenT starts accepting on a loopback socket with a one-loop group;
// both end with the test.
func listenT(t *testing.T) (*Listener, string) {
	t.Helper()
	ln, addr, _ := listenCfg(t, Config{Loops: 1})
	return ln, addr
}

// listenNetT starts accepting on a loopback socket of network (tcp4:
// 127.0.0.1, tcp6: ::1) with a group of loops; both end with the test.
func listenNetT(t *testing.T, network string, loops int) (*Listener, string) {
	t.Helper()
	ln, addr, _ := listenNetCfg(t, network, Config{Loops: loops})
	return ln, addr
}

// listenCfg starts accepting on a 127.0.0.1 socket with a group of cfg,
// and returns the group too; both end with the test.
func listenCfg(t testing.TB, cfg Config) (*Listener, string, *Group) {
	t.Helper()
	return listenNetCfg(t, "tcp", cfg)
}

// listenNetCfg is listenCfg on a socket of network (tcp6: ::1).
func listenNetCfg(t testing.TB, network string, cfg Config) (*Listener, string, *Group) {
	t.Helper()
	host := "127.0.0.1:0"
	if network == "tcp6" {
		host = "[::1]:0"
	}
	nl, err := net.Listen(network, host)
	if network == "tcp6" && err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	require.NoError(t, err)
	rc, err := nl.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	fd := -1
	require.NoError(t, rc.Control(func(s uintptr) { fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }))
	require.NoError(t, err)
	addr := nl.Addr().String()
	require.NoError(t, nl.Close())
	g, err := Acquire(cfg)
	require.NoError(t, err)
	ln := g.Listen(fd).(*Listener)
	g.Release()
	t.Cleanup(func() { _ = ln.Close() })
	return ln, addr, g
}

// setAcceptBacklog sets AcceptBacklog for the test; it is set back after
// the listeners the test makes later have closed (cleanups run last first).
func setAcceptBacklog(t *testing.T, n int) {
	old := AcceptBacklog
	AcceptBacklog = n
	t.Cleanup(func() { AcceptBacklog = old })
}

// dialN opens n connections to addr, closed when the test ends.
func dialN(t *testing.T, addr string, n int) {
	t.Helper()
	for range n {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
	}
}

// acceptN accepts n connections, each within 5 s, and closes them.
func acceptN(t *testing.T, ln *Listener, n int) {
	t.Helper()
	for i := range n {
		ln.SetDeadline(time.Now().Add(5 * time.Second))
		s, _, err := ln.Accept()
		require.NoError(t, err, "connection %d of %d", i+1, n)
		require.NoError(t, s.Close())
	}
}

// TestAcceptPause: with more connections waiting than AcceptBacklog, the
// loop stops accepting (the rest wait in the kernel's backlog, as with
// net) and starts again as Accept drains the queue, so every connection
// is accepted.
func TestAcceptPause(t *testing.T) {
	setAcceptBacklog(t, 4)
	ln, addr := listenT(t)
	dialN(t, addr, 40)
	// The loop pauses once the mark is reached (connections the kernel
	// had already handed to the multishot accept are still queued).
	require.Eventually(t, ln.paused.Load, 5*time.Second, time.Millisecond, "the loop paused its accepts")
	acceptN(t, ln, 40)
}

// TestAcceptPauseRacesDrain: an Accept that drains the queue just as the
// loop decides to pause (after the loop read the queue's length, before it
// set the flag Accept checks) must not leave the listener paused for good.
func TestAcceptPauseRacesDrain(t *testing.T) {
	setAcceptBacklog(t, 2)
	drained := make(chan struct{})
	testHookPausing = func(ln *Listener) {
		testHookPausing = nil // once (it runs on the loop goroutine)
		for ln.q.Len() > 0 {
			s, _, err := ln.Accept()
			if err == nil {
				_ = s.Close()
			}
		}
		close(drained)
	}
	t.Cleanup(func() { testHookPausing = nil }) // after the listener's close
	ln, addr := listenT(t)
	dialN(t, addr, AcceptBacklog)
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop never paused")
	}
	// The hook took the connections that made the loop pause; those that
	// come later must still be accepted.
	dialN(t, addr, 8)
	acceptN(t, ln, 8)
}

// TestAcceptPeer: Accept returns the peer's address as the accept
// reported it, in the form syscall.Getpeername gives, for IPv4 and IPv6.
func TestAcceptPeer(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			ln, addr := listenNetT(t, network, 1)
			c, err := net.Dial(network, addr)
			if network == "tcp6" && err != nil {
				t.Skipf("no IPv6 loopback: %v", err)
			}
			require.NoError(t, err)
			defer c.Close()
			ln.SetDeadline(time.Now().Add(5 * time.Second))
			s, peer, err := ln.Accept()
			require.NoError(t, err)
			defer s.Close()
			want, err := syscall.Getpeername(s.FD())
			require.NoError(t, err)
			assert.Equal(t, want, peer)
			local := c.LocalAddr().(*net.TCPAddr)
			switch p := peer.(type) {
			case *syscall.SockaddrInet4:
				assert.Equal(t, local.Port, p.Port)
				assert.True(t, local.IP.Equal(net.IP(p.Addr[:])), "peer %v, client %v", p.Addr, local.IP)
			case *syscall.SockaddrInet6:
				assert.Equal(t, local.Port, p.Port)
				assert.True(t, local.IP.Equal(net.IP(p.Addr[:])), "peer %v, client %v", p.Addr, local.IP)
			default:
				t.Fatalf("peer %T", peer)
			}
		})
	}
}

// TestAcceptSpread: the loops of a group take the connections of a
// listener in turn and keep them, though the kernel hands each connection
// to one waiting accept: connections made one after the other end up on
// every loop.
func TestAcceptSpread(t *testing.T) {
	const loops, conns = 2, 16
	ln, addr := listenNetT(t, "tcp4", loops)
	for i := range conns {
		c, err := net.Dial("tcp4", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		ln.SetDeadline(time.Now().Add(5 * time.Second))
		s, _, err := ln.Accept()
		require.NoError(t, err, "connection %d", i)
		t.Cleanup(func() { s.Close() })
	}
	var accepted, owned []int64
	for _, l := range ln.g.loops {
		accepted = append(accepted, int64(l.stats.Accepts.Load()))
		owned = append(owned, l.stats.Conns.Load())
	}
	assert.Equal(t, accepted, owned, "a loop owns what it accepted")
	for i, n := range owned {
		assert.NotZero(t, n, "loop %d took no connection of %d (per loop: %v)", i, conns, owned)
	}
}
