//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBlockedRawCallback: a raw Control callback holds the socket open while
// it runs, so closing a connection or a listener under it closes the fd
// only once the callback returns, as with net. A loop closing that fd must
// not wait for it meanwhile: the loop's other connections go on being
// served. A listener's Close waits for the callback, as net's does.
func TestBlockedRawCallback(t *testing.T) {
	// block runs a raw Control that waits until the returned release is
	// called (at the latest when the test ends, failed or not); it returns
	// once the callback runs.
	block := func(t *testing.T, rc syscall.RawConn) (release func(), done <-chan error) {
		inside, leave, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() { errc <- rc.Control(func(uintptr) { close(inside); <-leave }) }()
		<-inside
		release = sync.OnceFunc(func() { close(leave) })
		t.Cleanup(release)
		return release, errc
	}
	// arrives reports whether ch yields (a value, or its close) within d.
	arrives := func(ch <-chan error, d time.Duration) bool {
		select {
		case <-ch:
			return true
		case <-time.After(d):
			return false
		}
	}
	// listenerCloseWaits starts ln.Close under a blocked Control of ln's and
	// reports whether Close waited for the callback; serving (if not nil)
	// runs while Close waits.
	listenerCloseWaits := func(t *testing.T, ln net.Listener, serving func()) bool {
		rc, err := ln.(syscall.Conn).SyscallConn()
		require.NoError(t, err)
		release, done := block(t, rc)
		closeDone := make(chan error, 1)
		go func() { closeDone <- ln.Close() }()
		if serving != nil {
			serving()
		}
		waited := !arrives(closeDone, 100*time.Millisecond)
		release()
		require.NoError(t, <-done)
		require.True(t, arrives(closeDone, 5*time.Second), "Close returns once the callback has")
		return waited
	}

	nln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	netWaits := listenerCloseWaits(t, nln, nil)
	require.True(t, netWaits, "net: a listener's Close waits for a running Control")

	forEachBackend(t, func(t *testing.T, backend string) {
		// echoes makes a connection on ln's only loop that echoes, and
		// returns a check that a round trip on it completes within a second.
		echoes := func(t *testing.T, ln net.Listener) func() {
			peer, echo := connectT(t, ln, nil)
			go func() { _, _ = io.Copy(echo, echo) }()
			return func() {
				start := time.Now()
				_, err := peer.Write([]byte("ping"))
				require.NoError(t, err)
				require.NoError(t, peer.SetReadDeadline(time.Now().Add(5*time.Second)))
				_, err = io.ReadFull(peer, make([]byte, 4))
				require.NoError(t, err)
				assert.Less(t, time.Since(start), time.Second, "echo round trip on the same loop")
			}
		}
		listen := func(t *testing.T) net.Listener {
			lc := ListenConfig{Backend: backend, Loops: 1}
			ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { ln.Close() })
			return ln
		}

		t.Run("conn", func(t *testing.T) {
			ln := listen(t)
			roundTrip := echoes(t, ln)
			peer, server := connectT(t, ln, nil)
			rc, err := server.(*Conn).SyscallConn()
			require.NoError(t, err)
			release, done := block(t, rc)
			conns := func() uint64 { return loopStat(backend, func(s LoopStats) uint64 { return uint64(s.Conns) }) }
			before := conns()
			require.NoError(t, server.Close())
			// (Below, not equal: a connection of an earlier test may
			// finish its close meanwhile.)
			require.Eventually(t, func() bool { return conns() < before }, 5*time.Second, time.Millisecond,
				"the loop is done with the connection without waiting for the callback")
			roundTrip()

			// The socket is still open: the peer sees no FIN until the
			// callback returns, then it does.
			require.NoError(t, peer.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
			_, err = peer.Read(make([]byte, 1))
			require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the fd stays open while the callback runs")
			release()
			require.NoError(t, <-done)
			require.NoError(t, peer.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, err = peer.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF, "closed once the callback returned")
		})

		t.Run("listener", func(t *testing.T) {
			ln := listen(t)
			roundTrip := echoes(t, ln) // accepted connections outlive the listener
			// A second connection, so that the loop receives for the echo
			// (a loop's only connection receives without it).
			connectT(t, ln, nil)
			serving := func() {
				time.Sleep(100 * time.Millisecond) // the loop takes the listener's close
				roundTrip()
			}
			assert.Equal(t, netWaits, listenerCloseWaits(t, ln, serving), "Close waits for the callback, as net's")
		})
	})
}
