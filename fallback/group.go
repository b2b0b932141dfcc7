//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/registry"
	"github.com/ringnet/ringnet/internal/stream"
)

// Backend is the readiness-polling implementation of the backend contract.
var Backend = backend.Backend{
	Name:    "poll",
	Acquire: func(cfg backend.Config) (backend.Group, error) { return Acquire(cfg) },
	Stats: func() []backend.Stats {
		var out []backend.Stats
		for _, g := range Running() {
			for _, l := range g.loops {
				out = append(out, l.Stats())
			}
		}
		return out
	},
}

// Config sets the shape of a Group; only Loops and BufferSize mean
// anything to this backend. The zero value means the defaults.
type Config = backend.Config

// DefaultBufferSize is the default size of a loop's read scratch buffer.
const DefaultBufferSize = 64 << 10

func withDefaults(c Config) Config {
	if c.Loops <= 0 {
		c.Loops = backend.DefaultLoops()
	}
	if c.BufferSize <= 0 {
		c.BufferSize = DefaultBufferSize
	}
	// Ignored here: configurations that differ only in these share a group.
	c.RingEntries, c.Buffers = 0, 0
	return c
}

// How a sleeping loop waits; see the package documentation.
const (
	waitNetpoll  = iota // park in Go's netpoller on a dup of the poller fd
	waitBlocking        // block a thread in epoll_wait(-1) / kevent(NULL)
)

// waitMode is the mode of loops started from now on. Tests and benchmarks
// switch it; groups of different modes never share loops.
var waitMode = waitNetpoll

type groupKey struct {
	cfg  Config
	mode int
}

// Group is a set of loops, one per CPU by default, shared by every
// listener and connection made with the same Config. It starts with its
// first user and stops, releasing every poller and wake pipe, when its
// last user is gone: the caller of Acquire until Release, each Listener
// until its socket is closed, each connection until its socket is closed.
type Group struct {
	refs  registry.Refs[groupKey]
	key   groupKey
	loops []*Loop
	next  atomic.Uint32
}

var groups registry.Registry[groupKey, *Group]

// Acquire returns the running group for cfg, starting it if needed. The
// caller owns one reference and must Release it.
func Acquire(cfg Config) (*Group, error) {
	key := groupKey{cfg: withDefaults(cfg), mode: waitMode}
	return groups.Acquire(key, func() (*Group, error) {
		g := &Group{key: key}
		for i := 0; i < key.cfg.Loops; i++ {
			l, err := newLoop(i, g, key.cfg, key.mode)
			if err != nil {
				for _, l := range g.loops {
					l.release()
				}
				return nil, err
			}
			g.loops = append(g.loops, l)
		}
		for _, l := range g.loops {
			go l.run()
		}
		return g, nil
	})
}

// Refs implements registry.Group.
func (g *Group) Refs() *registry.Refs[groupKey] { return &g.refs }

// Stop implements registry.Group: each loop exits once it has closed what
// is left and released its poller and wake pipe.
func (g *Group) Stop() {
	for _, l := range g.loops {
		l.stop()
	}
}

// Done implements registry.Group.
func (g *Group) Done() []<-chan struct{} {
	out := make([]<-chan struct{}, len(g.loops))
	for i, l := range g.loops {
		out[i] = l.done
	}
	return out
}

func (g *Group) acquire() { g.refs.Add() }

// Release drops the reference of a caller of Acquire; the last reference
// stops the loops.
func (g *Group) Release() { g.release() }

func (g *Group) release() { groups.Release(g) }

// WaitStopped blocks until every loop that was told to stop has exited and
// closed its descriptors. Tests use it before counting goroutines and fds.
func WaitStopped() { groups.WaitStopped() }

// Running returns the groups that are running now.
func Running() []*Group { return groups.Running() }

// Loops returns the group's loops.
func (g *Group) Loops() []*Loop { return g.loops }

// pick returns a loop in round-robin order.
func (g *Group) pick() *Loop {
	return g.loops[int(g.next.Add(1)%uint32(len(g.loops)))]
}

// Adopt hands a connected socket (from a dial) to one of the group's
// loops; the returned stream owns fd, and the connection holds a
// reference on g until the loop closes fd.
func (g *Group) Adopt(fd int) *stream.Stream {
	_ = unix.SetNonblock(fd, true)
	g.acquire()
	l := g.pick()
	c := l.newConn(fd)
	l.post(func() { l.register(c) })
	return c.s
}

// Listener accepts connections from a listening socket. One loop of the
// group (its owner) watches the socket; the connections it accepts are
// spread over all the loops.
type Listener struct {
	g        *Group
	l        *Loop // owner
	q        *stream.AcceptQueue
	closing  atomic.Bool
	released chan struct{}    // closed once the socket is closed
	sock     *stream.ListenFD // the listening socket, lent to WithFD until released

	// owner loop only
	registered bool // in the owner's poller
	failed     bool // the last accept failed: wait for Accept to ask again
	rerun      bool // queued on the owner's rerun list
}

// Listen starts accepting on the listening socket fd, which the Listener
// then owns (it is closed by Close). The Listener holds a reference on g
// until its socket is closed.
func (g *Group) Listen(fd int) backend.Listener {
	_ = unix.SetNonblock(fd, true)
	g.acquire()
	l := g.pick()
	ln := &Listener{g: g, l: l, sock: stream.NewListenFD(fd), q: stream.NewAcceptQueue(), released: make(chan struct{})}
	l.post(func() { l.addListener(ln) })
	return ln
}

// Accept returns the next accepted connection (its fd is s.FD()) and its
// peer's address, the syscall.Errno an accept failed with,
// stream.ErrClosed after Close, or os.ErrDeadlineExceeded.
func (ln *Listener) Accept() (*stream.Stream, syscall.Sockaddr, error) {
	a, err := ln.q.Pop()
	if err != nil {
		return nil, nil, err
	}
	if a.Err != nil {
		l := ln.l
		l.post(func() { l.retryAccept(ln) })
		return nil, nil, a.Err
	}
	return a.Stream, a.Peer, nil
}

// SetDeadline sets the deadline of Accept.
func (ln *Listener) SetDeadline(t time.Time) { ln.q.SetDeadline(t) }

// WithFD runs f on the listening socket while it is open.
func (ln *Listener) WithFD(f func(fd int) error) error { return ln.sock.With(f) }

// Close stops accepting, closes connections accepted but not yet taken,
// and has the owner loop close the socket. A second Close returns
// stream.ErrClosed.
func (ln *Listener) Close() error {
	if ln.closing.Swap(true) {
		return stream.ErrClosed
	}
	for _, a := range ln.q.Close() {
		if a.Stream != nil {
			_ = a.Stream.Close()
		}
	}
	// No shutdown(2): the socket may have other descriptors (File's,
	// FileListener's source) that must go on listening, as with net. The
	// connections in its backlog are refused when the last one closes.
	l := ln.l
	l.post(func() { l.closeListener(ln) })
	// Return once the socket is closed, as net's Close does: its address
	// is free again when Close returns.
	<-ln.released
	return nil
}
