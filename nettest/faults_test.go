package nettest_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resetT makes the client abort its connection: the peer gets an RST.
func resetT(t *testing.T, c *net.TCPConn) {
	t.Helper()
	require.NoError(t, c.SetLinger(0))
	require.NoError(t, c.Close())
}

// TestPeerReset checks what the server sees when its peer resets the
// connection: like *net.TCPConn, an *net.OpError wrapping ECONNRESET for a
// pending Read; EPIPE or ECONNRESET for Writes.
func TestPeerReset(t *testing.T) {
	guard(t, 60*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		t.Run("read", func(t *testing.T) {
			srv, cli := pairT(t, b)
			_, err := cli.Write([]byte("hello"))
			require.NoError(t, err)
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(stepTimeout)))
			buf := make([]byte, 5)
			_, err = io.ReadFull(srv, buf)
			require.NoError(t, err)

			errc := make(chan error, 1)
			go func() {
				_, err := srv.Read(buf)
				errc <- err
			}()
			time.Sleep(100 * time.Millisecond) // the Read is pending
			resetT(t, cli)
			var err2 error
			select {
			case err2 = <-errc:
			case <-time.After(stepTimeout):
				t.Fatal("Read still blocked after the peer reset the connection")
			}
			require.Error(t, err2)
			require.NotEqual(t, io.EOF, err2, "a reset is no clean end of stream")
			var oe *net.OpError
			require.ErrorAs(t, err2, &oe, "%T %v", err2, err2)
			assert.Equal(t, "read", oe.Op)
			assert.ErrorIs(t, err2, syscall.ECONNRESET)
			var ne net.Error
			require.ErrorAs(t, err2, &ne)
			assert.False(t, ne.Timeout())
			t.Logf("Read: %v", err2)
			_, err3 := srv.Read(buf)
			assert.Equal(t, io.EOF, err3, "the reset is reported once, then the stream reads as ended, as on Linux")
		})
		t.Run("write", func(t *testing.T) {
			srv, cli := pairT(t, b)
			errc := make(chan error, 1)
			var written atomic.Int64
			go func() {
				buf := make([]byte, 64<<10)
				deadline := time.Now().Add(stepTimeout)
				_ = srv.SetWriteDeadline(deadline)
				for written.Load() < 1<<30 && time.Now().Before(deadline) {
					n, err := srv.Write(buf)
					written.Add(int64(n))
					if err != nil {
						errc <- err
						return
					}
				}
				errc <- errors.New("Write never failed")
			}()
			require.NoError(t, cli.SetReadDeadline(time.Now().Add(stepTimeout)))
			_, err := io.ReadFull(cli, make([]byte, 256<<10))
			require.NoError(t, err)
			resetT(t, cli)
			var werr error
			select {
			case werr = <-errc:
			case <-time.After(stepTimeout + 5*time.Second):
				t.Fatal("Write still blocked after the peer reset the connection")
			}
			t.Logf("Write after %d bytes: %v", written.Load(), werr)
			var oe *net.OpError
			require.ErrorAs(t, werr, &oe, "%T %v", werr, werr)
			assert.Equal(t, "write", oe.Op)
			assert.True(t, errors.Is(werr, syscall.EPIPE) || errors.Is(werr, syscall.ECONNRESET),
				"want EPIPE or ECONNRESET, got %v", werr)
			assert.False(t, errors.Is(werr, os.ErrDeadlineExceeded), "Write only timed out")
		})
	})
}

// TestPeerHalfClose checks that after the peer's CloseWrite the server reads
// a bare io.EOF, and can still write to the peer.
func TestPeerHalfClose(t *testing.T) {
	guard(t, 30*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		srv, cli := pairT(t, b)
		_, err := cli.Write([]byte("request"))
		require.NoError(t, err)
		require.NoError(t, cli.CloseWrite())

		require.NoError(t, srv.SetReadDeadline(time.Now().Add(stepTimeout)))
		got, err := io.ReadAll(srv) // ReadAll stops at io.EOF itself
		require.NoError(t, err)
		require.Equal(t, "request", string(got))
		for range 2 {
			n, err := srv.Read(make([]byte, 10))
			require.Zero(t, n)
			require.True(t, err == io.EOF, "Read at end of stream: got %T %v, want the bare io.EOF", err, err)
		}

		reply := make([]byte, 3<<20) // more than the socket buffers hold
		_, _ = newPattern(5, int64(len(reply))).Read(reply)
		werr := make(chan error, 1)
		go func() {
			_ = srv.SetWriteDeadline(time.Now().Add(stepTimeout))
			_, err := srv.Write(reply)
			if err == nil {
				err = srv.Close()
			}
			werr <- err
		}()
		require.NoError(t, cli.SetReadDeadline(time.Now().Add(stepTimeout)))
		v := &patternVerifier{seed: 5}
		n, err := io.Copy(v, cli)
		require.NoError(t, err)
		require.EqualValues(t, len(reply), n)
		require.NoError(t, <-werr)
	})
}

