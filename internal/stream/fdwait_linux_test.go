//go:build linux

package stream

import (
	"encoding/binary"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// pollerLoop is a fake loop whose readers park on the eventfd; it wakes
// them as the io_uring loop does (there with a write SQE; here with
// write(2)), counting.
type pollerLoop struct {
	fakeLoop
	wakes atomic.Int32
}

func (*pollerLoop) WaitInPoller() bool { return true }

func (p *pollerLoop) WakeReaderFD(fd int) {
	p.wakes.Add(1)
	_, _ = unix.Write(fd, binary.NativeEndian.AppendUint64(nil, 1))
}

// TestReadParkedInPoller: a Read parked on the stream's eventfd is woken
// by every kind of reader wake-up, as one parked on the channel is.
func TestReadParkedInPoller(t *testing.T) {
	tests := []struct {
		name    string
		event   func(s *Stream)
		wantN   int
		wantErr error
	}{
		{"deliver", func(s *Stream) { s.Deliver([]byte("data")) }, 4, nil},
		{"end", func(s *Stream) { s.DeliverEnd(io.EOF) }, 0, io.EOF},
		{"close", func(s *Stream) { s.Close() }, 0, ErrClosed},
		{"deadline", func(s *Stream) { s.SetReadDeadline(time.Now().Add(10 * time.Millisecond)) }, 0, os.ErrDeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(-1, &pollerLoop{})
			time.AfterFunc(20*time.Millisecond, func() { tt.event(s) })
			buf := make([]byte, 8)
			n, err := s.Read(buf)
			assert.Equal(t, tt.wantN, n)
			assert.Equal(t, tt.wantErr, err)
			require.NotNil(t, s.rfw.Load(), "the reader parked on the eventfd")
			s.ReleaseFD()
			assert.True(t, s.rfwDone)
		})
	}
}

// TestDeliverWakesThroughLoop: the loop's own wake-ups (Deliver,
// DeliverEnd) go through PollerWaker.WakeReaderFD; a user goroutine's
// (Close) does not.
func TestDeliverWakesThroughLoop(t *testing.T) {
	for _, tt := range []struct {
		name      string
		event     func(s *Stream)
		wantWakes int32
	}{
		{"deliver", func(s *Stream) { s.Deliver([]byte("x")) }, 1},
		{"end", func(s *Stream) { s.DeliverEnd(io.EOF) }, 1},
		{"close", func(s *Stream) { s.Close() }, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := &pollerLoop{}
			s := New(-1, k)
			time.AfterFunc(20*time.Millisecond, func() { tt.event(s) })
			_, _ = s.Read(make([]byte, 4))
			assert.Equal(t, tt.wantWakes, k.wakes.Load())
			s.ReleaseFD()
		})
	}
}
