// Package dgram holds the state of one datagram socket (UDP or Unix
// datagram) that is shared between the goroutines of its user (ReadFrom,
// WriteTo, deadlines, Close) and the event loop that receives and sends for
// it (loop/ for io_uring, fallback/ for readiness polling), as package
// stream does for byte streams.
//
// It owns the queue of received datagrams, the sends waiting for the loop,
// the deadlines and the blocking of user goroutines, and the one I/O a
// user goroutine does itself: a send straight from the writer's goroutine
// when its loop's Kicker allows it (Kicker.SendDirect). It never touches a
// ring or a poller: the loop that drives a Socket is told what to do
// through the Kicker it registered, and reports back through Deliver,
// DeliverErr and Complete. The file descriptor is held here so that direct
// sends, user-side socket options and the loop's final close cannot race
// (WithFD, CloseFD).
//
// # Semantics kept from net
//
// A read takes one whole datagram: what does not fit the reader's buffer
// is dropped, and the read reports MSG_TRUNC in its flags, as recvmsg(2)
// does; control data is copied as the kernel's put_cmsg copies it, with
// MSG_CTRUNC when it does not fit, and descriptors passed with SCM_RIGHTS
// that the reader does not take are closed, as the kernel closes them. A
// write waits for its own datagram's outcome, as net's WriteTo waits for
// sendto(2), so that its error (EMSGSIZE, EACCES, ENETUNREACH...) is its
// own. A socket error the loop's receive met (ECONNREFUSED from an ICMP
// message on a connected socket) is reported once, by the next read or
// write, whichever comes first, as the kernel reports it.
//
// # Bounds
//
// The queue holds at most RecvHighWater bytes (each datagram counted with
// a fixed overhead) and RecvMaxQueued datagrams: beyond either, Deliver
// tells the loop to stop receiving, and the kernel's socket buffer, and
// its drop accounting, take over until the reader drains the queue.
package dgram

import (
	"errors"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ringnet/ringnet/internal/sockaddr"
)

// Requests a Socket makes of its loop, as bits OR-ed into one word so that
// many requests between two loop iterations cost one queue entry.
const (
	ReqSend   uint32 = 1 << iota // sends wait for the loop (TakeSends)
	ReqResume                    // the reader drained the queue, or took the socket's error: receive again
	ReqCancel                    // a writer gave up on a send the loop holds (Send.Abandoned)
	ReqClose                     // Close: stop receiving, finish the sends, close the fd (CloseFD)
)

// Kicker is implemented by the loop side of a Socket.
type Kicker interface {
	// Kick queues the socket for its loop (once per batch of requests)
	// and wakes the loop.
	Kick(s *Socket)
	// SendDirect reports whether a write should first try one
	// non-blocking sendmsg(2) from the writer's goroutine instead of
	// handing the datagram to the loop.
	SendDirect() bool
}

// Queue bounds (see the package doc).
const (
	RecvHighWater = 256 << 10
	RecvLowWater  = 64 << 10
	RecvMaxQueued = 1024
	// overhead is what a queued datagram counts beyond its bytes, so
	// that empty ones are bounded too.
	overhead = 64
)

// ErrClosed is returned after Close; the root package maps it to
// net.ErrClosed.
var ErrClosed = errors.New("use of closed datagram socket")

// Options say what a socket carries.
type Options struct {
	// Unix marks an AF_UNIX socket: its control data may carry
	// descriptors (SCM_RIGHTS), which the loop receives close-on-exec
	// and which are closed when no reader takes them.
	Unix bool
}

// ControlSpace is how many bytes of control data the loop receives with
// each datagram: room for SCM_RIGHTS' 253 descriptors and credentials on a
// Unix socket, for every IP-level message ringnet knows of (TOS, TCLASS,
// PKTINFO, GRO, timestamps) on an IP one.
func (o Options) ControlSpace() int {
	if o.Unix {
		return 1280
	}
	return 256
}

