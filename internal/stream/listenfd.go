package stream

import "sync"

// ListenFD is a listening socket's descriptor as a Listener's loops and its
// user share it. The loops use the fd as they please until they take it
// back with Release to close it; the user (a Listener's File, a raw
// Control) goes through With, which holds the fd open while it runs and
// fails with ErrClosed once it has been released, so that no user call
// touches a number the kernel may have given to another file since.
type ListenFD struct {
	fd       int
	mu       sync.RWMutex
	released bool
}

// NewListenFD wraps the listening socket fd.
func NewListenFD(fd int) *ListenFD { return &ListenFD{fd: fd} }

// FD returns the fd, for the loops that own it.
func (l *ListenFD) FD() int { return l.fd }

// With runs f on the fd, or returns ErrClosed once it has been released.
func (l *ListenFD) With(f func(fd int) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.released {
		return ErrClosed
	}
	return f(l.fd)
}

// Release takes the fd back and hands it to done (to close it): With
// calls that come later fail. If a With call runs now (a user callback,
// which may take any time), the release waits for it on a goroutine of its
// own, so that the caller, a loop, never waits on user code.
func (l *ListenFD) Release(done func(fd int)) {
	if l.mu.TryLock() {
		l.releaseLocked(done)
		return
	}
	go func() {
		l.mu.Lock()
		l.releaseLocked(done)
	}()
}

func (l *ListenFD) releaseLocked(done func(fd int)) {
	l.released = true
	l.mu.Unlock()
	done(l.fd)
}
