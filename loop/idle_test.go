//go:build linux

package loop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// setTrimAfter sets trimAfter for the test; loops read it on their own
// goroutine, so it is set back only after the test's groups have stopped.
func setTrimAfter(t testing.TB, d time.Duration) {
	old := trimAfter
	trimAfter = d
	t.Cleanup(func() {
		WaitStopped()
		trimAfter = old
	})
}

// residentPages counts the pages of b that are in memory (mincore(2)).
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	page := unix.Getpagesize()
	vec := make([]byte, (len(b)+page-1)/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	require.Zero(t, errno, "mincore")
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// echoAll accepts connections from ln until it closes and echoes each one
// back to its peer; the returned function waits for every echo to end.
func echoAll(ln *Listener) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			s, _, err := ln.Accept()
			if err != nil {
				return
			}
			// As net does: no Nagle delay on the echoes.
			_ = s.WithFD(func(fd int) error { return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) })
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer s.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 {
						if _, werr := s.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return wg.Wait
}

// pattern fills b with bytes that depend on the connection, the message
// and the position, so that a byte out of place or from another message
// does not compare equal.
func pattern(b []byte, conn, msg int) {
	for i := range b {
		b[i] = byte(conn*131 + msg*31 + i*7 + i>>8)
	}
}

// exchange sends msgs messages of random sizes up to maxLen on c and
// checks that each comes back whole, byte for byte; between messages it
// waits up to pause at random.
func exchange(c net.Conn, conn, msgs, maxLen int, pause time.Duration, rng *rand.Rand) error {
	for m := range msgs {
		out := make([]byte, 1+rng.IntN(maxLen))
		pattern(out, conn, m)
		if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
			return err
		}
		if _, err := c.Write(out); err != nil {
			return fmt.Errorf("conn %d msg %d: write: %w", conn, m, err)
		}
		in := make([]byte, len(out))
		if _, err := io.ReadFull(c, in); err != nil {
			return fmt.Errorf("conn %d msg %d: read: %w", conn, m, err)
		}
		if !bytes.Equal(in, out) {
			i := 0
			for in[i] == out[i] {
				i++
			}
			return fmt.Errorf("conn %d msg %d (%d bytes): byte %d is %#x, want %#x", conn, m, len(out), i, in[i], out[i])
		}
		if pause > 0 {
			time.Sleep(time.Duration(rng.Int64N(int64(pause))))
		}
	}
	return nil
}

// trimConfigs are small rings, so that the connections of the tests run
// them empty: one that provides its buffers by load, one that provides
// all four at all times.
var trimConfigs = []struct {
	name string
	cfg  Config
}{
	{"buffers by load", Config{Loops: 1, BufferSize: 4 << 10}},
	{"four buffers provided", Config{Loops: 1, Buffers: 4, BufferSize: 4 << 10}},
}

// trimNow has l trim, as it does once idle, and waits until it has.
func trimNow(t *testing.T, l *Loop) {
	t.Helper()
	trims := l.stats.Trims.Load()
	l.post(l.trim)
	require.Eventually(t, func() bool { return l.stats.Trims.Load() > trims }, 5*time.Second, time.Millisecond, "the trim did not end")
}

// TestTrimGivesPagesBackAndReceivesAgain: a trim leaves no page of the
// buffers resident, and when traffic comes back every byte still
// arrives, whole and in order, on every connection, round after round.
func TestTrimGivesPagesBackAndReceivesAgain(t *testing.T) {
	setTrimAfter(t, time.Hour) // the test trims (trimNow)
	for _, tt := range trimConfigs {
		t.Run(tt.name, func(t *testing.T) {
			ln, addr, g := listenCfg(t, tt.cfg)
			wait := echoAll(ln)
			l := g.loops[0]
			const conns = 6 // more than one: a lone connection's reader receives itself
			cs := make([]net.Conn, conns)
			for i := range cs {
				c, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				cs[i] = c
			}
			for round := range 5 {
				var wg sync.WaitGroup
				errs := make([]error, conns)
				for i, c := range cs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = exchange(c, i, 40, 12<<10, 0, rand.New(rand.NewPCG(uint64(round), uint64(i))))
					}()
				}
				wg.Wait()
				require.NoError(t, errors.Join(errs...), "round %d", round)
				require.Positive(t, residentPages(t, l.bufs.data), "round %d: the traffic left no page of the buffers resident", round)
				trimNow(t, l)
				assert.Zero(t, residentPages(t, l.bufs.data), "round %d: pages still resident after the trim", round)
			}
			for _, c := range cs {
				require.NoError(t, c.Close())
			}
			require.NoError(t, ln.Close())
			wait()
		})
	}
}