// Socket is the shared state of one datagram socket. Use New.
type Socket struct {
	req    atomic.Uint32 // pending Req* bits; the loop swaps them to zero
	closed atomic.Bool
	kick   Kicker
	opts   Options

	rmu      sync.Mutex // serialises readers, as net's read lock does
	rdl, wdl atomic.Int64
	rwake    chan struct{}
	rwaiting atomic.Bool // a reader waits on rwake: a new deadline pokes it
	rtimer   *time.Timer // owned by the reader holding rmu

	mu      sync.Mutex // guards everything below
	q       queue
	qbytes  int   // bytes queued, with overhead per datagram
	rpaused bool  // the loop stopped receiving at the bounds
	soErr   error // a socket error the loop's receive met, for the next read or write
	rw      want  // a waiting reader's buffers, which Deliver fills
	sq      []*Send
	// wbcast is closed (and set to nil) when the write deadline changes
	// or the socket closes: the writers waiting then look again.
	wbcast   chan struct{}
	wwaiting int // writers waiting on a send

	fdmu     sync.RWMutex
	fd       int
	fdClosed bool
	fdDone   chan struct{} // closed once CloseFD has closed the fd
}

// want is a reader waiting for a datagram.
type want struct {
	active         bool
	p, oob         []byte
	from           *sockaddr.Addr
	n, oobn, flags int
	filled         bool
}

// New returns the Socket of datagram socket fd, driven by k.
func New(fd int, k Kicker, o Options) *Socket {
	return &Socket{fd: fd, kick: k, opts: o, rwake: make(chan struct{}, 1), fdDone: make(chan struct{})}
}

// Options returns what the socket was made with.
func (s *Socket) Options() Options { return s.opts }

// request records req bits and kicks the loop if none were pending.
func (s *Socket) request(req uint32) {
	if s.req.Or(req) == 0 {
		s.kick.Kick(s)
	}
}

// TakeRequests is called by the loop: it returns and clears the pending
// request bits.
func (s *Socket) TakeRequests() uint32 { return s.req.Swap(0) }

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func expired(dl *atomic.Int64) bool {
	d := dl.Load()
	return d != 0 && time.Now().UnixNano() >= d
}

// --- reading -----------------------------------------------------------

