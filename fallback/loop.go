//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/inbox"
	"github.com/ringnet/ringnet/internal/stream"
	"github.com/ringnet/ringnet/wake"
)

// Per-turn budgets: how many reads, sends or accepts one socket may do
// before the loop serves the rest of its batch. What is left is resumed
// on the next turn (the edge that announced it will not come again).
const (
	readBudget   = 16
	sendBudget   = 16
	acceptBudget = 64
)

// Loop is one event loop: one goroutine that owns one poller (epoll or
// kqueue), its wake pipe and its read scratch buffer. Other goroutines
// reach it only through inbox (and the atomic stats); the fields after
// "loop goroutine only" are that goroutine's.
type Loop struct {
	id    int
	group *Group
	p     *poller
	wake  *wake.Handle
	wfd   int // the wake pipe's read end, registered in p
	waker wake.Carrier
	sig   wake.Signal
	mode  int
	pf    *os.File        // a dup of the poller fd, parked on in Go's netpoller
	rc    syscall.RawConn // pf's raw conn
	done  chan struct{}   // closed when the goroutine has exited

	inbox  inbox.Inbox[*conn]  // conns with pending stream requests, and work posted by other goroutines
	pinbox inbox.Inbox[*pconn] // datagram sockets with pending requests

	stats stats

	cfg Config

	// loop goroutine only
	buf      []byte    // read scratch buffer
	pio      *packetIO // datagram I/O, made for the loop's first datagram socket
	ents     []entry   // by fd
	nready   int       // events collected by the netpoller callback
	waitFn   func(uintptr) bool
	rerun    []rerun
	stopping bool
	solo     *conn // the only connection, whose reader receives (updateSolo)
}

// entry is what the loop knows about one fd registered in its poller.
type entry struct {
	c    *conn
	p    *pconn // a datagram socket
	ln   *Listener
	dial *dialOp // a connect in progress
}

// rerun is a socket whose turn ended on a budget.
type rerun struct {
	c  *conn
	p  *pconn
	ln *Listener
}

// conn is the loop's side of one connection.
type conn struct {
	l  *Loop
	s  *stream.Stream
	fd int

	registered bool
	flying     []byte        // NextSend/SendDone bytes not yet taken by the socket
	sendWait   bool          // a send hit EAGAIN: wait for the writable edge
	writable   chan struct{} // closed at the next writable edge, for SendFile
	hup        bool          // the poller reported the peer's FIN or an error
	urgent     bool          // the peer sent urgent data: a short read no longer means the socket is empty
	readsOff   bool          // the poller does not report its read events (a solo reader reads)
	recvs      int           // reads that delivered bytes, counted up to stream.SoloAfter (updateSolo)
	rerun      bool          // queued on the loop's rerun list

	closing, aborting  bool
	wantShutWr, shutWr bool
	dead               bool
}

// Kick implements stream.Kicker.
func (c *conn) Kick(*stream.Stream) {
	c.l.inbox.Kick(c)
	c.l.notify()
}

// SendDirect implements stream.Kicker: writers always try one
// non-blocking send(2) themselves, as the standard library does; waking a
// readiness loop to send would cost more system calls, not fewer.
func (c *conn) SendDirect() bool { return true }

func newLoop(id int, g *Group, cfg Config, mode int) (l *Loop, err error) {
	l = &Loop{id: id, group: g, mode: mode, cfg: cfg, done: make(chan struct{}), buf: make([]byte, cfg.BufferSize)}
	built := l // the error returns below set l to nil before this runs
	defer func() {
		if err != nil {
			built.release()
		}
	}()
	if l.p, err = newPoller(); err != nil {
		return nil, err
	}
	if l.wake, err = wake.New(wake.Pipe); err != nil {
		return nil, err
	}
	l.waker = l.wake.Carrier()
	l.wfd = l.wake.ReadFd()
	if err = l.p.addReader(l.wfd); err != nil {
		return nil, err
	}
	if mode == waitNetpoll {
		pfd, err := dupNonblock(l.p.fd)
		if err != nil {
			return nil, err
		}
		l.pf = os.NewFile(uintptr(pfd), "poller")
		if l.pf.SetReadDeadline(time.Time{}) != nil {
			// Go's netpoller could not register the poller fd (kqueue
			// takes only EVFILT_READ on a kqueue, the netpoller asks
			// for EVFILT_WRITE too): block a thread instead.
			_ = l.pf.Close()
			l.pf, l.mode = nil, waitBlocking
		} else {
			if l.rc, err = l.pf.SyscallConn(); err != nil {
				return nil, err
			}
			l.waitFn = l.collect
		}
	}
	l.stats.Loop = id
	return l, nil
}

