package stream

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeLoop records kicks; it never sends directly.
type fakeLoop struct {
	mu    sync.Mutex
	kicks int
}

func (f *fakeLoop) Kick(*Stream) {
	f.mu.Lock()
	f.kicks++
	f.mu.Unlock()
}

func (f *fakeLoop) SendDirect() bool { return false }

func newTest() (*Stream, *fakeLoop) {
	k := &fakeLoop{}
	return New(-1, k), k
}

func TestGrow(t *testing.T) {
	tests := []struct {
		name    string
		have, n int
		wantCap int
	}{
		{"fits", 0, 0, 0},
		{"tiny", 0, 100, tinyBuf},
		{"tiny, full", 0, tinyBuf, tinyBuf},
		{"tiny to small", tinyBuf, 1, smallBuf},
		{"small", 0, tinyBuf + 1, smallBuf},
		{"small to large", smallBuf, 1, largeBuf},
		{"large", 0, smallBuf + 1, largeBuf},
		{"beyond large", 0, largeBuf + 1, largeBuf + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			if tt.have > 0 {
				b = append(getBuf(tt.have), make([]byte, tt.have)...)
			}
			g := grow(b, tt.n)
			assert.Equal(t, tt.have, len(g), "contents kept")
			assert.GreaterOrEqual(t, cap(g)-len(g), tt.n)
			if tt.wantCap > 0 {
				assert.Equal(t, tt.wantCap, cap(g))
			}
		})
	}
}

func TestDeliverReadOrderAndCompaction(t *testing.T) {
	s, _ := newTest()
	var want, got bytes.Buffer
	// A head start keeps some bytes unread at all times: the queue never
	// drains to empty, so only compaction keeps it from growing.
	head := bytes.Repeat([]byte{0xaa}, 5<<10)
	want.Write(head)
	s.Deliver(head)
	chunk := make([]byte, 40<<10)
	buf := make([]byte, len(chunk))
	for i := range 200 {
		for j := range chunk {
			chunk[j] = byte(i + j)
		}
		want.Write(chunk)
		s.Deliver(chunk)
		_, err := io.ReadFull(s, buf)
		require.NoError(t, err)
		got.Write(buf)
		require.LessOrEqual(t, cap(s.rbuf), largeBuf, "the queue is compacted, not grown")
	}
	s.DeliverEnd(io.EOF)
	for {
		n, err := s.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	assert.Equal(t, want.Bytes(), got.Bytes())
	assert.Nil(t, s.rbuf, "a drained queue holds no buffer")
}

func TestPauseAndResume(t *testing.T) {
	s, k := newTest()
	assert.True(t, s.RecvWanted())
	chunk := make([]byte, 64<<10)
	paused := false
	for range RecvHighWater/len(chunk) + 1 {
		paused = s.Deliver(chunk) || paused
	}
	assert.True(t, paused, "Deliver asks to pause at the high-water mark")
	assert.True(t, s.RecvPaused())
	assert.False(t, s.RecvWanted(), "paused: the loop does not re-arm")
	buf := make([]byte, 64<<10)
	for s.RecvPaused() {
		_, err := s.Read(buf)
		require.NoError(t, err)
	}
	unread, _ := s.Buffered()
	assert.Less(t, unread, RecvLowWater)
	assert.Equal(t, ReqResume, s.TakeRequests(), "draining below the low-water mark asks the loop to resume")
	assert.Equal(t, 1, k.kicks)
	assert.True(t, s.RecvWanted())
	s.DeliverEnd(io.EOF)
	assert.False(t, s.RecvWanted(), "ended: the loop does not re-arm")
}

func TestWriteBlocksAtHighWaterUntilSent(t *testing.T) {
	s, _ := newTest()
	big := make([]byte, SendHighWater+100)
	done := make(chan error, 1)
	go func() {
		_, err := s.Write(big)
		done <- err
	}()
	// The loop takes what is queued and reports it sent.
	var sent int
	deadline := time.Now().Add(5 * time.Second)
	for sent < len(big) && time.Now().Before(deadline) {
		if b := s.NextSend(); b != nil {
			sent += len(b)
			for next := s.SendDone(len(b)); next != nil; next = s.SendDone(len(next)) {
				sent += len(next)
			}
		}
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, <-done)
	assert.Equal(t, len(big), sent)
	assert.True(t, s.SendIdle())
}

func TestDeadlinesAndClose(t *testing.T) {
	tests := []struct {
		name string
		op   func(s *Stream) error
		act  func(s *Stream)
		want error
	}{
		{"read deadline while blocked", func(s *Stream) error { _, err := s.Read(make([]byte, 1)); return err },
			func(s *Stream) { s.SetReadDeadline(time.Now()) }, os.ErrDeadlineExceeded},
		{"read close while blocked", func(s *Stream) error { _, err := s.Read(make([]byte, 1)); return err },
			func(s *Stream) { s.Close() }, ErrClosed},
		{"write deadline while blocked", func(s *Stream) error { _, err := s.Write(make([]byte, SendHighWater+1)); return err },
			func(s *Stream) { s.SetWriteDeadline(time.Now()) }, os.ErrDeadlineExceeded},
		{"write close while blocked", func(s *Stream) error { _, err := s.Write(make([]byte, SendHighWater+1)); return err },
			func(s *Stream) { s.Close() }, ErrClosed},
		{"send error", func(s *Stream) error { _, err := s.Write(make([]byte, SendHighWater+1)); return err },
			func(s *Stream) { s.SendFailed(syscall.EPIPE) }, syscall.EPIPE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTest()
			done := make(chan error, 1)
			go func() { done <- tt.op(s) }()
			time.Sleep(20 * time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("returned before the action: %v", err)
			default:
			}
			tt.act(s)
			select {
			case err := <-done:
				assert.True(t, errors.Is(err, tt.want), "got %v, want %v", err, tt.want)
			case <-time.After(2 * time.Second):
				t.Fatal("did not return")
			}
		})
	}
}