// ReadMsg copies the next datagram into p, its control data into oob and
// its source into from, blocking until one arrives, the read deadline
// passes or the socket is closed. n and oobn are the bytes copied; flags
// has MSG_TRUNC if the datagram did not fit p and MSG_CTRUNC if its
// control data did not fit oob. Errors are ErrClosed, os.ErrDeadlineExceeded or a syscall.Errno; n is
// then -1 where net's read would have made its recvmsg(2) (which returns
// -1) before failing, after waiting or with the socket's error, and 0
// where it fails first (closed, or past the deadline, at the start).
func (s *Socket) ReadMsg(p, oob []byte, from *sockaddr.Addr) (n, oobn, flags int, err error) {
	if s.closed.Load() {
		return 0, 0, 0, ErrClosed
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	failed := 0 // what n is on an error: -1 once the read has waited
	for {
		if s.closed.Load() {
			return failed, 0, 0, ErrClosed
		}
		if expired(&s.rdl) {
			return failed, 0, 0, os.ErrDeadlineExceeded
		}
		s.mu.Lock()
		if err := s.takeErrLocked(); err != nil {
			s.mu.Unlock()
			s.request(ReqResume)
			return -1, 0, 0, err
		}
		if d := s.q.front(); d != nil {
			bufs := [1][]byte{p}
			n, oobn, flags = d.copyTo(bufs[:], oob, s.opts)
			*from = d.from
			resume := s.popLocked()
			s.mu.Unlock()
			if resume {
				s.request(ReqResume)
			}
			return n, oobn, flags, nil
		}
		s.rw = want{active: true, p: p, oob: oob, from: from}
		s.mu.Unlock()
		// Set before wait loads the deadline, cleared after: a
		// SetReadDeadline that swaps it in between sees it and pokes.
		s.rwaiting.Store(true)
		wait(s.rwake, &s.rdl, &s.rtimer)
		s.rwaiting.Store(false)
		s.mu.Lock()
		w := s.rw
		s.rw = want{}
		s.mu.Unlock()
		if w.filled {
			return w.n, w.oobn, w.flags, nil
		}
		failed = -1
	}
}

// Datagram is a queued datagram, lent to ReadBatch's callback.
type Datagram struct {
	buf   []byte // payload, then control data
	n     int    // payload bytes
	oobn  int    // control bytes
	flags int    // the loop's receive's msg_flags
	size  int    // what it counts against the bounds
	from  sockaddr.Addr
}

// From returns the datagram's source.
func (d *Datagram) From() *sockaddr.Addr { return &d.from }

// CopyTo copies the datagram's payload into bufs, one after another, and
// its control data into oob, as ReadMsg does, and returns the bytes
// copied and the flags.
func (d *Datagram) CopyTo(bufs [][]byte, oob []byte, o Options) (n, oobn, flags int) {
	return d.copyTo(bufs, oob, o)
}

func (d *Datagram) copyTo(bufs [][]byte, oob []byte, o Options) (n, oobn, flags int) {
	return copyOut(bufs, oob, d.buf[:d.n], d.buf[d.n:d.n+d.oobn], d.flags, o)
}

// copyOut copies a datagram's payload into bufs and its control data ctl
// into oob, as recvmsg(2) would have, and returns the bytes copied and the
// flags: the receive's own (rflags) and those the copy adds.
func copyOut(bufs [][]byte, oob, payload, ctl []byte, rflags int, o Options) (n, oobn, flags int) {
	for _, b := range bufs {
		k := copy(b, payload)
		n += k
		payload = payload[k:]
	}
	flags = rflags
	if len(payload) > 0 {
		flags |= msgTrunc
	}
	oobn, ctrunc := copyControl(oob, ctl, o)
	if ctrunc {
		flags |= msgCtrunc
	}
	return n, oobn, flags
}

// ReadBatch waits for a datagram as ReadMsg does (unless nonblock: then it
// returns EAGAIN at once), then hands it and those queued behind it, up
// to max, to take, which copies them out (under the socket's lock: take
// must not call the Socket), and returns how many it handed over. It is
// for UDP sockets, which have no ShutRead.
func (s *Socket) ReadBatch(max int, nonblock bool, take func(i int, d *Datagram)) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	failed := 0 // the count on an error, as ReadMsg's n
	for {
		if s.closed.Load() {
			return failed, ErrClosed
		}
		if expired(&s.rdl) {
			return failed, os.ErrDeadlineExceeded
		}
		s.mu.Lock()
		if err := s.takeErrLocked(); err != nil {
			s.mu.Unlock()
			s.request(ReqResume)
			return -1, err
		}
		if s.q.len() > 0 {
			i, resume := 0, false
			for ; i < max && s.q.len() > 0; i++ {
				take(i, s.q.front())
				resume = s.popLocked() || resume
			}
			s.mu.Unlock()
			if resume {
				s.request(ReqResume)
			}
			return i, nil
		}
		if nonblock {
			s.mu.Unlock()
			return -1, syscall.EAGAIN
		}
		// Deliver queues for a batch reader, and pokes it.
		s.rw = want{active: true}
		s.mu.Unlock()
		s.rwaiting.Store(true)
		wait(s.rwake, &s.rdl, &s.rtimer)
		s.rwaiting.Store(false)
		s.mu.Lock()
		s.rw = want{}
		s.mu.Unlock()
		failed = -1
	}
}

// takeErrLocked returns and clears the socket error the loop met, if any.
// The caller then asks the loop to resume (ReqResume): a loop whose
// receive met errors twice in a row stops receiving until the user has
// taken the error, so that one that persists cannot make it spin.
func (s *Socket) takeErrLocked() error {
	err := s.soErr
	s.soErr = nil
	return err
}

// popLocked drops the queue's first datagram and reports whether the loop,
// paused, should now receive again.
func (s *Socket) popLocked() (resume bool) {
	d := s.q.pop()
	s.qbytes -= d.size
	putBuf(d.buf)
	if s.rpaused && s.qbytes < RecvLowWater && s.q.len() < RecvMaxQueued/4 {
		s.rpaused = false
		return true
	}
	return false
}

// wait blocks until ch is poked or the deadline dl passes (at once if it
// has).
func wait(ch chan struct{}, dl *atomic.Int64, timer **time.Timer) {
	d := dl.Load()
	if d == 0 {
		<-ch
		return
	}
	dur := time.Duration(d - time.Now().UnixNano())
	if dur <= 0 {
		return
	}
	t := *timer
	if t == nil {
		t = time.NewTimer(dur)
		*timer = t
	} else {
		t.Reset(dur)
	}
	select {
	case <-ch:
	case <-t.C:
	}
	t.Stop()
}