// dupNonblock returns a non-blocking, close-on-exec duplicate of fd.
func dupNonblock(fd int) (int, error) {
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("fcntl", err)
	}
	if err = unix.SetNonblock(d, true); err != nil {
		_ = unix.Close(d)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return d, nil
}

// release frees what newLoop acquired.
func (l *Loop) release() {
	if l.pf != nil {
		_ = l.pf.Close()
	}
	if l.p != nil {
		l.p.close()
	}
	if l.wake != nil {
		_ = l.wake.Close()
	}
}

// notify wakes the loop if it sleeps; otherwise it will see the work anyway.
func (l *Loop) notify() { l.sig.Notify(l.waker) }

// post runs f on the loop goroutine.
func (l *Loop) post(f func()) {
	l.inbox.Post(f)
	l.notify()
}

func (l *Loop) run() {
	defer close(l.done)
	for {
		l.drainPosted()
		if l.stopping {
			l.shutdown()
			return
		}
		var n int
		if len(l.rerun) > 0 || l.pending() {
			// More to do: collect what is ready without sleeping, so that
			// the work queued meanwhile does not starve other sockets.
			n = l.pollNow()
		} else {
			l.sig.PrepareSleep()
			if l.pending() {
				l.sig.CancelSleep()
				continue
			}
			l.stats.Sleeps.Add(1)
			n = l.wait()
			l.sig.Woke()
		}
		for i := range n {
			fd, ev := l.p.event(i)
			l.dispatch(fd, ev)
		}
		l.runRerun()
	}
}

// pollNow collects the events that are ready, without blocking.
func (l *Loop) pollNow() int {
	for {
		n, err := l.p.poll(false)
		if err == nil {
			return n
		}
		if err != unix.EINTR {
			panic(fmt.Sprintf("ringnet/fallback: %s: %v", pollName, err))
		}
	}
}

// wait blocks until the poller has events and returns how many it
// collected.
func (l *Loop) wait() int {
	if l.mode == waitBlocking {
		l.stats.Polls.Add(1)
		for {
			n, err := l.p.poll(true)
			if err == nil {
				return n
			}
			if err != unix.EINTR {
				panic(fmt.Sprintf("ringnet/fallback: %s: %v", pollName, err))
			}
		}
	}
	// Parks in Go's netpoller until the poller fd reads ready, which it
	// does when it has events; collect polls it without blocking each
	// time. No thread is held while the loop sleeps.
	l.nready = 0
	if err := l.rc.Read(l.waitFn); err != nil {
		panic("ringnet/fallback: waiting on the poller: " + err.Error())
	}
	return l.nready
}

// collect is the callback of wait: it reports true once events were
// collected, false to park until the poller fd reads ready.
func (l *Loop) collect(uintptr) bool {
	if n := l.pollNow(); n > 0 {
		l.nready = n
		return true
	}
	l.stats.Polls.Add(1)
	return false
}

func (l *Loop) drainPosted() {
	l.inbox.Drain(l.service)
	l.pinbox.Drain(l.servicePacket)
}

// pending reports whether user goroutines posted work for the loop.
func (l *Loop) pending() bool { return l.inbox.Pending() || l.pinbox.Pending() }

// dispatch acts on one event of the poller.
func (l *Loop) dispatch(fd int, ev uint32) {
	if fd == l.wfd {
		if _, err := l.wake.Drain(); err != nil {
			panic("ringnet/fallback: " + err.Error())
		}
		return
	}
	if fd < 0 || fd >= len(l.ents) {
		return // removed earlier in this batch
	}
	switch e := l.ents[fd]; {
	case e.c != nil:
		l.connEvent(e.c, ev)
	case e.p != nil:
		l.packetEvent(e.p, ev)
	case e.ln != nil:
		l.accept(e.ln)
	case e.dial != nil:
		l.connectEvent(e.dial)
	}
}