// TestDeadlineChangesWhileBlocked: a Read blocked under one deadline obeys
// whatever deadline is set later, including none and an earlier one.
func TestDeadlineChangesWhileBlocked(t *testing.T) {
	tests := []struct {
		name     string
		first    time.Duration // deadline the Read blocks under (0: none)
		then     time.Duration // deadline set while it blocks (0: cleared)
		wantData bool          // bytes delivered at 150 ms are read; else it times out
	}{
		{"cleared", 50 * time.Millisecond, 0, true},
		{"extended", 50 * time.Millisecond, time.Hour, true},
		{"brought forward", time.Hour, 30 * time.Millisecond, false},
		{"set where there was none", 0, 30 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTest()
			at := func(d time.Duration) time.Time {
				if d == 0 {
					return time.Time{}
				}
				return time.Now().Add(d)
			}
			s.SetReadDeadline(at(tt.first))
			type result struct {
				n   int
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := s.Read(make([]byte, 8))
				done <- result{n, err}
			}()
			time.Sleep(10 * time.Millisecond)
			s.SetReadDeadline(at(tt.then))
			time.Sleep(140 * time.Millisecond)
			s.Deliver([]byte("late"))
			select {
			case r := <-done:
				if tt.wantData {
					assert.NoError(t, r.err)
					assert.Equal(t, 4, r.n)
				} else {
					assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("Read did not return")
			}
		})
	}
}

// waitingReader starts a Read of a size-byte buffer and returns once it
// waits with that buffer offered to Deliver.
func waitingReader(t *testing.T, s *Stream, size int) <-chan []byte {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		p := make([]byte, size)
		n, err := s.Read(p)
		assert.NoError(t, err)
		got <- p[:n]
	}()
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.rwant != nil
	}, 2*time.Second, time.Millisecond)
	return got
}

// TestDeliverIntoWaitingReader: bytes that arrive while a reader waits go
// straight into its buffer; what does not fit is queued, in order.
func TestDeliverIntoWaitingReader(t *testing.T) {
	s, _ := newTest()
	got := waitingReader(t, s, 4)
	assert.False(t, s.Deliver([]byte("abcdefgh")))
	s.mu.Lock()
	queued := string(s.rbuf[s.roff:])
	total := len(s.rbuf)
	s.mu.Unlock()
	assert.Equal(t, "efgh", queued)
	assert.Equal(t, 4, total, "the reader's bytes went through the queue")
	assert.Equal(t, "abcd", string(<-got))

	p := make([]byte, 8)
	n, err := s.Read(p)
	require.NoError(t, err)
	assert.Equal(t, "efgh", string(p[:n]))

	// A second delivery before the reader has run is queued behind the
	// first, which the reader returns first.
	got = waitingReader(t, s, 8)
	s.Deliver([]byte("12"))
	s.Deliver([]byte("34"))
	assert.Equal(t, "12", string(<-got))
	n, err = s.Read(p)
	require.NoError(t, err)
	assert.Equal(t, "34", string(p[:n]))
	require.NoError(t, s.Close())
}

