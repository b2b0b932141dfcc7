//go:build unix

package stream

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// soloPair returns a stream on one end of a connected, non-blocking Unix
// socket pair and the other end. release does what the loop does when it
// closes the socket (CloseFD); it runs at the end of the test if
// the test did not call it.
func soloPair(t *testing.T) (s *Stream, k *fakeLoop, peer int, release func()) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		require.NoError(t, unix.SetNonblock(fd, true))
	}
	k = &fakeLoop{}
	s = New(fds[0], k)
	var once sync.Once
	release = func() {
		once.Do(s.CloseFD)
	}
	t.Cleanup(func() {
		release()
		_ = unix.Close(fds[1])
	})
	return s, k, fds[1], release
}

type readResult struct {
	b   string
	err error
}

func readAsync(s *Stream) <-chan readResult {
	done := make(chan readResult, 1)
	go func() {
		buf := make([]byte, 64)
		n, err := s.Read(buf)
		done <- readResult{string(buf[:n]), err}
	}()
	return done
}

func await(t *testing.T, done <-chan readResult) readResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return")
		return readResult{}
	}
}

func TestSoloRead(t *testing.T) {
	tests := []struct {
		name string
		// event runs while Read waits in its own receive.
		event func(t *testing.T, s *Stream, peer int, release func())
		check func(t *testing.T, r readResult)
	}{
		{"data", func(t *testing.T, _ *Stream, peer int, _ func()) {
			_, err := unix.Write(peer, []byte("hello"))
			require.NoError(t, err)
		}, func(t *testing.T, r readResult) {
			require.NoError(t, r.err)
			assert.Equal(t, "hello", r.b)
		}},
		{"peer closes", func(t *testing.T, _ *Stream, peer int, _ func()) {
			require.NoError(t, unix.Shutdown(peer, unix.SHUT_WR))
		}, func(t *testing.T, r readResult) {
			assert.Equal(t, io.EOF, r.err)
		}},
		{"close", func(t *testing.T, s *Stream, _ int, _ func()) {
			require.NoError(t, s.Close())
		}, func(t *testing.T, r readResult) {
			assert.ErrorIs(t, r.err, ErrClosed)
		}},
		{"deadline", func(t *testing.T, s *Stream, _ int, _ func()) {
			s.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		}, func(t *testing.T, r readResult) {
			assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
		}},
		{"loop closes the socket", func(t *testing.T, _ *Stream, _ int, release func()) {
			// CloseFD closes the reader's dup under its wait (a loop
			// shutting down with the connection still open).
			release()
		}, func(t *testing.T, r readResult) {
			assert.ErrorIs(t, r.err, ErrClosed)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, peer, release := soloPair(t)
			require.True(t, s.StartSolo(true))
			done := readAsync(s)
			require.Eventually(t, s.SoloReading, 5*time.Second, time.Millisecond)
			tt.event(t, s, peer, release)
			tt.check(t, await(t, done))
			assert.False(t, s.SoloReading(), "the reader still holds the receive side")
		})
	}
}

// TestSoloReadEndsOnce: a socket error is reported once, then the stream
// reads as ended, as when the loop receives.
func TestSoloReadEndsOnce(t *testing.T) {
	s, _, _, _ := soloPair(t)
	require.True(t, s.StartSolo(true))
	s.DeliverEnd(syscall.ECONNRESET) // as if the loop had seen it first
	_, err := s.Read(make([]byte, 8))
	assert.Equal(t, syscall.ECONNRESET, err)
	_, err = s.Read(make([]byte, 8))
	assert.Equal(t, io.EOF, err)
}

// TestSoloDeadlineSetAsReadStarts: a read deadline set just as a solo Read
// starts its wait, after it loaded the old deadline and before it put that
// on its file (so that the new deadline's interruption is overwritten),
// still ends the Read when it passes.
func TestSoloDeadlineSetAsReadStarts(t *testing.T) {
	s, _, _, _ := soloPair(t)
	require.True(t, s.StartSolo(true))
	var once sync.Once
	testHookSoloDeadline = func() {
		once.Do(func() { s.SetReadDeadline(time.Now().Add(20 * time.Millisecond)) })
	}
	defer func() { testHookSoloDeadline = nil }()
	r := await(t, readAsync(s))
	assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
}

// TestStopSoloInterruptsReader: the loop takes receiving back from a
// reader inside its wait; the reader hands it over and asks the loop to
// resume (ReqResume), and then waits for the loop's bytes instead.
func TestStopSoloInterruptsReader(t *testing.T) {
	s, k, peer, _ := soloPair(t)
	require.True(t, s.StartSolo(true))
	done := readAsync(s)
	require.Eventually(t, s.SoloReading, 5*time.Second, time.Millisecond)

	assert.False(t, s.StopSolo(), "a busy reader cannot hand over at once")
	require.Eventually(t, s.LoopReceives, 5*time.Second, time.Millisecond,
		"the interrupted reader did not give receiving back")
	assert.NotZero(t, s.TakeRequests()&ReqResume, "the loop was not asked to resume")
	k.mu.Lock()
	assert.Equal(t, 1, k.kicks)
	k.mu.Unlock()

	// The loop receives now: its bytes reach the same Read.
	_, err := unix.Write(peer, []byte("via loop"))
	require.NoError(t, err)
	select {
	case r := <-done:
		t.Fatalf("Read returned %+v before the loop delivered", r)
	case <-time.After(20 * time.Millisecond):
	}
	s.Deliver([]byte("via loop"))
	r := await(t, done)
	require.NoError(t, r.err)
	assert.Equal(t, "via loop", r.b)
	assert.True(t, s.StopSolo(), "an idle stream hands over at once")
}