// --- writing -----------------------------------------------------------

// Send is one datagram a writer handed to the loop. The loop reads Buf,
// OOB and To, and must leave them alone after Complete.
type Send struct {
	Buf, OOB  []byte
	to        sockaddr.Addr
	hasTo     bool
	n         int
	err       error
	state     int8 // under the socket's mu
	abandoned atomic.Bool
	done      chan struct{} // one token: the loop completed it
}

const (
	sendQueued int8 = iota // in the socket's queue, for TakeSends
	sendTaken              // the loop holds it
	sendDone               // completed
)

// To returns the destination, or nil for a connected socket's peer.
func (r *Send) To() *sockaddr.Addr {
	if r.hasTo {
		return &r.to
	}
	return nil
}

// Abandoned reports whether the writer gave up on the send (its deadline
// passed, or the socket closed): the loop should cancel it if it can, and
// complete it either way.
func (r *Send) Abandoned() bool { return r.abandoned.Load() }

var sendPool = sync.Pool{New: func() any { return &Send{done: make(chan struct{}, 1)} }}

// WriteMsg sends p with control data oob to to (nil: the connected peer)
// and returns the payload and control bytes sent, once the datagram is
// sent or failed: directly, with one non-blocking sendmsg(2), when the
// Kicker says so and the socket has room, else through the loop. Errors
// are ErrClosed, os.ErrDeadlineExceeded or a syscall.Errno.
func (s *Socket) WriteMsg(p, oob []byte, to *sockaddr.Addr) (n, oobn int, err error) {
	if s.closed.Load() {
		return 0, 0, ErrClosed
	}
	if expired(&s.wdl) {
		return 0, 0, os.ErrDeadlineExceeded
	}
	s.mu.Lock()
	err = s.takeErrLocked()
	s.mu.Unlock()
	if err != nil {
		s.request(ReqResume)
		return 0, 0, err
	}
	if s.kick.SendDirect() {
		err := s.WithFD(func(fd int) error {
			var err error
			n, err = sendDirect(fd, p, oob, to)
			return err
		})
		if err != syscall.EAGAIN {
			if err != nil {
				return 0, 0, err
			}
			return n, len(oob), nil
		}
		// The socket is full: the loop waits for room.
	}
	r := sendPool.Get().(*Send)
	r.Buf, r.OOB, r.hasTo = p, oob, to != nil
	if to != nil {
		r.to = *to
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		putSend(r)
		return 0, 0, ErrClosed
	}
	r.state = sendQueued
	s.sq = append(s.sq, r)
	s.wwaiting++
	bc := s.bcastLocked()
	s.mu.Unlock()
	s.request(ReqSend)
	return s.awaitSend(r, bc)
}

func putSend(r *Send) {
	r.Buf, r.OOB, r.to, r.hasTo, r.n, r.err = nil, nil, sockaddr.Addr{}, false, 0, nil
	r.abandoned.Store(false)
	sendPool.Put(r)
}

// bcastLocked returns the channel that tells waiting writers to look at
// the deadline and closed flag again.
func (s *Socket) bcastLocked() chan struct{} {
	if s.wbcast == nil {
		s.wbcast = make(chan struct{})
	}
	return s.wbcast
}

// broadcastLocked wakes every waiting writer.
func (s *Socket) broadcastLocked() {
	if s.wbcast != nil {
		close(s.wbcast)
		s.wbcast = nil
	}
}

// awaitSend waits for r's completion, the write deadline or Close.
func (s *Socket) awaitSend(r *Send, bc chan struct{}) (n, oobn int, err error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var tc <-chan time.Time
		if d := s.wdl.Load(); d != 0 {
			dur := time.Duration(d - time.Now().UnixNano())
			if dur <= 0 {
				return s.abandon(r, os.ErrDeadlineExceeded)
			}
			if timer == nil {
				timer = time.NewTimer(dur)
			} else {
				timer.Reset(dur)
			}
			tc = timer.C
		}
		select {
		case <-r.done:
			return s.finish(r)
		case <-bc:
			s.mu.Lock()
			bc = s.bcastLocked()
			s.mu.Unlock()
		case <-tc:
		}
		switch {
		case s.closed.Load():
			return s.abandon(r, ErrClosed)
		case expired(&s.wdl):
			return s.abandon(r, os.ErrDeadlineExceeded)
		}
	}
}

