package stream

import (
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leadingLoop is a fake loop whose readers lead: Lead waits, as the
// io_uring loop's does, until ready reports true, re-checking it on every
// Interrupt. With refuse set it declines to lead, as a busy loop does.
type leadingLoop struct {
	fakeLoop
	s          *Stream
	refuse     bool
	leads      atomic.Int32
	interrupts atomic.Int32
	intr       chan struct{}
}

func newLeadingLoop(refuse bool) *leadingLoop {
	return &leadingLoop{refuse: refuse, intr: make(chan struct{}, 1)}
}

func (l *leadingLoop) Lead(ready func() bool) bool {
	if l.refuse {
		return false
	}
	l.leads.Add(1)
	giveUp := time.Now().Add(time.Second)
	for {
		select {
		case <-l.intr:
			if ready() {
				return true
			}
		case <-time.After(5 * time.Millisecond):
			// The loop's own deliveries come with completions, which the
			// real Lead waits for; this fake polls the stream for them
			// instead. What user goroutines do (Close, deadlines) must
			// reach it through Interrupt; a missed one shows as a lead
			// that ends only when this fake gives up.
			if l.s.received() || time.Now().After(giveUp) {
				return true
			}
		}
	}
}

// received reports whether the stream holds bytes or its end.
func (s *Stream) received() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roff < len(s.rbuf) || s.rerr != nil
}

func (l *leadingLoop) Interrupt() {
	l.interrupts.Add(1)
	select {
	case l.intr <- struct{}{}:
	default:
	}
}

// TestReadLeads: a Read that blocks hands its wait to Leader.Lead, and
// every kind of reader wake-up ends it; a Leader that declines leaves the
// reader on its channel, where the same wake-ups reach it. Wake-ups from
// user goroutines (Close, SetReadDeadline) interrupt a leading reader.
func TestReadLeads(t *testing.T) {
	tests := []struct {
		name           string
		event          func(s *Stream)
		wantN          int
		wantErr        error
		wantInterrupts bool
	}{
		{"deliver", func(s *Stream) { s.Deliver([]byte("data")) }, 4, nil, false},
		{"end", func(s *Stream) { s.DeliverEnd(io.EOF) }, 0, io.EOF, false},
		{"close", func(s *Stream) { s.Close() }, 0, ErrClosed, true},
		{"deadline", func(s *Stream) { s.SetReadDeadline(time.Now().Add(10 * time.Millisecond)) }, 0, os.ErrDeadlineExceeded, true},
	}
	for _, refuse := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if refuse {
				name += "/declined"
			}
			t.Run(name, func(t *testing.T) {
				k := newLeadingLoop(refuse)
				s := New(-1, k)
				k.s = s
				time.AfterFunc(20*time.Millisecond, func() { tt.event(s) })
				buf := make([]byte, 8)
				n, err := s.Read(buf)
				assert.Equal(t, tt.wantN, n)
				assert.Equal(t, tt.wantErr, err)
				if refuse {
					assert.Zero(t, k.leads.Load())
					assert.Zero(t, k.interrupts.Load(), "interrupted a reader that was not leading")
					return
				}
				require.NotZero(t, k.leads.Load(), "the blocked Read did not lead")
				if tt.wantInterrupts {
					assert.NotZero(t, k.interrupts.Load())
				} else {
					assert.Zero(t, k.interrupts.Load(), "the loop's own wake-ups need no interrupt")
				}
				assert.False(t, s.leading.Load())
			})
		}
	}
}