// TestStopSoloIdle: with no reader inside a receive, the loop gets
// receiving back at once and a later Read waits for the loop.
func TestStopSoloIdle(t *testing.T) {
	s, _, _, _ := soloPair(t)
	require.True(t, s.StartSolo(true))
	assert.False(t, s.LoopReceives())
	assert.True(t, s.StopSolo())
	assert.True(t, s.LoopReceives())
	s.Deliver([]byte("x"))
	n, err := s.Read(make([]byte, 4))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// TestSoloDupFails: without a descriptor to wait on, the reader gives
// receiving back to the loop for good (one ReqResume, no retry loop), and
// StartSolo declines from then on.
func TestSoloDupFails(t *testing.T) {
	var dups atomic.Int32
	defer func(f func(int) (*os.File, error)) { dupSocket = f }(dupSocket)
	dupSocket = func(int) (*os.File, error) {
		dups.Add(1)
		return nil, errors.New("too many open files")
	}
	s, _, _, _ := soloPair(t)
	require.True(t, s.StartSolo(true))
	done := readAsync(s)
	require.Eventually(t, s.LoopReceives, 5*time.Second, time.Millisecond)
	assert.NotZero(t, s.TakeRequests()&ReqResume)
	assert.False(t, s.StartSolo(true), "solo receiving was offered again after it failed")
	s.Deliver([]byte("ok"))
	r := await(t, done)
	require.NoError(t, r.err)
	assert.Equal(t, "ok", r.b)
	assert.Equal(t, int32(1), dups.Load())
}

// TestSoloQueuedFirst: bytes the loop queued while it held the receive
// side are read before the socket's, even when the receive side is the
// reader's again by the time it reads (it went on, off, on).
func TestSoloQueuedFirst(t *testing.T) {
	s, _, peer, _ := soloPair(t)
	require.True(t, s.StartSolo(true))
	require.True(t, s.StopSolo())
	s.Deliver([]byte("first"))
	require.True(t, s.StartSolo(true))
	_, err := unix.Write(peer, []byte("second"))
	require.NoError(t, err)

	buf := make([]byte, 64)
	n, err := s.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "first", string(buf[:n]))
	n, err = s.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "second", string(buf[:n]))
	assert.False(t, s.LoopReceives(), "the receive side was not given back to the reader")
	assert.False(t, s.SoloReading(), "the reader still holds the receive side")
}

// TestSoloBulk: a solo reader whose reads keep filling its buffer gives
// receiving to the loop (bulk) and is not offered it again until it has
// caught up: bulkAfter deliveries in a row smaller than its waiting
// buffer.
func TestSoloBulk(t *testing.T) {
	s, _, peer, _ := soloPair(t)
	require.True(t, s.StartSolo(true))
	// Full reads of tiny buffers say nothing about the sender.
	_, err := unix.Write(peer, bytes.Repeat([]byte("x"), 2*bulkAfter))
	require.NoError(t, err)
	for range 2 * bulkAfter {
		n, err := s.Read(make([]byte, 1))
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	require.False(t, s.LoopReceives(), "full one-byte reads made the stream bulk")

	_, err = unix.Write(peer, bytes.Repeat([]byte("x"), bulkMinRead*bulkAfter+3))
	require.NoError(t, err)
	buf := make([]byte, bulkMinRead)
	for i := range bulkAfter {
		n, err := s.Read(buf)
		require.NoError(t, err)
		require.Equal(t, bulkMinRead, n)
		if i < bulkAfter-1 {
			require.False(t, s.LoopReceives(), "handed back after %d full reads", i+1)
		}
	}
	assert.True(t, s.LoopReceives(), "a reader that keeps filling its buffer kept receiving")
	assert.NotZero(t, s.TakeRequests()&ReqResume)
	assert.False(t, s.StartSolo(true), "a bulk stream was offered solo receiving")

	waitingDeliver := func(b string) {
		t.Helper()
		done := readAsync(s)
		require.Eventually(t, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.rwant != nil
		}, 5*time.Second, time.Millisecond)
		s.Deliver([]byte(b))
		r := await(t, done)
		require.NoError(t, r.err)
		require.Equal(t, b, r.b)
	}
	waitingDeliver(strings.Repeat("y", 64)) // fills readAsync's 64 bytes: still bulk
	for i := range bulkAfter - 1 {
		waitingDeliver("short")
		require.False(t, s.StartSolo(true), "bulk ended after %d short deliveries", i+1)
	}
	waitingDeliver("short")
	assert.True(t, s.StartSolo(true), "a reader that caught up was not offered solo receiving again")
}

// TestSoloReadAllocatesNothing: a solo Read is the hot path of a
// one-connection server, and its wait callback must not escape.
func TestSoloReadAllocatesNothing(t *testing.T) {
	s, _, peer, _ := soloPair(t)
	require.True(t, s.StartSolo(true))
	buf := make([]byte, 64)
	one := []byte{1}
	read := func() {
		_, err := unix.Write(peer, one)
		require.NoError(t, err)
		n, err := s.Read(buf)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	read() // opens the dup
	assert.Zero(t, testing.AllocsPerRun(100, read))
}