// finish returns a completed send's outcome and recycles it.
func (s *Socket) finish(r *Send) (n, oobn int, err error) {
	s.mu.Lock()
	s.wwaiting--
	s.mu.Unlock()
	n, err = r.n, r.err
	if err == nil {
		oobn = len(r.OOB)
	}
	putSend(r)
	return n, oobn, err
}

// abandon gives up on r with err: at once if the loop has not taken it,
// else once the loop has cancelled or completed it. A send that went out
// before the cancel reached it keeps its own outcome.
func (s *Socket) abandon(r *Send, err error) (int, int, error) {
	s.mu.Lock()
	if r.state == sendQueued {
		for i, q := range s.sq {
			if q == r {
				last := len(s.sq) - 1
				copy(s.sq[i:], s.sq[i+1:])
				s.sq[last] = nil
				s.sq = s.sq[:last]
				break
			}
		}
		s.wwaiting--
		s.mu.Unlock()
		putSend(r)
		return 0, 0, err
	}
	r.abandoned.Store(true)
	s.mu.Unlock()
	s.request(ReqCancel)
	<-r.done
	if r.err == syscall.ECANCELED || r.err == ErrClosed {
		s.mu.Lock()
		s.wwaiting--
		s.mu.Unlock()
		putSend(r)
		return 0, 0, err
	}
	return s.finish(r)
}

// TakeSends is called by the loop: it appends the sends waiting for it to
// dst, which the loop then holds until it completes each (Complete).
func (s *Socket) TakeSends(dst []*Send) []*Send {
	s.mu.Lock()
	for _, r := range s.sq {
		r.state = sendTaken
		dst = append(dst, r)
	}
	clear(s.sq)
	s.sq = s.sq[:0]
	s.mu.Unlock()
	return dst
}

// Complete is called by the loop with a send's outcome: n payload bytes
// sent, or err (a syscall.Errno; ECANCELED when a cancel the writer asked
// for stopped it; ErrClosed when the socket closed first). The loop must
// not touch r afterwards.
func (s *Socket) Complete(r *Send, n int, err error) {
	s.mu.Lock()
	r.state = sendDone
	r.n, r.err = n, err
	s.mu.Unlock()
	r.done <- struct{}{}
}

// --- loop side: receiving ------------------------------------------------

// Deliver hands the socket a datagram the loop received: payload (what
// the receive got of it), oob its control data, flags the receive's
// msg_flags (MSG_TRUNC if payload is not all of it), from its source. It
// copies them into the buffers of a reader that waits, or else into the
// queue, and reports whether the loop should stop receiving because the
// queue passed its bounds; the socket then counts as paused until a
// reader drains it (ReqResume).
func (s *Socket) Deliver(payload, oob []byte, flags int, from *sockaddr.Addr) (pause bool) {
	s.mu.Lock()
	w := &s.rw
	if w.active && w.from != nil && s.q.len() == 0 && s.soErr == nil {
		// A reader waits with its buffers: fill them.
		bufs := [1][]byte{w.p}
		w.n, w.oobn, w.flags = copyOut(bufs[:], w.oob, payload, oob, flags, s.opts)
		*w.from = *from
		w.filled, w.active = true, false
		s.mu.Unlock()
		poke(s.rwake)
		return false
	}
	buf := append(getBuf(len(payload)+len(oob)), payload...)
	buf = append(buf, oob...)
	d := Datagram{buf: buf, n: len(payload), oobn: len(oob), flags: flags, from: *from, size: len(buf) + overhead}
	s.q.push(d)
	s.qbytes += d.size
	if !s.rpaused && (s.qbytes >= RecvHighWater || s.q.len() >= RecvMaxQueued) {
		s.rpaused = true
		pause = true
	}
	waiting := w.active
	s.mu.Unlock()
	if waiting {
		poke(s.rwake)
	}
	return pause
}