func (l *Loop) runRerun() {
	if len(l.rerun) == 0 {
		return
	}
	// Entries queued while this runs wait for the next turn.
	n := len(l.rerun)
	for i := 0; i < n; i++ {
		r := l.rerun[i]
		l.rerun[i] = rerun{}
		switch {
		case r.c != nil:
			r.c.rerun = false
			if !r.c.dead {
				l.recv(r.c)
				l.send(r.c)
				l.progressClose(r.c)
			}
		case r.p != nil:
			r.p.rerun = false
			if !r.p.dead {
				l.recvPackets(r.p)
			}
		case r.ln != nil:
			r.ln.rerun = false
			l.accept(r.ln)
		}
	}
	k := copy(l.rerun, l.rerun[n:])
	clear(l.rerun[k:])
	l.rerun = l.rerun[:k]
}

func (l *Loop) setEntry(fd int, e entry) {
	if fd >= len(l.ents) {
		if e == (entry{}) {
			return
		}
		l.ents = append(l.ents, make([]entry, fd+1-len(l.ents))...)
	}
	l.ents[fd] = e
}

// --- connections -------------------------------------------------------

// newConn makes the loop side and the stream of connected socket fd. It
// may run on any goroutine: it touches nothing of the loop's.
func (l *Loop) newConn(fd int) *conn {
	setNoSigpipe(fd) // before any send, direct ones included
	c := &conn{l: l, fd: fd}
	c.s = stream.New(fd, c)
	c.s.CountSolo(stream.SoloCounters{Received: &l.stats.BytesIn, Handoffs: &l.stats.SoloHandoffs})
	return c
}

// register adds c to the loop's poller. The edge-triggered registration
// reports the socket's current readiness at once.
func (l *Loop) register(c *conn) {
	l.stats.Conns.Add(1)
	if err := l.p.addConn(c.fd); err != nil {
		errno, ok := err.(syscall.Errno)
		if !ok {
			errno = syscall.EINVAL
		}
		c.s.DeliverEnd(errno)
		c.s.SendFailed(errno)
	} else {
		c.registered = true
		l.setEntry(c.fd, entry{c: c})
	}
	l.updateSolo()
	// A request may have been made before the registration ran.
	l.service(c)
}

// updateSolo gives the receiving of a loop's only connection to its
// reader, which then reads the socket itself and waits for it in Go's
// netpoller (stream.StartSolo), and takes it back when a second
// connection arrives, as the io_uring loops do (see the package doc).
// Called whenever the number of connections changes. The poller stops
// reporting a solo connection's read events meanwhile (watchReads); bytes
// that arrived in between are read at once when receiving comes back
// (recv turns the events on again, which reports the current readiness,
// and ReqResume reads). A connection is handed over only once the loop
// has read bytes for it stream.SoloAfter times, so that one that carries a
// single request never pays for the reader's descriptor.
func (l *Loop) updateSolo() {
	if l.stats.Conns.Load() != 1 {
		if c := l.solo; c != nil {
			l.solo = nil
			if c.s.StopSolo() {
				l.recv(c)
			} // else its reader is receiving, and asks to resume when done
		}
		return
	}
	if l.solo != nil {
		return
	}
	for _, e := range l.ents {
		if c := e.c; c != nil && !c.closing && !c.dead {
			if c.recvs < stream.SoloAfter {
				return // recv calls again
			}
			l.solo = c
			if c.s.StartSolo(true) {
				l.watchReads(c, false)
			}
			return
		}
	}
}

func (l *Loop) connEvent(c *conn, ev uint32) {
	if c.dead {
		return
	}
	if ev&(evRdHup|evErr) != 0 {
		c.hup = true
	}
	if ev&evPri != 0 {
		// A TCP read stops short at the urgent mark with bytes still
		// queued behind it, which raise no new edge: from now on this
		// connection reads until EAGAIN.
		c.urgent = true
	}
	if ev&(evIn|evRdHup|evErr) != 0 {
		l.recv(c)
	}
	if ev&(evOut|evErr) != 0 {
		c.wakeWritable()
	}
	if c.sendWait && ev&(evOut|evErr) != 0 {
		c.sendWait = false
		l.send(c)
	}
	l.progressClose(c)
}