// heapInuse is the heap in use after a collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestUnreadConn has a peer send up to 64 MiB to a connection the server
// never reads: the peer's Write must block (the server stops taking data),
// the server's memory must stay bounded, another connection on the same
// listener must keep being served, and once the server reads, every byte
// must arrive in order.
func TestUnreadConn(t *testing.T) {
	guard(t, 90*time.Second)
	const maxSend = 64 << 20
	forEachBackend(t, func(t *testing.T, b *backend) {
		ln := listenT(t, b)
		unread := make(chan net.Conn, 1)
		var first atomic.Bool
		serveT(t, ln, func(c net.Conn) {
			if first.CompareAndSwap(false, true) {
				unread <- c
				<-t.Context().Done() // keep it open, never read it
				return
			}
			echo(c)
		})
		heap0 := heapInuse()

		flood := dialT(t, ln.Addr().String())
		var srvFlood net.Conn
		select {
		case srvFlood = <-unread:
		case <-time.After(stepTimeout):
			t.Fatal("the server did not accept the flooding connection")
		}
		pinger := dialT(t, ln.Addr().String())

		// Ping-pong on the other connection all along.
		stopPing := make(chan struct{})
		pingDone := make(chan error, 1)
		var pings atomic.Int64
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stopPing:
					pingDone <- nil
					return
				default:
				}
				if err := roundTrip(pinger, []byte(fmt.Sprintf("ping %d", i)), 2*time.Second); err != nil {
					pingDone <- fmt.Errorf("ping %d: %w", i, err)
					return
				}
				pings.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		}()

		// Flood until a Write blocks for a second (64 MiB or 10 s at most).
		src := newPattern(6, maxSend)
		buf := make([]byte, 64<<10)
		var sent int64
		blocked := false
		t0 := time.Now()
		for sent < maxSend && time.Since(t0) < 10*time.Second {
			n, _ := src.Read(buf)
			require.NoError(t, flood.SetWriteDeadline(time.Now().Add(time.Second)))
			m, err := flood.Write(buf[:n])
			sent += int64(m)
			if err != nil {
				require.ErrorIs(t, err, os.ErrDeadlineExceeded)
				blocked = true
				break
			}
		}
		t.Logf("the peer's Write blocked after %d bytes (%v)", sent, time.Since(t0))
		require.True(t, blocked, "the peer sent %d bytes in %v to a connection nobody reads without blocking",
			sent, time.Since(t0))

		// Still blocked a moment later, and the other connection is served.
		time.Sleep(500 * time.Millisecond)
		heap1 := heapInuse()
		growth := int64(heap1) - int64(heap0)
		t.Logf("heap in use grew by %.1f MiB", float64(growth)/(1<<20))
		if b.stats != nil {
			s := b.stats()
			t.Logf("%s stats while stalled: %+v", b.name, s)
			assert.LessOrEqual(t, s.BuffersInUse, s.Buffers/2,
				"provided buffers held while one connection is stalled")
		}
		close(stopPing)
		select {
		case err := <-pingDone:
			require.NoError(t, err, "the other connection was not served while one was stalled")
		case <-time.After(stepTimeout):
			t.Fatal("the ping loop did not stop")
		}
		require.Greater(t, pings.Load(), int64(10), "round trips on the other connection")
		require.Less(t, growth, int64(32<<20), "heap growth while a connection is stalled")

		// Now read everything: nothing lost, nothing reordered.
		var wg sync.WaitGroup
		wg.Add(1)
		var readErr error
		var got int64
		go func() {
			defer wg.Done()
			_ = srvFlood.SetReadDeadline(time.Now().Add(30 * time.Second))
			v := &patternVerifier{seed: 6}
			got, readErr = io.Copy(v, srvFlood)
		}()
		require.NoError(t, flood.SetWriteDeadline(time.Now().Add(30*time.Second)))
		rest := newPattern(6, sent+(8<<20))
		rest.off = sent
		m, err := io.Copy(flood, rest)
		require.NoError(t, err)
		sent += m
		require.NoError(t, flood.CloseWrite())
		require.True(t, waitTimeout(&wg, 35*time.Second), "reading the stalled connection did not end")
		require.NoError(t, readErr)
		require.Equal(t, sent, got, "bytes read after the stall")
	})
}