// DeliverErr records a socket error the loop's receive met (a
// syscall.Errno): the next read or write reports it, once.
func (s *Socket) DeliverErr(err error) {
	s.mu.Lock()
	s.soErr = err
	s.mu.Unlock()
	poke(s.rwake)
}

// RecvWanted reports whether the loop should receive for s: it is open
// and not paused at the bounds.
func (s *Socket) RecvWanted() bool {
	if s.closed.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.rpaused
}

// Queued reports the datagrams and counted bytes in the queue, for tests
// and statistics.
func (s *Socket) Queued() (datagrams, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.len(), s.qbytes
}

// --- deadlines and close -------------------------------------------------

// SetReadDeadline sets the read deadline; a blocked read re-evaluates it
// at once.
func (s *Socket) SetReadDeadline(t time.Time) {
	d := unixNano(t)
	if old := s.rdl.Swap(d); d != 0 && d != old && s.rwaiting.Load() {
		poke(s.rwake)
	}
}

// SetWriteDeadline sets the write deadline; a blocked write re-evaluates
// it at once.
func (s *Socket) SetWriteDeadline(t time.Time) {
	d := unixNano(t)
	if old := s.wdl.Swap(d); d != 0 && d != old {
		s.mu.Lock()
		if s.wwaiting > 0 {
			s.broadcastLocked()
		}
		s.mu.Unlock()
	}
}

// ReadDeadline returns the read deadline (zero if none).
func (s *Socket) ReadDeadline() time.Time { return deadlineTime(s.rdl.Load()) }

// WriteDeadline returns the write deadline (zero if none).
func (s *Socket) WriteDeadline() time.Time { return deadlineTime(s.wdl.Load()) }

func deadlineTime(d int64) time.Time {
	if d != 0 {
		return time.Unix(0, d)
	}
	return time.Time{}
}

// unixNano is a deadline as the socket stores it: 0 for none, else Unix
// nanoseconds, clamped as package stream clamps them (one before 1970 has
// passed, one after 2262 never comes).
func unixNano(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case !t.After(time.Unix(0, 0)):
		return -1
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Closed reports whether Close has been called.
func (s *Socket) Closed() bool { return s.closed.Load() }

// Close marks the socket closed, unblocks its reader and writers, asks the
// loop to stop and close the socket, and returns once the fd is closed, so
// that its address is free again, as with net. A second Close returns
// ErrClosed.
func (s *Socket) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	poke(s.rwake)
	s.mu.Lock()
	s.broadcastLocked()
	s.mu.Unlock()
	s.request(ReqClose)
	<-s.fdDone
	return nil
}

// WithFD runs f with the socket fd, unless the socket is closed.
func (s *Socket) WithFD(f func(fd int) error) error {
	s.fdmu.RLock()
	defer s.fdmu.RUnlock()
	if s.fdClosed || s.closed.Load() {
		return ErrClosed
	}
	return f(s.fd)
}

// FD returns the socket fd for the loop's own use.
func (s *Socket) FD() int { return s.fd }

// CloseFD is the loop's last act on the socket, once no operation of its
// own refers to the fd: it completes the sends it never took with
// ErrClosed, drops the queued datagrams (closing the descriptors they
// carry) and closes the fd, then lets Close return. A user callback that
// holds the fd (a raw Control) makes the close wait for it on a goroutine
// of its own, as net's Close waits, without holding up the loop.
func (s *Socket) CloseFD() {
	s.mu.Lock()
	queued := s.sq
	s.sq = nil
	for s.q.len() > 0 {
		d := s.q.front()
		discardControl(d.buf[d.n:d.n+d.oobn], s.opts)
		s.popLocked()
	}
	s.qbytes = 0
	s.mu.Unlock()
	for _, r := range queued {
		s.Complete(r, 0, ErrClosed)
	}
	if !s.fdmu.TryLock() {
		go func() {
			s.fdmu.Lock()
			s.closeFDLocked()
		}()
		return
	}
	s.closeFDLocked()
}

func (s *Socket) closeFDLocked() {
	s.fdClosed = true
	fd := s.fd
	s.fdmu.Unlock()
	closeFD(fd)
	close(s.fdDone)
}
