//go:build linux

package loop

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"

	"github.com/godzie44/go-uring/uring"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/dgram"
	"github.com/ringnet/ringnet/internal/inbox"
	"github.com/ringnet/ringnet/internal/stream"
	"github.com/ringnet/ringnet/wake"
)

// Loop is one event loop: one goroutine that owns one io_uring instance,
// its provided-buffer ring and its eventfd. Other goroutines reach it only
// through inbox (and the atomic stats); the fields after "loop goroutine
// only" are that goroutine's.
type Loop struct {
	id    int
	group *Group
	ring  *uring.Ring
	bufs  *bufRing
	wake  *wake.Handle
	waker wake.Carrier
	sig   wake.Signal
	cq    *cqView
	sleep *wake.Handle    // the eventfd registered with the ring, which the loop goroutine sleeps on
	evfd  *os.File        // a dup of sleep's fd, parked on in Go's netpoller
	evrc  syscall.RawConn // evfd's raw conn
	done  chan struct{}   // closed when the goroutine has exited

	inbox  inbox.Inbox[*conn]  // conns with pending stream requests, and work posted by other goroutines
	pinbox inbox.Inbox[*pconn] // datagram sockets with pending requests

	stats     Stats
	dbufsStat atomic.Pointer[bufRing] // dbufs, for Stats
	cfg       Config

	// loop goroutine only
	queued    int // SQEs prepared since the last submit
	wakeBuf   *[8]byte
	wakeArmed bool
	conns     []*conn // by slot
	freeConns []uint32
	lns       []*lentry // by slot
	freeLns   []uint32
	dials     []*connectOp // connects in flight, by slot
	freeDials []uint32
	starved   []*conn // receives that ended with ENOBUFS, re-armed as buffers return
	cqes      []*uring.CQEvent
	stopping  bool
	delivered int                // receives delivered since the loop last yielded or slept
	waitFn    func(uintptr) bool // wait's callback, made once: a closure per sleep allocates
	spins     int                // yields since the loop last found work (idleSpins)
	solo      *conn              // the only connection, whose reader receives (updateSolo)
	recvs     int                // receives armed on the ring
	trimming  bool               // receives are being cancelled so that the buffers' pages can go back (trim)
	idleSet   bool               // a read deadline on evfd ends the next sleep after trimAfter (idle.go)
	idleTakes uint64             // bufs.takes when it was set

	// datagram sockets (dgram.go)
	dbufs      *bufRing // datagram buffer ring, made for the loop's first datagram socket
	pconns     []*pconn // by slot
	freePconns []uint32
	psends     []*sendOp // by slot; a free one is reused
	freeSends  []uint32
	pstarved   []*pconn      // receives that ended with ENOBUFS
	takeSends  []*dgram.Send // scratch for startSends
}

// yieldAfter is how many receives one pass must deliver before the loop
// yields to their readers instead of sleeping. Measured with go run ./bench
// (3 repetitions, ratios to the stdlib in the same run), yielding at 2
// against never: net/http c=50 0.71x -> 0.85x, c=256 0.87x -> 0.98x, echo
// 128 B c=1000 0.83x -> 1.00x, syscalls per request 1.20 -> 0.63 at c=256;
// one-connection ping-pong unchanged (13.3-13.8 k round trips/s).
//
// The yield comes before the pass's re-armed receives are submitted, so
// that they share an io_uring_enter with the replies. Against yielding
// only once the loop had submitted them and found nothing more to do
// (go run ./bench, 5 repetitions, 2026-11-26): io_uring_enter per request
// 0.28 -> 0.17 and syscalls per request 0.48 -> 0.39 at c=50 (0.39 ->
// 0.32 at c=256); throughput within the runs' noise (median ratio of the
// two, same repetition: 0.99x / 1.08x / 0.98x at c=50 / 256 / 1000).
const yieldAfter = 2