func (l *Loop) queueRerun(c *conn) {
	if !c.rerun {
		c.rerun = true
		l.rerun = append(l.rerun, rerun{c: c})
	}
}

// recv reads what the socket has, up to the budget.
func (l *Loop) recv(c *conn) {
	if c.closing || !c.s.RecvWanted() {
		return // ended, or paused: the reader asks to resume (ReqResume) when it has drained the queue
	}
	if c.s.StartSolo(l.solo == c) {
		l.watchReads(c, false)
		return // the reader receives (the only connection, or after CloseRead)
	}
	if !c.s.LoopReceives() {
		return // a solo reader gives receiving back (ReqResume) when it is done
	}
	l.watchReads(c, true)
	for i := 0; ; {
		n, err := unix.Read(c.fd, l.buf)
		switch {
		case err == nil && n > 0:
			l.stats.BytesIn.Add(uint64(n))
			if c.s.Deliver(l.buf[:n]) {
				l.stats.RecvPauses.Add(1)
				return
			}
			if c.recvs < stream.SoloAfter {
				if c.recvs++; c.recvs == stream.SoloAfter {
					l.updateSolo()
					if !c.s.LoopReceives() {
						return // handed to its reader, which reads the rest
					}
				}
			}
			if n < len(l.buf) && !c.hup && !c.urgent {
				// Drained: bytes arriving later raise a new edge.
				return
			}
			if i++; i == readBudget {
				l.queueRerun(c)
				return
			}
		case err == nil:
			c.s.DeliverEnd(io.EOF)
			return
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			return
		default:
			c.s.DeliverEnd(toErrno(err))
			return
		}
	}
}

// watchReads turns the poller's read events for c on or off: off while
// its reader receives, so that its bytes wake only the reader, not the
// loop as well.
func (l *Loop) watchReads(c *conn, on bool) {
	if !c.registered || c.readsOff == !on {
		return
	}
	if err := l.p.watchReads(c.fd, on); err == nil {
		c.readsOff = !on
	}
}

func toErrno(err error) syscall.Errno {
	if errno, ok := err.(syscall.Errno); ok {
		return errno
	}
	return syscall.EIO
}

// send sends queued bytes until the queue is empty, the socket is full or
// the budget is spent, then shuts the sending side down if asked to and
// everything is sent.
func (l *Loop) send(c *conn) {
	if c.sendWait || c.aborting || !c.registered {
		return
	}
	b := c.flying
	if b == nil {
		b = c.s.NextSend()
	}
	for i := 0; b != nil; {
		n, err := sendmsg(c.fd, b)
		switch {
		case err == nil:
			b = c.s.SendDone(n)
			if i++; b != nil && i == sendBudget {
				c.flying = b
				l.queueRerun(c)
				return
			}
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			c.flying, c.sendWait = b, true
			return
		default:
			c.flying = nil
			c.s.SendFailed(toErrno(err))
			return
		}
	}
	c.flying = nil
	if c.wantShutWr && !c.shutWr && c.s.SendIdle() {
		c.shutWr = true
		_ = unix.Shutdown(c.fd, unix.SHUT_WR)
	}
}

// service acts on the requests a stream posted.
func (l *Loop) service(c *conn) {
	req := c.s.TakeRequests()
	if c.dead {
		return
	}
	if req&stream.ReqAbort != 0 {
		c.closing, c.aborting = true, true
	}
	if req&stream.ReqClose != 0 {
		c.closing = true
	}
	if req&stream.ReqCloseWrite != 0 {
		c.wantShutWr = true
	}
	if req&stream.ReqResume != 0 {
		// Resumed after a pause, or given back by a solo reader (the
		// stream may still be paused then: recv checks). Edge-triggered:
		// the bytes left in the socket raise no new event, so read them
		// now.
		l.recv(c)
	}
	l.send(c)
	l.progressClose(c)
}