// TestIdleLoopTrims: once its traffic stops, a loop trims by itself
// within about trimAfter, and holds no page of its buffers.
func TestIdleLoopTrims(t *testing.T) {
	setTrimAfter(t, 20*time.Millisecond)
	ln, addr, g := listenCfg(t, Config{Loops: 1, BufferSize: 4 << 10})
	wait := echoAll(ln)
	l := g.loops[0]
	var wg sync.WaitGroup
	errs := make([]error, 3)
	cs := make([]net.Conn, len(errs))
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		cs[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = exchange(c, i, 20, 8<<10, 0, rand.New(rand.NewPCG(5, uint64(i))))
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Eventually(t, func() bool { return l.stats.Trims.Load() > 0 && residentPages(t, l.bufs.data) == 0 },
		5*time.Second, time.Millisecond, "the idle loop kept its pages")
	for _, c := range cs {
		require.NoError(t, c.Close())
	}
	require.NoError(t, ln.Close())
	wait()
}

// TestTrimRacesReceives: with pauses around trimAfter between messages,
// trims start while bytes are arriving (the cancelled receives complete
// with data, or the bytes wait for the receives armed after the trim);
// nothing is lost, duplicated or reordered.
func TestTrimRacesReceives(t *testing.T) {
	setTrimAfter(t, 2*time.Millisecond)
	for _, tt := range trimConfigs {
		t.Run(tt.name, func(t *testing.T) {
			ln, addr, g := listenCfg(t, tt.cfg)
			wait := echoAll(ln)
			l := g.loops[0]
			const conns = 4
			var wg sync.WaitGroup
			errs := make([]error, conns)
			for i := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := net.Dial("tcp", addr)
					if err != nil {
						errs[i] = err
						return
					}
					defer c.Close()
					errs[i] = exchange(c, i, 150, 9<<10, 10*time.Millisecond, rand.New(rand.NewPCG(7, uint64(i))))
				}()
			}
			wg.Wait()
			require.NoError(t, errors.Join(errs...))
			t.Logf("trims %d, receives out of buffers %d, buffers provided %d", l.stats.Trims.Load(), l.stats.NoBufs.Load(), l.bufs.provided.Load())
			assert.Positive(t, l.stats.Trims.Load(), "no trim happened: the test did not test")
			require.NoError(t, ln.Close())
			wait()
		})
	}
}

// TestNoTrimWhileReceiving: a loop that keeps receiving keeps its pages
// (a trim costs a cancel and a receive per connection): none happens
// while messages come more often than trimAfter.
func TestNoTrimWhileReceiving(t *testing.T) {
	setTrimAfter(t, 200*time.Millisecond)
	ln, addr, g := listenCfg(t, Config{Loops: 1, BufferSize: 4 << 10})
	wait := echoAll(ln)
	l := g.loops[0]
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			errs[i] = exchange(c, i, 100, 1<<10, 10*time.Millisecond, rand.New(rand.NewPCG(3, uint64(i))))
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	assert.Zero(t, l.stats.Trims.Load(), "trimmed while receiving")
	require.NoError(t, ln.Close())
	wait()
}

// BenchmarkTrim is the cost of one trim of a loop with 1,000 idle
// connections: a cancel and a new receive for each, their completions,
// and the madvise. Divide by 1,000 for the cost per connection.
func BenchmarkTrim(b *testing.B) {
	setTrimAfter(b, time.Hour) // the benchmark trims
	ln, addr, g := listenCfg(b, Config{Loops: 1})
	wait := echoAll(ln)
	l := g.loops[0]
	cs := make([]net.Conn, 1000)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		require.NoError(b, err)
		cs[i] = c
	}
	for l.stats.Conns.Load() < 1000 {
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	for range b.N {
		trims := l.stats.Trims.Load()
		l.post(l.trim)
		for l.stats.Trims.Load() == trims {
			time.Sleep(20 * time.Microsecond)
		}
	}
	b.StopTimer()
	for _, c := range cs {
		require.NoError(b, c.Close())
	}
	require.NoError(b, ln.Close())
	wait()
}