// submitFirstAfter is how many receives a pass may deliver and still
// yield before submitting their re-arms. A larger pass submits first, as
// all passes did before: its re-arms are spread over many requests
// anyway, and the io_uring_enter that carries them lets the pass gather
// the completions that arrived meanwhile before it yields (likely through
// the receives' task work, which with COOP_TASKRUN waits for that entry
// to the kernel; not traced). Yielding first at any size cost net/http
// c=1000 pinned 6 % of its throughput (median same-repetition ratio
// 0.911-0.965 over 6-10 repetitions in four runs, 2026-11-26 22:19-22:31
// UTC; p99 34 -> 40 ms); with this bound, 1.004x (8 repetitions), while
// c=50 keeps the gain (0.505 -> 0.401 syscalls per request, throughput
// 0.997x).
const submitFirstAfter = 16

// idleSpins is how many times a loop with more than one connection yields
// (runtime.Gosched) to find work before it sleeps. Handlers that were
// readied by the pass, or by another loop, often write within a few
// microseconds: a loop still awake queues their replies and submits them
// in one io_uring_enter, where a sleeping one would see each sent with
// send(2) by its writer and be woken for the next request through its
// eventfd. A yield with nothing else runnable returns at once, so an idle
// loop spends a few microseconds before sleeping. Measured with go run
// ./bench -only '^http-c(50|256|1000)$' -reps 3, this value against 0
// (and 4, 64) in the same run, 2026-11-26: syscalls per request
// 0.69 -> 0.61 / 0.69 -> 0.44 / 0.48 -> 0.31 at c=50 / 256 / 1000,
// throughput 0.76x -> 0.89x / 0.86x -> 0.93x / 0.93x -> 0.96x the stdlib
// (4 spins: 0.79x / 0.88x / 0.97x; 64: 0.80x / 0.97x / 0.95x). One
// connection does not spin: its reader receives itself (updateSolo).
const idleSpins = 16

// conn is the loop's side of one connection.
type conn struct {
	l    *Loop
	s    *stream.Stream
	fd   int
	slot uint32
	gen  uint32

	recvArmed, recvCancelled bool
	sendArmed, sendCancelled bool
	sendOp                   udOp          // udSend or udPollOut while sendArmed
	flying                   []byte        // memory the in-flight send points at
	waiting                  *writableWait // a SendFile's wait for room, in the send slot
	starved                  bool
	drained                  bool // the last receive left the socket empty
	recvs                    int  // receives that delivered bytes, counted up to stream.SoloAfter (updateSolo)
	closing, aborting        bool
	wantShutWr, shutWr       bool
	dead                     bool
}

// Kick implements stream.Kicker.
func (c *conn) Kick(*stream.Stream) {
	c.l.inbox.Kick(c)
	c.l.notify()
}

// SendDirect implements stream.Kicker: writers send directly while the
// loop sleeps, and hand their bytes to it while it runs.
func (c *conn) SendDirect() bool { return c.l.sig.Sleeping() }

// lentry is a listening socket as one loop sees it.
type lentry struct {
	ln        *Listener
	gen       uint32
	armed     bool // an accept is in flight
	cancelled bool
	failed    bool // the last accept failed; re-armed when Accept asks
	paused    bool // not re-armed because the accept queue is full; re-armed as Accept drains it

	// Where the accept in flight writes the peer's address: the entry
	// stays in l.lns until the accept's CQE.
	peer acceptAddr
}