// TestDeliverWithNoReaderLeavesNoToken: bytes that arrive while nobody
// waits in Read are queued without a wake-up, which would otherwise cut the
// reader's next wait short for nothing; a waiting reader is still woken.
func TestDeliverWithNoReaderLeavesNoToken(t *testing.T) {
	s, _ := newTest()
	s.Deliver([]byte("ab"))
	assert.Zero(t, len(s.rwake), "woken with nobody waiting")
	p := make([]byte, 8)
	n, err := s.Read(p)
	require.NoError(t, err)
	assert.Equal(t, "ab", string(p[:n]))

	got := waitingReader(t, s, 8)
	s.Deliver([]byte("cd"))
	assert.Equal(t, "cd", string(<-got))
	require.NoError(t, s.Close())
}

// TestNewDeadlineWithNoReaderLeavesNoToken: net/http sets a past read
// deadline to end its background read, often before that read has begun;
// with nobody waiting that must not leave a token that wakes the next
// wait for nothing. A reader that does wait is still woken by it.
func TestNewDeadlineWithNoReaderLeavesNoToken(t *testing.T) {
	s, _ := newTest()
	s.SetReadDeadline(time.Unix(1, 0))
	assert.Zero(t, len(s.rwake), "woken with nobody waiting")
	_, err := s.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	s.SetReadDeadline(time.Time{})

	errc := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 1))
		errc <- err
	}()
	require.Eventually(t, s.rwaiting.Load, 5*time.Second, time.Millisecond)
	s.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-errc:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting reader was not woken by a past deadline")
	}
	assert.False(t, s.rwaiting.Load())
	require.NoError(t, s.Close())
}

// TestSendDoneWithNoWriterLeavesNoToken: a completed send wakes the wake
// channel only for a writer that waits for room (or LockSend).
func TestSendDoneWithNoWriterLeavesNoToken(t *testing.T) {
	s, _ := newTest()
	n, err := s.Write([]byte("abc"))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	b := s.NextSend()
	require.Equal(t, "abc", string(b))
	assert.Nil(t, s.SendDone(len(b)))
	assert.Zero(t, len(s.wwake), "woken with nobody waiting")
	require.NoError(t, s.Close())
}

// TestClearingDeadlineWakesNobody: clearing or re-setting a deadline leaves
// no token that would wake the next blocking Read or Write for nothing.
func TestClearingDeadlineWakesNobody(t *testing.T) {
	s, _ := newTest()
	s.rwaiting.Store(true) // as a reader in its wait: only then is it poked
	dl := time.Now().Add(time.Hour)
	s.SetReadDeadline(dl)
	s.SetWriteDeadline(dl)
	<-s.rwake // a new deadline does wake
	<-s.wwake
	s.SetReadDeadline(dl)
	s.SetWriteDeadline(dl)
	s.SetReadDeadline(time.Time{})
	s.SetWriteDeadline(time.Time{})
	assert.Zero(t, len(s.rwake), "reader woken")
	assert.Zero(t, len(s.wwake), "writer woken")
}

func TestCloseTwice(t *testing.T) {
	s, _ := newTest()
	require.NoError(t, s.Close())
	assert.ErrorIs(t, s.Close(), ErrClosed)
	assert.Equal(t, ReqClose, s.TakeRequests())
	assert.ErrorIs(t, s.WithFD(func(int) error { return nil }), ErrClosed)
}

// TestWaitSend: a LockSend holder waiting for its own operation returns
// when it is done, when the write deadline passes (also one set while it
// waits) and when the stream is closed.
func TestWaitSend(t *testing.T) {
	tests := []struct {
		name  string
		event func(s *Stream, done chan struct{})
		want  error
	}{
		{"done", func(_ *Stream, done chan struct{}) { close(done) }, nil},
		{"deadline set while waiting", func(s *Stream, _ chan struct{}) {
			s.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		}, os.ErrDeadlineExceeded},
		{"deadline passed", func(s *Stream, _ chan struct{}) { s.SetWriteDeadline(time.Now().Add(-time.Second)) }, os.ErrDeadlineExceeded},
		{"closed", func(s *Stream, _ chan struct{}) { s.Close() }, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTest()
			require.NoError(t, s.LockSend(false))
			done := make(chan struct{})
			time.AfterFunc(20*time.Millisecond, func() { tt.event(s, done) })
			err := s.WaitSend(done)
			assert.Equal(t, tt.want, err)
			s.UnlockSend(nil)
		})
	}
}

