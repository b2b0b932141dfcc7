//go:build linux

package ringnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ringnet/ringnet/internal/stream"
)

// soloBackends are the backends whose loops hand a lone connection's
// receiving to its reader.
var soloBackends = []string{"io_uring", "poll"}

// soloHandoffs sums the SoloHandoffs counters of backend's loops.
func soloHandoffs(backend string) uint64 {
	return loopStat(backend, func(s LoopStats) uint64 { return s.SoloHandoffs })
}

// TestSoloRead: the Read of a loop's only connection receives with read(2)
// itself and waits for the socket in the netpoller (stream/solo.go).
// Whatever happens while it waits — its own bytes, a second connection on
// the same loop (which takes receiving back to the loop), its peer leaving
// or resetting, a Close or a deadline from another goroutine, the listener
// closing — is handled, and the connection keeps working afterwards.
func TestSoloRead(t *testing.T) {
	tests := []struct {
		name string
		// event runs while the server's Read blocks; it returns what that
		// Read must return.
		event   func(t *testing.T, ln *Listener, srv *Conn, cli net.Conn) (want string, wantErr func(error) bool)
		readsOn bool // the server conn still echoes afterwards
	}{
		{"data", func(t *testing.T, _ *Listener, _ *Conn, cli net.Conn) (string, func(error) bool) {
			_, err := cli.Write([]byte("ping"))
			require.NoError(t, err)
			return "ping", nil
		}, true},
		{"second connection", func(t *testing.T, ln *Listener, _ *Conn, cli net.Conn) (string, func(error) bool) {
			// Accepted on the only loop while the first Read waits
			// solo: the loop takes its receiving back.
			c2, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			defer c2.Close()
			s2, err := ln.AcceptRing()
			require.NoError(t, err)
			defer s2.Close()
			go func() { _, _ = io.Copy(s2, s2) }()
			_, err = c2.Write([]byte("two"))
			require.NoError(t, err)
			buf := make([]byte, 3)
			require.NoError(t, c2.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, err = io.ReadFull(c2, buf)
			require.NoError(t, err)
			assert.Equal(t, "two", string(buf))
			_, err = cli.Write([]byte("one"))
			require.NoError(t, err)
			return "one", nil
		}, true},
		{"peer closes", func(t *testing.T, _ *Listener, _ *Conn, cli net.Conn) (string, func(error) bool) {
			require.NoError(t, cli.Close())
			return "", func(err error) bool { return err == io.EOF }
		}, false},
		{"peer resets", func(t *testing.T, _ *Listener, _ *Conn, cli net.Conn) (string, func(error) bool) {
			require.NoError(t, cli.(*net.TCPConn).SetLinger(0))
			require.NoError(t, cli.Close())
			return "", func(err error) bool {
				var op *net.OpError
				return errors.As(err, &op) && errors.Is(err, syscall.ECONNRESET)
			}
		}, false},
		{"close", func(t *testing.T, _ *Listener, srv *Conn, _ net.Conn) (string, func(error) bool) {
			require.NoError(t, srv.Close())
			return "", func(err error) bool { return errors.Is(err, net.ErrClosed) }
		}, false},
		{"deadline", func(t *testing.T, _ *Listener, srv *Conn, _ net.Conn) (string, func(error) bool) {
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
			return "", func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
		}, false},
		{"listener closes", func(t *testing.T, ln *Listener, _ *Conn, cli net.Conn) (string, func(error) bool) {
			require.NoError(t, ln.Close())
			_, err := ln.Accept()
			require.ErrorIs(t, err, net.ErrClosed)
			_, err = cli.Write([]byte("still"))
			require.NoError(t, err)
			return "still", nil
		}, true},
	}
	for _, backend := range soloBackends {
		for _, tt := range tests {
			t.Run(backend+"/"+tt.name, func(t *testing.T) {
				ln, cli, srv := oneLoopPair(t, backend)
				type result struct {
					b   string
					err error
				}
				done := make(chan result, 1)
				go func() {
					buf := make([]byte, 16)
					n, err := srv.Read(buf)
					done <- result{string(buf[:n]), err}
				}()
				// Let the Read block in its own receive before the event.
				require.Eventually(t, srv.s.SoloReading, 5*time.Second, time.Millisecond,
					"the blocked Read does not receive itself")
				want, wantErr := tt.event(t, ln.(*Listener), srv, cli)
				var r result
				select {
				case r = <-done:
				case <-time.After(5 * time.Second):
					t.Fatal("Read did not return")
				}
				if wantErr != nil {
					assert.True(t, wantErr(r.err), "Read error %v", r.err)
				} else {
					require.NoError(t, r.err)
					assert.Equal(t, want, r.b)
				}
				if !tt.readsOn {
					return
				}
				// The conn still works both ways afterwards.
				go func() { _, _ = io.Copy(srv, srv) }()
				for i := range 50 {
					msg := []byte{byte(i), 'x'}
					_, err := cli.Write(msg)
					require.NoError(t, err)
					buf := make([]byte, 2)
					require.NoError(t, cli.SetReadDeadline(time.Now().Add(5*time.Second)))
					_, err = io.ReadFull(cli, buf)
					require.NoError(t, err)
					require.Equal(t, msg, buf)
				}
			})
		}
	}
}

// oneLoopPair returns a listener on a group of one loop of backend, a
// client connected to it and the accepted server side, all closed at the
// end of the test. The server has received stream.SoloAfter bytes from
// the client, one at a time, so the loop has handed its receiving to its
// reader (TestSoloAfterReceives).
func oneLoopPair(t *testing.T, backend string) (net.Listener, net.Conn, *Conn) {
	t.Helper()
	ln, cli, srv := oneLoopPairNew(t, backend)
	primeSolo(t, cli, srv)
	return ln, cli, srv
}

// primeSolo has peer send srv stream.SoloAfter bytes, one at a time, each
// read by srv before the next: a loop hands a connection alone on it to
// its reader only after that many receives delivered it bytes.
func primeSolo(t *testing.T, peer, srv net.Conn) {
	t.Helper()
	for range stream.SoloAfter {
		_, err := peer.Write([]byte{0})
		require.NoError(t, err)
		_, err = io.ReadFull(srv, make([]byte, 1))
		require.NoError(t, err)
	}
}

// oneLoopPairNew is oneLoopPair before any byte went through the
// connection.
func oneLoopPairNew(t *testing.T, backend string) (net.Listener, net.Conn, *Conn) {
	t.Helper()
	ln, err := (&ListenConfig{Backend: backend, Loops: 1}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	cli, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	srv, err := ln.(*Listener).AcceptRing()
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return ln, cli, srv
}

// TestSoloAfterReceives: a loop's only connection is handed to its reader
// (a descriptor of its own, registered with the netpoller) only after
// stream.SoloAfter receives through the loop delivered bytes, so that a
// connection that carries one request and closes never pays for that.
// Reads that wait before then wait for the loop; once it has handed over,
// the reader receives itself.
func TestSoloAfterReceives(t *testing.T) {
	for _, backend := range soloBackends {
		t.Run(backend, func(t *testing.T) {
			before := soloHandoffs(backend)
			_, cli, srv := oneLoopPairNew(t, backend)
			for i := range stream.SoloAfter {
				done := make(chan error, 1)
				go func() {
					_, err := io.ReadFull(srv, make([]byte, 4))
					done <- err
				}()
				// The Read waits, and not in a receive of its own.
				time.Sleep(50 * time.Millisecond)
				assert.False(t, srv.s.SoloReading(), "Read %d receives itself", i+1)
				assert.Equal(t, before, soloHandoffs(backend), "receiving handed to the reader before Read %d", i+1)
				_, err := cli.Write([]byte("ping"))
				require.NoError(t, err)
				select {
				case err := <-done:
					require.NoError(t, err)
				case <-time.After(5 * time.Second):
					t.Fatal("Read did not return")
				}
			}
			require.Eventually(t, func() bool { return soloHandoffs(backend) == before+1 }, 5*time.Second, time.Millisecond,
				"receiving not handed to the reader after %d receives", stream.SoloAfter)
			go func() { _, _ = srv.Read(make([]byte, 1)) }()
			require.Eventually(t, srv.s.SoloReading, 5*time.Second, time.Millisecond,
				"the next Read does not receive itself")
		})
	}
}

// TestSoloHandoverKeepsOrder streams bytes to a connection whose receiving
// moves back and forth between its reader and the loop (other connections
// come and go on the same loop, 300 times) and checks that every byte
// arrives once, in order. With reads of under 4 KiB the reader never turns
// the stream bulk, so churns move receiving back and forth; with reads of
// up to 32 KiB the stream turns bulk early (stream/solo.go) and the loop
// mostly keeps it, a hand-over of its own.
func TestSoloHandoverKeepsOrder(t *testing.T) {
	for _, backend := range soloBackends {
		t.Run(backend+"/small reads", func(t *testing.T) { testSoloHandoverKeepsOrder(t, backend, 4000) })
		t.Run(backend+"/bulk reads", func(t *testing.T) { testSoloHandoverKeepsOrder(t, backend, 32<<10) })
	}
}

func testSoloHandoverKeepsOrder(t *testing.T, backend string, maxRead int) {
	ln, cli, srv := oneLoopPair(t, backend)

	pattern := func(i int) byte { return byte(i*7 + i>>8) }
	stop := make(chan struct{}) // closed when the churn is over
	written := make(chan int, 1)
	go func() {
		// Writes until the churn is over (at most 256 MiB), then ends
		// the stream.
		buf := make([]byte, 16<<10)
		off := 0
		defer func() {
			_ = cli.(*net.TCPConn).CloseWrite()
			written <- off
		}()
		for off < 256<<20 {
			select {
			case <-stop:
				return
			default:
			}
			n := 1 + (off*31)%len(buf)
			for i := range n {
				buf[i] = pattern(off + i)
			}
			if _, err := cli.Write(buf[:n]); err != nil {
				return
			}
			off += n
		}
	}()

	// Other connections come and go on the loop, each one taking the
	// stream's receiving to the ring and giving it back when it leaves.
	before := soloHandoffs(backend)
	churnErr := make(chan error, 1)
	go func() {
		defer close(stop)
		for n := range 300 {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				churnErr <- err
				return
			}
			s, err := ln.Accept()
			if err != nil {
				c.Close()
				churnErr <- err
				return
			}
			_, _ = c.Write([]byte{1})
			s.Close()
			c.Close()
			time.Sleep(time.Duration(n%3) * 50 * time.Microsecond)
		}
		churnErr <- nil
	}()

	require.NoError(t, srv.SetReadDeadline(time.Now().Add(60*time.Second)))
	buf := make([]byte, maxRead)
	got := 0
	for {
		n, err := srv.Read(buf[:1+got%len(buf)])
		for i := range n {
			if buf[i] != pattern(got+i) {
				// Where in the stream do the bytes read here come from?
				k := min(n-i, 32)
				from := -1
				for d := -4 << 20; d < 4<<20 && from < 0; d++ {
					ok := got+i+d >= 0
					for j := 0; ok && j < k; j++ {
						ok = buf[i+j] == pattern(got+i+d+j)
					}
					if ok {
						from = got + i + d
					}
				}
				require.Failf(t, "byte out of order", "offset %d (read of %d at %d): got %d, want %d; the %d bytes here match offset %d",
					got+i, n, got, buf[i], pattern(got+i), k, from)
			}
		}
		got += n
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "after %d bytes", got)
	}
	require.NoError(t, <-churnErr)
	assert.Equal(t, <-written, got, "bytes written and read differ")
	handoffs := soloHandoffs(backend) - before
	t.Logf("%d bytes in order; %d solo hand-offs", got, handoffs)
	if maxRead < 4<<10 {
		// A connection's close reaches the loop after Close returns, so
		// the next one may arrive first, and on io_uring before the
		// cancelled receive has completed: then receiving never went
		// back. 85-182 of the 300 churns hand it back (2026-11-26).
		assert.GreaterOrEqual(t, handoffs, uint64(50), "receiving rarely moved back to the reader")
	}
}