func newLoop(id int, g *Group, cfg Config) (l *Loop, err error) {
	ring, err := newRing(cfg.RingEntries)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	l = &Loop{id: id, group: g, ring: ring, cfg: cfg, done: make(chan struct{}), wakeBuf: new([8]byte)}
	built := l // the error returns below set l to nil before this runs
	defer func() {
		if err != nil {
			built.release()
		}
	}()
	if err = checkOps(ring); err != nil {
		return nil, err
	}
	entries, provide := buffers(cfg)
	if l.bufs, err = newBufRing(ring.Fd(), entries, cfg.BufferSize, 1, provide); err != nil {
		return nil, err
	}
	if l.wake, err = wake.New(wake.Eventfd); err != nil {
		return nil, err
	}
	l.waker = l.wake.Carrier()
	if l.cq, err = newCQView(ring); err != nil {
		return nil, err
	}
	if l.sleep, err = wake.New(wake.Eventfd); err != nil {
		return nil, err
	}
	efd, err := unix.FcntlInt(uintptr(l.sleep.ReadFd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("fcntl", err)
	}
	l.evfd = os.NewFile(uintptr(efd), "eventfd") // non-blocking: the dup shares the eventfd's flags
	if l.evrc, err = l.evfd.SyscallConn(); err != nil {
		return nil, err
	}
	l.cq.signalEventfd(false) // on only while the loop sleeps
	if err = registerCQEventfd(ring.Fd(), efd); err != nil {
		return nil, err
	}
	l.cqes = make([]*uring.CQEvent, 256)
	// The loop's wait ends on what it waits for, not on a remembered
	// edge: RawRead resets the poll descriptor's readiness before its
	// first call, so a signal that came before the park is only seen here.
	l.waitFn = func(uintptr) bool { return l.cq.ready() }
	l.stats.Loop = id
	return l, nil
}

// release frees what newLoop acquired. The ring must have no operation in
// flight that points at Go memory.
func (l *Loop) release() {
	if l.evfd != nil {
		_ = l.evfd.Close()
	}
	if l.sleep != nil {
		_ = l.sleep.Close()
	}
	if l.bufs != nil {
		l.bufs.unregister(l.ring.Fd())
	}
	if l.dbufs != nil {
		l.dbufs.unregister(l.ring.Fd())
	}
	_ = l.ring.Close()
	if l.bufs != nil {
		l.bufs.unmap()
	}
	if l.dbufs != nil {
		l.dbufs.unmap()
	}
	if l.cq != nil {
		l.cq.unmap()
	}
	if l.wake != nil {
		_ = l.wake.Close()
	}
}

// notify wakes the loop if it sleeps; otherwise it will see the work anyway.
func (l *Loop) notify() {
	l.sig.Notify(l.waker)
}

// post runs f on the loop goroutine.
func (l *Loop) post(f func()) {
	l.inbox.Post(f)
	l.notify()
}

func (l *Loop) run() {
	defer close(l.done)
	l.prepWakeRead()
	l.wakeArmed = true
	for {
		l.drainPosted()
		if l.stopping {
			l.shutdown()
			return
		}
		if l.delivered >= yieldAfter && (l.delivered < submitFirstAfter || l.queued == 0) {
			// Several readers were just handed bytes. Let them run before
			// submitting: the replies they write are then queued to an
			// awake loop and go out in the same io_uring_enter as the
			// receives re-armed for their connections, instead of one
			// send(2) each or an enter of their own. One reader (a
			// single connection) gets no such wait: its reply is sent
			// directly, which is faster alone. A large pass submits its
			// re-arms first and yields once it has found nothing more.
			l.delivered = 0
			l.stats.Yields.Add(1)
			runtime.Gosched()
			continue
		}
		if l.queued > 0 {
			l.submit()
		}
		if l.reap() > 0 || l.queued > 0 || l.pending() || l.delivered >= yieldAfter {
			l.spins = 0
			continue
		}
		l.delivered = 0
		if l.spins < idleSpins && l.stats.Conns.Load() > 1 {
			l.spins++
			runtime.Gosched()
			continue
		}
		l.spins = 0
		l.sig.PrepareSleep()
		l.cq.signalEventfd(true)
		if l.pending() || l.cq.ready() {
			l.cq.signalEventfd(false)
			l.sig.CancelSleep()
			continue
		}
		l.stats.Sleeps.Add(1)
		idle := l.wait()
		l.cq.signalEventfd(false)
		l.sig.Woke()
		if idle {
			l.idleTick()
		}
	}
}

// wait parks the loop goroutine in Go's netpoller on its eventfd, which
// the ring signals when it posts a completion while the loop sleeps (the
// signalling is switched off while it runs, see cqView.signalEventfd). No
// thread is held while the loop sleeps. The eventfd's counter is never
// read: every signal is a new edge for the edge-triggered netpoller. It
// reports whether the wait ended on the idle deadline (idle.go) instead.
func (l *Loop) wait() bool {
	return errors.Is(l.evrc.Read(l.waitFn), os.ErrDeadlineExceeded)
}

func (l *Loop) submit() {
	n := l.queued
	l.queued = 0
	for {
		_, err := l.ring.Submit()
		l.stats.Enters.Add(1)
		if err == nil {
			break
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EAGAIN) {
			// The completion queue is over-full: make room and retry.
			l.reap()
			continue
		}
		panic("ringnet/loop: io_uring_enter: " + err.Error())
	}
	l.stats.SQEs.Add(uint64(n))
}

func (l *Loop) drainPosted() {
	l.inbox.Drain(l.service)
	l.pinbox.Drain(l.servicePacket)
}

// pending reports whether user goroutines posted work for the loop.
func (l *Loop) pending() bool { return l.inbox.Pending() || l.pinbox.Pending() }

// reap handles every completion waiting in the ring and returns how many.
func (l *Loop) reap() int {
	total := 0
	for {
		n := l.ring.PeekCQEventBatch(l.cqes)
		if n == 0 {
			break
		}
		for _, e := range l.cqes[:n] {
			l.complete(e.UserData, e.Res, e.Flags)
		}
		l.ring.AdvanceCQ(uint32(n))
		total += n
	}
	if total > 0 {
		l.stats.CQEs.Add(uint64(total))
		l.bufs.grow()
		l.bufs.commit()
		l.feedStarved()
		l.endTrim()
		if l.dbufs != nil {
			l.dbufs.grow()
			l.dbufs.commit()
			l.feedStarvedPackets()
		}
	}
	return total
}

func (l *Loop) complete(ud uint64, res int32, flags uint32) {
	op, gen, slot := unpackUD(ud)
	switch op {
	case udWake:
		l.wakeArmed = false
		if !l.stopping {
			l.prepWakeRead()
			l.wakeArmed = true
		}
	case udAccept:
		l.completeAccept(gen, slot, res)
	case udRecv:
		l.completeRecv(l.lookup(gen, slot), res, flags)
	case udSend, udPollOut:
		c := l.lookup(gen, slot)
		if c != nil && c.waiting != nil {
			l.completeWritableWait(c, res)
		} else {
			l.completeSend(c, op, res)
		}
	case udConnect:
		l.completeConnect(gen, slot, res)
	case udRecvMsg:
		l.completeRecvMsg(l.pconnAt(gen, slot), res, flags)
	case udSendMsg:
		l.completeSendMsg(gen, slot, res)
	case udCancel:
		// The cancelled operation reports on its own.
	}
}

func (l *Loop) lookup(gen, slot uint32) *conn {
	if int(slot) >= len(l.conns) {
		return nil
	}
	c := l.conns[slot]
	if c == nil || c.gen != gen {
		return nil
	}
	return c
}

// --- connections -------------------------------------------------------

// adopt makes the loop own connected socket fd and starts receiving.
func (l *Loop) adopt(fd int) *stream.Stream {
	var slot uint32
	if n := len(l.freeConns); n > 0 {
		slot = l.freeConns[n-1]
		l.freeConns = l.freeConns[:n-1]
	} else {
		slot = uint32(len(l.conns))
		l.conns = append(l.conns, nil)
	}
	c := &conn{l: l, fd: fd, slot: slot, gen: l.nextGen()}
	c.s = stream.New(fd, c)
	c.s.CountSolo(stream.SoloCounters{Received: &l.stats.BytesIn, Handoffs: &l.stats.SoloHandoffs})
	l.conns[slot] = c
	l.group.acquire()
	l.stats.Conns.Add(1)
	l.updateSolo()
	l.armRecv(c)
	return c.s
}

// updateSolo gives the receiving of a loop's only connection to its
// reader (stream.StartSolo, through armRecv), and takes it back when a
// second connection arrives: one connection has nothing to batch, and
// read(2) on the reader's goroutine costs less per message than a receive
// through the ring (see the package doc). Called whenever the number of
// connections changes, and when a connection's stream.SoloAfter-th receive
// delivered bytes: a connection is handed over only then, so that one
// that carries a single request (an HTTP `Connection: close`) never pays
// for the reader's descriptor (see the package doc).
func (l *Loop) updateSolo() {
	if l.stats.Conns.Load() != 1 {
		if c := l.solo; c != nil {
			l.solo = nil
			if c.s.StopSolo() {
				l.armRecv(c)
			} // else its reader is receiving, and asks to resume when done
		}
		return
	}
	if l.solo != nil {
		return
	}
	for _, c := range l.conns {
		if c != nil && !c.closing {
			if c.recvs < stream.SoloAfter {
				return // completeRecv calls again
			}
			l.solo = c
			// A receive in flight is cancelled; its completion re-arms,
			// which hands over instead (armRecv).
			l.cancelRecv(c)
			l.armRecv(c)
			return
		}
	}
}

var genCounter atomic.Uint32

func (l *Loop) nextGen() uint32 { return genCounter.Add(1) & 0xffffff }

func (c *conn) ud(op udOp) uint64 { return packUD(op, c.gen, c.slot) }

func (l *Loop) armRecv(c *conn) {
	if c.recvArmed || c.closing || c.starved || !c.s.RecvWanted() {
		return
	}
	if c.s.StartSolo(l.solo == c) {
		return // the reader receives (the only connection, or after CloseRead)
	}
	if !c.s.LoopReceives() {
		return // a solo reader gives receiving back (ReqResume) when it is done
	}
	if l.trimming {
		return // armed again once the trim has given the pages back (endTrim)
	}
	l.prepRecv(c.fd, c.ud(udRecv), c.drained)
	c.recvArmed, c.recvCancelled = true, false
	l.recvs++
}

func (l *Loop) cancelRecv(c *conn) {
	if c.recvArmed && !c.recvCancelled {
		l.prepCancel(c.ud(udRecv))
		c.recvCancelled = true
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
		l.armRecv(c)
	}
	l.trySend(c)
	l.progressClose(c)
}

func (l *Loop) trySend(c *conn) {
	if c.sendArmed || c.aborting {
		return
	}
	if b := c.s.NextSend(); b != nil {
		l.startSend(c, b)
		return
	}
	if c.wantShutWr && !c.shutWr && c.s.SendIdle() {
		c.shutWr = true
		_ = unix.Shutdown(c.fd, unix.SHUT_WR)
	}
}

func (l *Loop) startSend(c *conn, b []byte) {
	c.flying = b
	l.prepSend(c.fd, b, c.ud(udSend))
	c.sendArmed, c.sendCancelled, c.sendOp = true, false, udSend
}

func (l *Loop) completeSend(c *conn, op udOp, res int32) {
	if c == nil {
		return
	}
	c.sendArmed = false
	c.flying = nil
	switch {
	case c.aborting:
		c.s.SendFailed(stream.ErrClosed)
	case op == udPollOut && res >= 0:
		// Writable again: resend what is left.
		if b := c.s.SendDone(0); b != nil {
			l.startSend(c, b)
		}
	case res >= 0:
		if b := c.s.SendDone(int(res)); b != nil {
			l.startSend(c, b)
		} else {
			l.trySend(c)
		}
	case res == -int32(unix.EAGAIN) || res == -int32(unix.EINTR):
		l.prepPollOut(c.fd, c.ud(udPollOut))
		c.sendArmed, c.sendOp = true, udPollOut
	default:
		c.s.SendFailed(syscall.Errno(-res))
	}
	l.progressClose(c)
}

// completeRecv handles the completion of a receive. Receives are
// single-shot and re-armed here, so that the task work of the next one
// targets the thread the loop runs on now (see the package doc).
func (l *Loop) completeRecv(c *conn, res int32, flags uint32) {
	if flags&cqeFBuffer != 0 {
		bid := uint16(flags >> cqeBufShift)
		l.bufs.take()
		l.armIdle()
		if c != nil && res > 0 {
			l.stats.BytesIn.Add(uint64(res))
			l.delivered++
			if c.s.Deliver(l.bufs.buf(bid)[:res]) {
				// Paused at the high-water mark: armRecv below declines
				// until the reader drains the queue and asks to resume.
				l.stats.RecvPauses.Add(1)
			}
		}
		l.bufs.recycle(bid)
	}
	if c == nil {
		return
	}
	c.recvArmed = false
	l.recvs--
	c.drained = res > 0 && flags&cqeFSockNonempty == 0
	if res > 0 && c.recvs < stream.SoloAfter {
		if c.recvs++; c.recvs == stream.SoloAfter {
			l.updateSolo()
		}
	}
	switch {
	case res == 0:
		c.s.DeliverEnd(io.EOF)
	case res == -int32(unix.ENOBUFS):
		l.stats.NoBufs.Add(1)
		l.bufs.short = true
		if !c.starved {
			c.starved = true
			l.starved = append(l.starved, c)
		}
	case res > 0, res == -int32(unix.ECANCELED), res == -int32(unix.EINTR), res == -int32(unix.EAGAIN):
		// Re-armed below unless paused or closing.
	default:
		c.s.DeliverEnd(syscall.Errno(-res))
	}
	if c.closing {
		l.progressClose(c)
		return
	}
	l.armRecv(c)
}

// feedStarved re-arms receives that ran out of buffers, no more at once
// than the ring holds buffers, oldest first. It runs after completions
// returned buffers, so it is driven by events, never by a timer or a spin.
func (l *Loop) feedStarved() {
	if len(l.starved) == 0 {
		return
	}
	free := l.bufs.out
	i := 0
	for ; i < len(l.starved) && free > 0; i++ {
		c := l.starved[i]
		c.starved = false
		if !c.dead {
			l.armRecv(c)
			free--
		}
	}
	n := copy(l.starved, l.starved[i:])
	clear(l.starved[n:])
	l.starved = l.starved[:n]
}

// progressClose advances a closing connection: flush (unless aborting),
// stop receiving, and close the fd once no operation refers to it.
func (l *Loop) progressClose(c *conn) {
	if !c.closing || c.dead {
		return
	}
	l.cancelRecv(c)
	if c.waiting != nil {
		// Close interrupts a SendFile, as closing the fd interrupts
		// sendfile(2) with net.
		l.cancelWritableWait(c, c.waiting, stream.ErrClosed)
	}
	if c.aborting && c.sendArmed && !c.sendCancelled {
		l.prepCancel(c.ud(c.sendOp))
		c.sendCancelled = true
	}
	if c.recvArmed || c.sendArmed {
		return
	}
	if !c.aborting {
		if b := c.s.NextSend(); b != nil {
			l.startSend(c, b)
			return
		}
	}
	c.dead = true
	if c.starved {
		for i, s := range l.starved {
			if s == c {
				l.starved = append(l.starved[:i], l.starved[i+1:]...)
				break
			}
		}
	}
	c.s.SendFailed(stream.ErrClosed)
	c.s.CloseFD()
	l.conns[c.slot] = nil
	l.freeConns = append(l.freeConns, c.slot)
	l.stats.Conns.Add(-1)
	if l.solo == c {
		l.solo = nil
	}
	l.updateSolo()
	l.group.release()
}

// --- listeners ---------------------------------------------------------

func (l *Loop) addListener(ln *Listener) {
	var slot uint32
	if n := len(l.freeLns); n > 0 {
		slot = l.freeLns[n-1]
		l.freeLns = l.freeLns[:n-1]
	} else {
		slot = uint32(len(l.lns))
		l.lns = append(l.lns, nil)
	}
	e := &lentry{ln: ln, gen: l.nextGen()}
	l.lns[slot] = e
	ln.slots[l.id] = slot
	l.armAccept(e, slot)
}

func (l *Loop) armAccept(e *lentry, slot uint32) {
	if e.armed || e.ln.closing.Load() {
		return
	}
	l.prepAccept(e.ln.sock.FD(), &e.peer, packUD(udAccept, e.gen, slot))
	e.armed, e.cancelled, e.failed, e.paused = true, false, false, false
}

func (l *Loop) listenerEntry(ln *Listener) (*lentry, uint32) {
	slot := ln.slots[l.id]
	if int(slot) < len(l.lns) && l.lns[slot] != nil && l.lns[slot].ln == ln {
		return l.lns[slot], slot
	}
	return nil, 0
}

// rearmAccept re-arms an accept that stopped on an error, when the
// listener's user asks for the next connection.
func (l *Loop) rearmAccept(ln *Listener) {
	if e, slot := l.listenerEntry(ln); e != nil && (e.failed || e.paused) {
		e.paused = false
		l.armAccept(e, slot)
	}
}

func (l *Loop) closeListener(ln *Listener) {
	e, slot := l.listenerEntry(ln)
	if e == nil {
		return
	}
	if e.armed {
		if !e.cancelled {
			l.prepCancel(packUD(udAccept, e.gen, slot))
			e.cancelled = true
		}
		return
	}
	l.dropListener(e, slot)
}

func (l *Loop) dropListener(e *lentry, slot uint32) {
	l.lns[slot] = nil
	l.freeLns = append(l.freeLns, slot)
	e.ln.loopDone()
}

// testHookPausing, when set, runs on the loop between its decision to
// pause a listener's accepts and the flag that tells Accept so (tests).
var testHookPausing func(*Listener)

func (l *Loop) completeAccept(gen, slot uint32, res int32) {
	if int(slot) >= len(l.lns) || l.lns[slot] == nil || l.lns[slot].gen != gen {
		if res >= 0 {
			_ = unix.Close(int(res))
		}
		return
	}
	e := l.lns[slot]
	e.armed = false
	if res >= 0 {
		l.stats.Accepts.Add(1)
		// Read before the accept is re-armed, which reuses e.peer.
		l.deliverAccepted(e.ln, int(res), e.peer.sockaddr())
		// Connections nobody accepts stay in the kernel's backlog, as
		// with net, rather than pile up here: stop accepting above the
		// mark, and let Accept re-arm when it has drained half of it.
		if e.ln.q.Len() >= AcceptBacklog {
			e.paused = true
			if testHookPausing != nil {
				testHookPausing(e.ln)
			}
			e.ln.paused.Store(true)
			// An Accept that drained the queue between the Len above
			// and the Store found no pause to undo: undo it for them.
			e.ln.resumeIfDrained()
		}
	}
	if e.ln.closing.Load() {
		l.dropListener(e, slot)
		return
	}
	if res < 0 && res != -int32(unix.ECANCELED) {
		// EMFILE, ENFILE, ENOMEM...: tell Accept, and wait for it to ask
		// again before re-arming, so that an error that persists costs one
		// completion per Accept call instead of a spin.
		// At most one error waits in the queue: each one costs the server
		// a back-off sleep, and re-arming every failed loop per error
		// popped would otherwise queue them faster than they are taken.
		e.failed = true
		l.stats.AcceptErrors.Add(1)
		if e.ln.errQueued.CompareAndSwap(false, true) {
			e.ln.q.Push(stream.Accepted{Err: syscall.Errno(-res)})
		}
		return
	}
	if !e.paused {
		l.armAccept(e, slot)
	}
}

// deliverAccepted adopts an accepted fd and queues it for Accept, with
// its peer's address if known.
func (l *Loop) deliverAccepted(ln *Listener, fd int, peer syscall.Sockaddr) {
	if ln.closing.Load() {
		_ = unix.Close(fd)
		return
	}
	s := l.adopt(fd)
	if !ln.q.Push(stream.Accepted{Stream: s, Peer: peer}) {
		_ = s.Close()
	}
}

// --- shutdown ----------------------------------------------------------

func (l *Loop) stop() { l.post(func() { l.stopping = true }) }

// shutdown runs on the loop goroutine once the group has no users left:
// it takes back the eventfd read (which points at Go memory) and frees
// the ring.
func (l *Loop) shutdown() {
	l.disarmIdle()
	for _, c := range l.conns {
		if c != nil && !c.dead {
			// Unreachable when the group's reference count is right;
			// close what is left rather than leak it.
			c.closing, c.aborting = true, true
			l.progressClose(c)
		}
	}
	for _, c := range l.pconns {
		if c != nil && !c.dead {
			c.closing = true
			l.progressClosePacket(c)
		}
	}
	if l.queued > 0 {
		l.submit()
	}
	if l.wakeArmed {
		l.wake.Wake()
		for l.wakeArmed {
			if l.reap() == 0 {
				l.cq.signalEventfd(true)
				if !l.cq.ready() {
					l.wait()
				}
				l.cq.signalEventfd(false)
			}
		}
	}
	l.release()
}
