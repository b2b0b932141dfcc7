//go:build linux

package loop

import (
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/registry"
	"github.com/ringnet/ringnet/internal/stream"
)

// Backend is the io_uring implementation of the backend contract.
var Backend = backend.Backend{
	Name:    "io_uring",
	Acquire: func(cfg Config) (backend.Group, error) { return Acquire(cfg) },
	Stats: func() []backend.Stats {
		var out []backend.Stats
		for _, g := range Running() {
			for _, l := range g.loops {
				out = append(out, l.Stats())
			}
		}
		return out
	},
	ProbePackets: ProbePackets,
}

// Config sets the shape of a Group (the completion queue has 4× the
// submission queue's entries). The zero value means the defaults.
type Config = backend.Config

// Defaults.
const (
	DefaultRingEntries = 1024
	DefaultBuffers     = 256 // the most a loop provides when Config.Buffers is zero
	DefaultBufferSize  = 64 << 10

	// FirstBuffers is how many buffers a loop provides at first when
	// Config.Buffers is zero: it doubles them, up to DefaultBuffers, each
	// time receives find none left (bufRing.grow).
	FirstBuffers = 16
)

// withDefaults fills in the zero fields of c, except Buffers: zero there
// means buffers provided by load, and the group is not shared with one
// that asked for DefaultBuffers by name (which are all provided at once).
func withDefaults(c Config) Config {
	if c.Loops <= 0 {
		c.Loops = backend.DefaultLoops()
	}
	if c.RingEntries == 0 {
		c.RingEntries = DefaultRingEntries
	}
	if c.BufferSize <= 0 {
		c.BufferSize = DefaultBufferSize
	}
	return c
}

// buffers returns how many provided buffers a loop of cfg has room for
// and how many it provides at first: Config.Buffers, all provided, or by
// default DefaultBuffers of which FirstBuffers are provided at first.
func buffers(cfg Config) (entries uint16, provide int) {
	if cfg.Buffers != 0 {
		return cfg.Buffers, int(cfg.Buffers)
	}
	return DefaultBuffers, FirstBuffers
}

// Group is a set of loops, one per CPU by default, shared by every
// listener and connection made with the same Config. It starts with its
// first user and stops, releasing every ring, when its last listener and
// connection are gone.
type Group struct {
	refs  registry.Refs[Config]
	cfg   Config
	loops []*Loop
	next  atomic.Uint32
}

var groups registry.Registry[Config, *Group]

// Acquire returns the running group for cfg, starting it if needed. The
// caller owns one reference and must Release it.
func Acquire(cfg Config) (*Group, error) {
	cfg = withDefaults(cfg)
	return groups.Acquire(cfg, func() (*Group, error) {
		g := &Group{cfg: cfg}
		for i := 0; i < cfg.Loops; i++ {
			l, err := newLoop(i, g, cfg)
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
func (g *Group) Refs() *registry.Refs[Config] { return &g.refs }

// Stop implements registry.Group: each loop exits once it has closed what
// is left and released its ring.
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

// Release drops one reference; the last one stops the loops.
func (g *Group) Release() { g.release() }

func (g *Group) release() { groups.Release(g) }

// WaitStopped blocks until every loop that was told to stop has exited and
// released its ring. Tests use it before counting goroutines and fds.
func WaitStopped() { groups.WaitStopped() }

// Running returns the groups that are running now.
func Running() []*Group { return groups.Running() }

// pick returns a loop in round-robin order.
func (g *Group) pick() *Loop {
	return g.loops[int(g.next.Add(1))%len(g.loops)]
}

// Listener accepts connections from a listening socket on every loop of a
// group: each loop keeps an accept armed on the shared socket, re-armed
// from its completion, and owns the connections it accepts.
type Listener struct {
	g         *Group
	q         *stream.AcceptQueue
	slots     []uint32 // per loop: the listener's slot in that loop
	closing   atomic.Bool
	errQueued atomic.Bool      // an accept error waits in q
	paused    atomic.Bool      // some loop stopped accepting: q passed AcceptBacklog
	pending   atomic.Int32     // loops that still hold the socket
	released  chan struct{}    // closed once the socket is closed
	sock      *stream.ListenFD // the listening socket, lent to WithFD until released
}

// Listen starts accepting on the listening socket fd, which the Listener
// then owns (it is closed by Close). The Listener holds a reference on g
// until it is closed.
func (g *Group) Listen(fd int) backend.Listener {
	g.acquire()
	ln := &Listener{g: g, sock: stream.NewListenFD(fd), q: stream.NewAcceptQueue(), slots: make([]uint32, len(g.loops)),
		released: make(chan struct{})}
	ln.pending.Store(int32(len(g.loops)))
	for _, l := range g.loops {
		l.post(func() { l.addListener(ln) })
	}
	return ln
}

// Accept returns the next accepted connection (its fd is s.FD()) and its
// peer's address (nil for a Unix socket's peer), or the errno an accept
// failed with, stream.ErrClosed after Close, or os.ErrDeadlineExceeded.
func (ln *Listener) Accept() (*stream.Stream, syscall.Sockaddr, error) {
	a, err := ln.q.Pop()
	if err != nil {
		return nil, nil, err
	}
	if a.Err != nil {
		ln.errQueued.Store(false)
		for _, l := range ln.g.loops {
			l.post(func() { l.rearmAccept(ln) })
		}
		return nil, nil, a.Err
	}
	ln.resumeIfDrained()
	return a.Stream, a.Peer, nil
}

// resumeIfDrained re-arms the loops' accepts once a pause for a full queue
// is no longer needed (the queue is down to half the mark). Accept calls it
// after it takes a connection, and a loop after it pauses: the pause's
// flag is set after the loop read the queue's length, so an Accept that
// emptied the queue in between would find no pause to undo.
func (ln *Listener) resumeIfDrained() {
	if ln.paused.Load() && ln.q.Len() < AcceptBacklog/2 && ln.paused.CompareAndSwap(true, false) {
		for _, l := range ln.g.loops {
			l.post(func() { l.rearmAccept(ln) })
		}
	}
}

// AcceptBacklog is how many accepted connections may wait for Accept before
// the loops stop accepting (the rest wait in the kernel's backlog). A
// variable so tests can make it small.
var AcceptBacklog = 4096

// SetDeadline sets the deadline of Accept.
func (ln *Listener) SetDeadline(t time.Time) { ln.q.SetDeadline(t) }

// WithFD runs f on the listening socket while it is open.
func (ln *Listener) WithFD(f func(fd int) error) error { return ln.sock.With(f) }

// Close stops accepting, closes connections accepted but not yet taken,
// and closes the socket once no loop refers to it. A second Close returns
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
	for _, l := range ln.g.loops {
		l.post(func() { l.closeListener(ln) })
	}
	// Return once the socket is closed, as net's Close does: its address
	// (a port, a Unix socket name) is free again when Close returns. The
	// loops first cancel their accepts, which hold the socket too.
	<-ln.released
	return nil
}

func (ln *Listener) loopDone() {
	if ln.pending.Add(-1) == 0 {
		ln.sock.Release(func(fd int) {
			_ = unix.Close(fd)
			close(ln.released)
			ln.g.release()
		})
	}
}

// Adopt hands a connected socket (from a dial) to one of the group's
// loops; the returned stream owns fd.
func (g *Group) Adopt(fd int) *stream.Stream {
	l := g.pick()
	done := make(chan *stream.Stream, 1)
	l.post(func() { done <- l.adopt(fd) })
	return <-done
}