// TestReplyReadAfterRequestWritten: a reply read on a connection is
// ordered, for the race detector, after the request written before it, as
// with net (syscall.Read and Write tell the detector so). Under -race,
// this reports a data race on x if ringnet does not.
func TestReplyReadAfterRequestWritten(t *testing.T) {
	_, cli, srv := oneLoopPair(t, "io_uring")
	go func() { _, _ = io.Copy(cli, cli) }() // the peer echoes

	for range 20 {
		var x int
		got := make(chan error, 1)
		go func() {
			// Blocks before the request is written (solo, on the socket).
			buf := make([]byte, 1)
			_, err := srv.Read(buf)
			if err == nil && x != 1 {
				err = errors.New("reply read before the request was written")
			}
			got <- err
		}()
		require.Eventually(t, srv.s.SoloReading, 5*time.Second, time.Millisecond)
		x = 1
		_, err := srv.Write([]byte{1})
		require.NoError(t, err)
		require.NoError(t, <-got)
	}
}

// TestRawReadLivenessCheck runs the liveness check some database drivers
// make before reusing a connection (a non-blocking read(2) of one byte
// through SyscallConn().Read: EAGAIN means alive, 0 means the peer
// closed) on a connection alone on its loop and on one sharing it. Though
// the loop may already have taken the peer's end of stream, the kernel
// keeps reporting it, so the check sees a closed or reset peer as with net.
func TestRawReadLivenessCheck(t *testing.T) {
	check := func(c net.Conn) (int, error) {
		rc, err := c.(syscall.Conn).SyscallConn()
		require.NoError(t, err)
		var n int
		var rerr error
		require.NoError(t, rc.Read(func(fd uintptr) bool {
			var b [1]byte
			n, rerr = syscall.Read(int(fd), b[:])
			return true
		}))
		return n, rerr
	}
	ends := []struct {
		name string
		end  func(peer *net.TCPConn)
	}{
		{"FIN", func(peer *net.TCPConn) { peer.Close() }},
		{"reset", func(peer *net.TCPConn) { peer.SetLinger(0); peer.Close() }},
	}
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, shared := range []bool{false, true} {
			for _, e := range ends {
				t.Run(fmt.Sprintf("shared=%v/%s", shared, e.name), func(t *testing.T) {
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					require.NoError(t, err)
					defer ln.Close()
					d := &Dialer{Backend: backend, Loops: 1}
					if shared {
						connectT(t, ln, d.Dial)
					}
					c, p := connectT(t, ln, d.Dial)
					peer := p.(*net.TCPConn)

					n, err := check(c)
					assert.Equal(t, syscall.EAGAIN, err, "alive: n=%d", n)
					e.end(peer)
					deadline := time.Now().Add(5 * time.Second)
					for {
						n, err = check(c)
						if err != syscall.EAGAIN || time.Now().After(deadline) {
							break
						}
						time.Sleep(10 * time.Millisecond)
					}
					if err == syscall.ECONNRESET {
						n, err = check(c) // the reset is reported once, then the end
					}
					assert.Equal(t, 0, n, "read(2) after the peer's %s: %v", e.name, err)
					assert.NoError(t, err)
				})
			}
		}
	})
}