// progressClose advances a closing connection: flush (unless aborting),
// then remove the socket from the poller and close it.
func (l *Loop) progressClose(c *conn) {
	if !c.closing || c.dead {
		return
	}
	if !c.aborting {
		l.send(c)
		if c.flying != nil {
			return // waiting for the writable edge, the rerun, or an abort
		}
	}
	c.dead = true
	c.flying = nil
	c.wakeWritable()
	c.s.SendFailed(stream.ErrClosed)
	if c.registered {
		l.p.del(c.fd)
		l.ents[c.fd] = entry{}
	}
	c.s.CloseFD()
	l.stats.Conns.Add(-1)
	if l.solo == c {
		l.solo = nil
	}
	l.updateSolo()
	l.group.release()
}

// --- listeners ---------------------------------------------------------

func (l *Loop) addListener(ln *Listener) {
	if ln.closing.Load() {
		return // Close posted closeListener after this
	}
	if err := l.p.addReader(ln.sock.FD()); err != nil {
		ln.failed = true
		l.stats.AcceptErrors.Add(1)
		ln.q.Push(stream.Accepted{Err: toErrno(err)})
		return
	}
	ln.registered = true
	l.setEntry(ln.sock.FD(), entry{ln: ln})
	// The registration reports connections already waiting.
}

// retryAccept runs when Accept took an accept error: try again at once,
// since the edge for the connections waiting was used up.
func (l *Loop) retryAccept(ln *Listener) {
	if !ln.failed || ln.closing.Load() {
		return
	}
	ln.failed = false
	if !ln.registered {
		l.addListener(ln)
		return
	}
	l.accept(ln)
}

// accept accepts until EAGAIN, an error or the budget, handing the
// connections round-robin to the group's loops.
func (l *Loop) accept(ln *Listener) {
	if ln.failed || ln.closing.Load() {
		return
	}
	for i := 0; ; {
		fd, peer, err := accept(ln.sock.FD())
		switch err {
		case nil:
			l.stats.Accepts.Add(1)
			l.group.acquire() // the connection's reference, from now on
			if t := l.group.pick(); t == l {
				l.deliverAccepted(ln, fd, peer)
			} else {
				t.post(func() { t.deliverAccepted(ln, fd, peer) })
			}
			if i++; i == acceptBudget {
				if !ln.rerun {
					ln.rerun = true
					l.rerun = append(l.rerun, rerun{ln: ln})
				}
				return
			}
			continue
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EAGAIN:
			return
		}
		if ln.closing.Load() {
			return
		}
		// EMFILE, ENFILE, ENOBUFS...: tell Accept, and accept again only
		// when it asks, so that an error that persists costs one accept
		// per Accept call instead of a spin.
		ln.failed = true
		l.stats.AcceptErrors.Add(1)
		ln.q.Push(stream.Accepted{Err: toErrno(err)})
		return
	}
}

// deliverAccepted adopts an accepted fd and queues it for Accept, with
// its peer's address. The connection's group reference was taken by the
// accepting loop.
func (l *Loop) deliverAccepted(ln *Listener, fd int, peer syscall.Sockaddr) {
	if ln.closing.Load() {
		_ = unix.Close(fd)
		l.group.release()
		return
	}
	c := l.newConn(fd)
	l.register(c)
	if !ln.q.Push(stream.Accepted{Stream: c.s, Peer: peer}) {
		_ = c.s.Close()
	}
}

func (l *Loop) closeListener(ln *Listener) {
	if ln.registered {
		ln.registered = false
		l.p.del(ln.sock.FD())
		l.ents[ln.sock.FD()] = entry{}
	}
	ln.sock.Release(func(fd int) {
		_ = unix.Close(fd)
		close(ln.released)
		ln.g.release()
	})
}

// --- shutdown ----------------------------------------------------------

func (l *Loop) stop() { l.post(func() { l.stopping = true }) }

// shutdown runs on the loop goroutine once the group has no users left.
func (l *Loop) shutdown() {
	for _, e := range l.ents {
		if c := e.c; c != nil && !c.dead {
			// Unreachable when the group's reference count is right;
			// close what is left rather than leak it.
			c.closing, c.aborting = true, true
			l.progressClose(c)
		}
		if p := e.p; p != nil && !p.dead {
			l.closePacket(p)
		}
	}
	l.release()
}