// TestTinyBufferRing runs 100 busy connections, each echoing 1 MiB of its
// own pattern, through a listener whose loops have a buffer ring of 4
// entries. Every byte must come back in order, without absurd CPU use, and
// the process must be idle afterwards (no spinning loop).
func TestTinyBufferRing(t *testing.T) {
	guard(t, 90*time.Second)
	const conns, size = 100, 1 << 20
	forEachBackend(t, func(t *testing.T, b *backend) {
		ln := listenOptsT(t, b, listenOpts{Buffers: 4})
		serveT(t, ln, echo)
		cpu0 := processCPU()
		t0 := time.Now()
		deadline := t0.Add(60 * time.Second)

		errc := make(chan error, 2*conns)
		var wg sync.WaitGroup
		for i := range conns {
			c, err := net.DialTimeout("tcp", ln.Addr().String(), dialTimeout)
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			tc := c.(*net.TCPConn)
			require.NoError(t, tc.SetDeadline(deadline))
			wg.Add(2)
			go func() {
				defer wg.Done()
				buf := make([]byte, 32<<10)
				if _, err := io.CopyBuffer(tc, newPattern(100+i, size), buf); err != nil {
					errc <- fmt.Errorf("conn %d: write: %w", i, err)
					return
				}
				if err := tc.CloseWrite(); err != nil {
					errc <- fmt.Errorf("conn %d: CloseWrite: %w", i, err)
				}
			}()
			go func() {
				defer wg.Done()
				n, err := io.Copy(&patternVerifier{seed: 100 + i}, tc)
				if err == nil && n != size {
					err = fmt.Errorf("got %d bytes back, want %d", n, size)
				}
				if err != nil {
					errc <- fmt.Errorf("conn %d: read: %w", i, err)
				}
			}()
		}
		if !waitTimeout(&wg, 70*time.Second) {
			t.Fatal("the echo clients did not finish")
		}
		cpu := processCPU() - cpu0
		t.Logf("%d conns x %d bytes echoed in %v using %v CPU", conns, size, time.Since(t0), cpu)
		if b.stats != nil {
			t.Logf("%s stats: %+v", b.name, b.stats())
		}
		close(errc)
		var errs []error
		for err := range errc {
			errs = append(errs, err)
		}
		require.Empty(t, errs, "%d failures; first: %v", len(errs), errors.Join(errs[:min(5, len(errs))]...))
		require.Less(t, cpu, 20*time.Second, "CPU time for the run")

		// One idle connection stays open: the loops must sleep.
		idle := dialT(t, ln.Addr().String())
		require.NoError(t, roundTrip(idle, []byte("still there"), stepTimeout))
		requireIdleCPU(t, 500*time.Millisecond)
	})
}

// TestAcceptClosedPeer accepts connections whose peers have already sent
// data and closed: each must still yield the data, then io.EOF.
func TestAcceptClosedPeer(t *testing.T) {
	guard(t, 30*time.Second)
	const n = 20
	forEachBackend(t, func(t *testing.T, b *backend) {
		ln := listenT(t, b)
		for i := range n {
			c, err := net.DialTimeout("tcp", ln.Addr().String(), dialTimeout)
			require.NoError(t, err)
			_, err = fmt.Fprintf(c, "conn %d", i)
			require.NoError(t, err)
			require.NoError(t, c.Close())
		}
		time.Sleep(100 * time.Millisecond) // the FINs have arrived
		got := map[string]bool{}
		for range n {
			c := acceptT(t, ln, stepTimeout)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
			data, err := io.ReadAll(c)
			require.NoError(t, err, "reading a connection whose peer closed before Accept")
			got[string(data)] = true
			require.NoError(t, c.Close())
		}
		for i := range n {
			assert.True(t, got[fmt.Sprintf("conn %d", i)], "conn %d", i)
		}
	})
}
