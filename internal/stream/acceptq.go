package stream

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Accepted is one result of a listening socket: a new connection, with
// its peer's address as the accept reported it (nil if the backend did
// not learn it), or the error its accept failed with (a syscall.Errno).
type Accepted struct {
	Stream *Stream
	Peer   syscall.Sockaddr
	Err    error
}

// AcceptQueue hands accepted connections from a loop to Accept callers.
type AcceptQueue struct {
	mu     sync.Mutex
	items  []Accepted
	closed bool
	wake   chan struct{}
	dl     atomic.Int64
	timer  *time.Timer
	popMu  sync.Mutex // serialises Pop: one waiter at a time
}

// NewAcceptQueue returns an empty queue.
func NewAcceptQueue() *AcceptQueue {
	return &AcceptQueue{wake: make(chan struct{}, 1)}
}

// Push adds a result. It reports false if the queue is closed; the caller
// then owns a.Stream and must close it.
func (q *AcceptQueue) Push(a Accepted) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, a)
	q.mu.Unlock()
	poke(q.wake)
	return true
}

// Len returns the number of results waiting.
func (q *AcceptQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Pop waits for the next result. It returns ErrClosed once the queue is
// closed and os.ErrDeadlineExceeded when the deadline passes.
func (q *AcceptQueue) Pop() (Accepted, error) {
	q.popMu.Lock()
	defer q.popMu.Unlock()
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return Accepted{}, ErrClosed
		}
		if len(q.items) > 0 {
			a := q.items[0]
			q.items[0] = Accepted{}
			q.items = q.items[1:]
			if len(q.items) == 0 {
				q.items = nil
			}
			q.mu.Unlock()
			return a, nil
		}
		q.mu.Unlock()
		if expired(&q.dl) {
			return Accepted{}, os.ErrDeadlineExceeded
		}
		wait(q.wake, &q.dl, &q.timer)
	}
}

// SetDeadline sets the deadline for Pop; a waiting Pop re-evaluates it.
func (q *AcceptQueue) SetDeadline(t time.Time) {
	q.dl.Store(unixNano(t))
	poke(q.wake)
}

// Close wakes Pop with ErrClosed and returns the results nobody took; their
// streams are the caller's to close.
func (q *AcceptQueue) Close() []Accepted {
	q.mu.Lock()
	q.closed = true
	left := q.items
	q.items = nil
	q.mu.Unlock()
	poke(q.wake)
	return left
}