// TestCloseWriteReturnsAtOnce: CloseWrite never waits for the loop. With
// nothing queued or in flight (or after a send failed) it tells the
// caller to shut the socket down now; with bytes queued or in flight it
// asks the loop to do so after them, which still sends them.
func TestCloseWriteReturnsAtOnce(t *testing.T) {
	tests := []struct {
		name    string
		before  func(t *testing.T, s *Stream)
		wantNow bool
		wantErr error
	}{
		{"nothing queued", func(*testing.T, *Stream) {}, true, nil},
		{"bytes queued", func(t *testing.T, s *Stream) {
			_, err := s.Write([]byte("queued"))
			require.NoError(t, err)
		}, false, nil},
		{"send in flight", func(t *testing.T, s *Stream) {
			_, err := s.Write([]byte("queued"))
			require.NoError(t, err)
			require.NotNil(t, s.NextSend())
		}, false, nil},
		{"send failed", func(t *testing.T, s *Stream) {
			_, err := s.Write([]byte("queued"))
			require.NoError(t, err)
			s.NextSend()
			s.SendFailed(syscall.ECONNRESET)
		}, true, nil},
		{"closed", func(t *testing.T, s *Stream) { require.NoError(t, s.Close()) }, false, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTest()
			tt.before(t, s)
			s.TakeRequests()
			_, unsent := s.Buffered()
			now, err := s.CloseWrite()
			assert.Equal(t, tt.wantNow, now)
			assert.Equal(t, tt.wantErr, err)
			if err != nil {
				return
			}
			assert.Equal(t, !now, s.TakeRequests()&ReqCloseWrite != 0, "the loop is asked to shut down after the last byte")
			_, left := s.Buffered()
			assert.Equal(t, unsent, left, "queued bytes are kept for the loop")
			_, err = s.Write([]byte("late"))
			if tt.name == "send failed" {
				assert.Equal(t, syscall.ECONNRESET, err, "Write after CloseWrite reports the failed send")
			} else {
				assert.Equal(t, ErrWriteShut, err, "Write after CloseWrite")
			}
			if !now {
				// The loop still sends what was queued, then goes idle.
				b := s.NextSend()
				if b == nil {
					b = s.wfly[s.woff:] // the send in flight
				}
				assert.Equal(t, "queued", string(b))
				assert.Nil(t, s.SendDone(len(b)))
				assert.True(t, s.SendIdle())
			}
		})
	}
}

// TestCloseAfterCloseWrite: Close after a CloseWrite that left bytes
// queued still has the loop flush them, under the linger bound as any
// Close with bytes unsent.
func TestCloseAfterCloseWrite(t *testing.T) {
	s, _ := newTest()
	_, err := s.Write([]byte("queued"))
	require.NoError(t, err)
	now, err := s.CloseWrite()
	require.NoError(t, err)
	require.False(t, now)
	s.TakeRequests()
	require.NoError(t, s.Close())
	assert.NotZero(t, s.TakeRequests()&ReqClose)
	s.mu.Lock()
	armed := s.linger != nil
	s.mu.Unlock()
	assert.True(t, armed, "the linger bound is armed")
	assert.Equal(t, "queued", string(s.NextSend()), "the loop still flushes the queued bytes")
	s.linger.Stop()
}

// TestCloseWriteEndsWaitSend: a SendFile waiting for room (WaitSend,
// between LockSend and UnlockSend) returns ErrWriteShut when CloseWrite
// is called, as net's sendfile fails with EPIPE once the socket is shut
// down; UnlockSend then asks the loop for the shutdown.
func TestCloseWriteEndsWaitSend(t *testing.T) {
	s, _ := newTest()
	require.NoError(t, s.LockSend(false))
	never := make(chan struct{})
	defer close(never)
	waitSend := make(chan error, 1)
	go func() { waitSend <- s.WaitSend(never) }()
	time.Sleep(20 * time.Millisecond) // WaitSend waits
	now, err := s.CloseWrite()
	require.NoError(t, err)
	assert.False(t, now, "the send side is held: the loop shuts down after it")
	select {
	case err := <-waitSend:
		assert.Equal(t, ErrWriteShut, err)
	case <-time.After(5 * time.Second):
		t.Fatal("WaitSend still waits after CloseWrite")
	}
	s.TakeRequests()
	s.UnlockSend(nil)
	assert.NotZero(t, s.TakeRequests()&ReqCloseWrite, "UnlockSend asks the loop to shut down")
}

