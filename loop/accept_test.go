//go:build linux

package loop

import (
	"net"
	"syscall"
	"testing"
	"time"

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

// listenCfg starts accepting on a loopback socket with a group of cfg,
// and returns the group too; both end with the test.
func listenCfg(t testing.TB, cfg Config) (*Listener, string, *Group) {
	t.Helper()
	nl, err := net.Listen("tcp", "127.0.0.1:0")
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
		s, err := ln.Accept()
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
			s, err := ln.Accept()
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