// TestLockSendAfterCloseWrite: after CloseWrite, LockSend fails at once,
// as Write does; with drainShut (a raw Write, File) it first waits for the
// bytes queued before CloseWrite, under the write deadline.
func TestLockSendAfterCloseWrite(t *testing.T) {
	s, _ := newTest()
	_, err := s.Write([]byte("queued"))
	require.NoError(t, err)
	now, err := s.CloseWrite()
	require.NoError(t, err)
	require.False(t, now)
	assert.Equal(t, ErrWriteShut, s.LockSend(false))

	locked := make(chan error, 1)
	go func() { locked <- s.LockSend(true) }()
	select {
	case err := <-locked:
		t.Fatalf("LockSend(true) returned %v with bytes queued", err)
	case <-time.After(20 * time.Millisecond):
	}
	b := s.NextSend()
	assert.Nil(t, s.SendDone(len(b)))
	select {
	case err := <-locked:
		assert.Equal(t, ErrWriteShut, err, "the bytes are out: the caller shuts the socket down")
	case <-time.After(5 * time.Second):
		t.Fatal("LockSend(true) still waits after the queued bytes went out")
	}

	s2, _ := newTest()
	_, err = s2.Write([]byte("queued"))
	require.NoError(t, err)
	_, err = s2.CloseWrite()
	require.NoError(t, err)
	s2.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	assert.Equal(t, os.ErrDeadlineExceeded, s2.LockSend(true))
}

func TestListenFD(t *testing.T) {
	l := NewListenFD(42)
	assert.Equal(t, 42, l.FD())
	var seen int
	require.NoError(t, l.With(func(fd int) error { seen = fd; return nil }))
	assert.Equal(t, 42, seen)

	// Release waits for a With that runs, without blocking its caller.
	inWith, leave := make(chan struct{}), make(chan struct{})
	go func() {
		_ = l.With(func(int) error { close(inWith); <-leave; return nil })
	}()
	<-inWith
	released := make(chan int, 1)
	l.Release(func(fd int) { released <- fd })
	select {
	case <-released:
		t.Fatal("Release went ahead while a With still ran")
	case <-time.After(50 * time.Millisecond):
	}
	close(leave)
	assert.Equal(t, 42, <-released)

	// With nothing running, it releases at once, on the caller's goroutine.
	l2 := NewListenFD(43)
	got := -1
	l2.Release(func(fd int) { got = fd })
	assert.Equal(t, 43, got)

	called := false
	assert.ErrorIs(t, l.With(func(int) error { called = true; return nil }), ErrClosed)
	assert.False(t, called, "With ran f after Release")
}

// TestTimedOutWriteLeavesNoToken: a Write that gave up waiting for room
// (its deadline passed) no longer counts as waiting, so the loop's next
// SendDone leaves no token to cut the next blocking Write's wait short.
func TestTimedOutWriteLeavesNoToken(t *testing.T) {
	s, _ := newTest()
	s.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := s.Write(make([]byte, SendHighWater+100))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.Equal(t, SendHighWater, n, "queued up to the high-water mark")
	b := s.NextSend()
	require.Len(t, b, SendHighWater)
	assert.Nil(t, s.SendDone(len(b)))
	assert.Zero(t, len(s.wwake), "woken with nobody waiting")
	require.NoError(t, s.Close())
}

// TestWriteRacingClose: a Close that runs while a Write is between its
// closed check and taking the lock finds nothing to flush and arms no
// linger bound; the Write must then fail with ErrClosed rather than queue
// bytes the loop would try to send for as long as the peer reads nothing.
func TestWriteRacingClose(t *testing.T) {
	s, _ := newTest()
	testHookWriteLock = func() {
		testHookWriteLock = nil
		require.NoError(t, s.Close())
	}
	defer func() { testHookWriteLock = nil }()
	n, err := s.Write([]byte("late"))
	assert.ErrorIs(t, err, ErrClosed)
	assert.Zero(t, n)
	assert.Nil(t, s.NextSend(), "bytes queued after Close")
}
