// Package stream holds the state of one connected byte stream that is shared
// between the goroutines of its user (Read, Write, deadlines, Close) and the
// event loop that moves its bytes (loop/ for io_uring, fallback/ for
// readiness polling).
//
// It owns the receive queue, the send queue, the deadlines and the blocking
// of user goroutines, and the I/O a user goroutine does itself: a Write
// that finds nothing queued sends with send(2) when its loop's Kicker
// allows it (Kicker.SendDirect: on io_uring while the loop sleeps, on poll
// always), SendFrom moves a file or
// a socket's bytes with sendfile(2) or splice(2), and the reader of a
// loop's only connection receives with read(2) (solo.go). It never touches
// a ring: the loop that drives a Stream is told what to do through the
// Kicker it registered, and reports back through the Deliver*/Send*
// methods. The file descriptor is held here so that that I/O, user-side
// socket options and the loop's final close cannot race (see WithFD and
// CloseFD).
//
// Half-close, as net does it. CloseWrite returns at once: with bytes
// queued, the loop shuts the socket's sending side down after the last
// of them (ReqCloseWrite), so the FIN still follows every byte written
// before it. After CloseRead (ShutRead) no loop receives for the stream:
// it hands receiving to the reader for good (StartSolo), whose Read takes
// the queued bytes, then calls recv(2) itself, which after
// shutdown(SHUT_RD) never waits (readShut): the bytes a TCP peer sends
// later are read as with net, and nothing re-arms a receive that would
// complete at once.
package stream

import (
	"errors"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Requests a Stream makes of its loop, as bits OR-ed into one word so that
// many requests between two loop iterations cost one queue entry.
const (
	ReqFlush      uint32 = 1 << iota // queued send data waits
	ReqResume                        // reader drained below the low-water mark; receive again
	ReqCloseWrite                    // half-close after queued data is sent
	ReqClose                         // user closed: flush, stop receiving, close the fd
	ReqAbort                         // close now: give up on unsent data
)

// Kicker is implemented by the loop side of a Stream: Kick must queue the
// stream for its loop (once per batch of requests) and wake the loop.
type Kicker interface {
	Kick(s *Stream)
	// SendDirect reports whether a Write that finds nothing queued should
	// send from the writer's goroutine with one non-blocking send(2)
	// instead of handing the bytes to the loop: true when waking the loop
	// would cost a system call anyway (it sleeps), false when the loop is
	// busy and will batch the send with others for free.
	SendDirect() bool
}

// Limits on buffered bytes. They bound the memory of a connection whose
// peer or user does not keep up.
const (
	RecvHighWater = 256 << 10 // receiving pauses above this many unread bytes
	RecvLowWater  = 64 << 10  // and resumes below this many
	SendHighWater = 256 << 10 // Write blocks while this many bytes are unsent

	// LingerTimeout bounds how long Close keeps trying to send data
	// that was written before it.
	LingerTimeout = 5 * time.Second
)

// ErrClosed is returned after Close; the root package maps it to net.ErrClosed.
var ErrClosed = errors.New("use of closed stream")

// ErrWriteShut is returned by Write and LockSend after CloseWrite, and by
// WaitSend once CloseWrite is called, as net's writes then fail.
var ErrWriteShut = syscall.EPIPE

// Stream is the shared state of one connection. The zero value is not
// usable: use New.
type Stream struct {
	req    atomic.Uint32 // pending Req* bits; the loop swaps them to zero
	closed atomic.Bool
	kick   Kicker

	rmu sync.Mutex // serialises readers: one waits at a time
	wmu sync.Mutex // serialises writers: a Write's bytes stay contiguous

	rdl, wdl     atomic.Int64 // deadlines, UnixNano; 0 means none
	rwake, wwake chan struct{}
	rwaiting     atomic.Bool // a reader waits on rwake (or is about to): a new deadline pokes it
	rtimer       *time.Timer // owned by the reader holding rmu
	wtimer       *time.Timer // owned by the writer holding wmu

	solo     atomic.Int32            // who receives: soloOff (the loop), soloOn, soloBusy, soloRevoked (the reader; solo.go)
	rshut    atomic.Bool             // CloseRead shut the socket's receiving down: the reader receives (ShutRead)
	noSolo   atomic.Bool             // solo receiving failed here once: the loop keeps receiving
	bulk     atomic.Bool             // the reader cannot keep up: the loop receives, though solo (solo.go)
	fullRuns int                     // solo reads in a row that filled the reader's buffer (reader only)
	bulkEnd  int                     // deliveries in a row smaller than a waiting reader's buffer (under mu)
	soloFile atomic.Pointer[os.File] // the solo reader's dup of the socket, parked on in the netpoller
	counters SoloCounters            // the loop's statistics, for solo receiving

	mu      sync.Mutex // guards everything below
	rbuf    []byte     // received, unread bytes are rbuf[roff:]
	roff    int
	rerr    error  // io.EOF or a syscall.Errno, reported once rbuf is drained
	rpaused bool   // the loop stopped receiving at the high-water mark
	rwant   []byte // a waiting reader's buffer, which Deliver fills instead of rbuf
	rgot    int    // bytes Deliver put into rwant; the reader returns them first

	wpend   []byte // bytes written but not yet handed to the loop
	wfly    []byte // bytes the loop is sending; wfly[woff:] are unsent
	woff    int
	sending bool        // the loop owns wfly
	wwait   bool        // a Write or LockSend waits for sends to complete (SendDone wakes it)
	werr    error       // first send error, reported by every later Write
	wshut   bool        // CloseWrite was called
	linger  *time.Timer // aborts a Close that could not flush in time

	fdmu       sync.RWMutex
	fd         int
	fdClosed   bool
	lingerMode atomic.Int32 // what SetLinger chose: lingerBackground, lingerAbort or lingerBlocking
	rawAccess  atomic.Bool  // the user got at the socket (SyscallConn, File): SO_LINGER may have changed
	shared     atomic.Bool  // another descriptor of the socket exists (File's, FileConn's source)
}

// What Close does with unsent bytes, as net.TCPConn.SetLinger chooses it.
const (
	lingerBackground = iota // the default: they are sent after Close returns
	lingerAbort             // SO_LINGER 0: they are discarded and the connection reset
	lingerBlocking          // SO_LINGER > 0: close(2) blocks until they are sent, or the time is up
)

// NoteRawAccess records that the user can set, or may have set, socket
// options behind the stream's back (a raw connection, a duplicate, a
// Control hook, a socket made elsewhere), so that Close reads SO_LINGER
// from the socket instead of trusting SetLinger's record.
func (s *Stream) NoteRawAccess() { s.rawAccess.Store(true) }

// WriteShut reports whether CloseWrite was called.
func (s *Stream) WriteShut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wshut
}

// NoteShared records that the socket has a descriptor outside the stream
// (File's duplicate, the file FileConn was made from): closing the
// stream's then does not end the connection, so unread bytes must not make
// the close reset it, as the kernel resets only at the last close.
func (s *Stream) NoteShared() { s.shared.Store(true) }

// readLinger records the socket's SO_LINGER, whoever set it (Close, after
// NoteRawAccess).
func (s *Stream) readLinger() {
	s.fdmu.RLock()
	defer s.fdmu.RUnlock()
	if s.fdClosed {
		return
	}
	if sec, ok := lingerOf(s.fd); ok {
		s.SetLinger(sec)
	}
}

// SetLinger records what the caller set SO_LINGER to, sec as
// net.TCPConn.SetLinger takes it, for Close and CloseFD.
func (s *Stream) SetLinger(sec int) {
	switch {
	case sec < 0:
		s.lingerMode.Store(lingerBackground)
	case sec == 0:
		s.lingerMode.Store(lingerAbort)
	default:
		s.lingerMode.Store(lingerBlocking)
	}
}

// New returns the Stream of a connected socket fd, driven by k.
func New(fd int, k Kicker) *Stream {
	s := &Stream{
		fd:    fd,
		kick:  k,
		rwake: make(chan struct{}, 1),
		wwake: make(chan struct{}, 1),
	}
	return s
}

// wakeReader wakes a reader blocked in Read, on whichever it waits,
// whether or not it has announced its wait (rwaiting): Close uses it,
// since a reader that checked closed just before Close set it may not
// have announced its wait yet, and does not look at closed again before
// it blocks. SetReadDeadline pokes only an announced reader, because the
// wait itself reads the deadline after the announcement.
func (s *Stream) wakeReader() {
	poke(s.rwake)
	s.interruptSolo()
}

// request records req bits and kicks the loop if none were pending.
func (s *Stream) request(req uint32) {
	if s.req.Or(req) == 0 {
		s.kick.Kick(s)
	}
}

// TakeRequests is called by the loop: it returns and clears the pending
// request bits.
func (s *Stream) TakeRequests() uint32 { return s.req.Swap(0) }

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wait blocks until ch is poked or the deadline dl passes (at once if it
// has).
func wait(ch chan struct{}, dl *atomic.Int64, timer **time.Timer) {
	waitEither(nil, ch, dl, timer)
}

func expired(dl *atomic.Int64) bool {
	d := dl.Load()
	return d != 0 && time.Now().UnixNano() >= d
}

// Read copies received bytes into p, blocking until some arrive, the
// stream ends, the read deadline passes or the stream is closed. Errors are
// ErrClosed, os.ErrDeadlineExceeded, io.EOF or a syscall.Errno.
func (s *Stream) Read(p []byte) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for {
		if s.closed.Load() {
			return 0, ErrClosed
		}
		if len(p) == 0 {
			// As net's Read: an empty read returns at once, whatever
			// the deadline.
			return 0, nil
		}
		if expired(&s.rdl) {
			return 0, os.ErrDeadlineExceeded
		}
		s.mu.Lock()
		if n := copy(p, s.rbuf[s.roff:]); n > 0 {
			s.roff += n
			unread := len(s.rbuf) - s.roff
			if unread == 0 {
				putBuf(s.rbuf)
				s.rbuf, s.roff = nil, 0
			}
			resume := s.rpaused && unread < RecvLowWater
			if resume {
				s.rpaused = false
			}
			s.mu.Unlock()
			if resume {
				s.request(ReqResume)
			}
			raceAcquireIO()
			return n, nil
		}
		err := s.rerr
		if err != nil && err != io.EOF {
			// A socket error is reported once, then the stream reads
			// as ended: Linux clears the error it returns from recv(2),
			// and later receives see the end of the stream.
			s.rerr = io.EOF
		} else if err == io.EOF && s.rshut.Load() {
			// After CloseRead the end is the kernel's to tell: Linux
			// still queues what the peer sends, and net's Read returns
			// it (readShut).
			err = nil
		}
		// The reader of a loop's only connection receives itself
		// (solo.go): it claims the receive side here, in the same
		// critical section that found the queue empty, so no byte the
		// loop queued can be overtaken. One that waits for the loop
		// offers p to it: the next bytes it receives are copied straight
		// into p instead of into the queue (Deliver).
		solo := err == nil && s.solo.CompareAndSwap(soloOn, soloBusy)
		if err == nil && !solo {
			s.rwant = p
		}
		s.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if solo {
			var n int
			var err error
			if s.rshut.Load() {
				n, err = s.readShut(p)
			} else {
				n, err = s.readSolo(p)
			}
			if err != errLoopReceives {
				return n, err
			}
			continue // the loop receives again: re-check the queue
		}
		// Set before wait loads the deadline, cleared after: a
		// SetReadDeadline that swaps the deadline in between sees it
		// and pokes, one that came before is seen by wait itself.
		s.rwaiting.Store(true)
		wait(s.rwake, &s.rdl, &s.rtimer)
		s.rwaiting.Store(false)
		s.mu.Lock()
		n := s.rgot
		s.rwant, s.rgot = nil, 0
		s.mu.Unlock()
		if n > 0 {
			raceAcquireIO()
			return n, nil
		}
	}
}

// testHookWriteLock, when set, runs in Write just before it takes s.mu
// (tests).
var testHookWriteLock func()

// Write queues all of p for sending, blocking while more than SendHighWater
// bytes are unsent. It returns the number of bytes queued; if that is less
// than len(p) the error says why (ErrClosed, os.ErrDeadlineExceeded, a
// syscall.Errno from an earlier send).
func (s *Stream) Write(p []byte) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	raceReleaseIO()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	n := 0
	waited := false
	for {
		if s.closed.Load() {
			s.stopWaitingForSends(waited)
			return n, ErrClosed
		}
		if expired(&s.wdl) {
			s.stopWaitingForSends(waited)
			return n, os.ErrDeadlineExceeded
		}
		if testHookWriteLock != nil {
			testHookWriteLock()
		}
		s.mu.Lock()
		if s.closed.Load() {
			// Close ran since the check above. It looked for unsent
			// bytes under s.mu to bound their flush (the linger
			// timer); bytes queued after it would have no bound.
			s.mu.Unlock()
			s.stopWaitingForSends(waited)
			return n, ErrClosed
		}
		s.wwait = false // set again below if this Write waits once more
		if s.werr != nil || s.wshut {
			err := s.werr
			if err == nil {
				err = ErrWriteShut
			}
			s.mu.Unlock()
			return n, err
		}
		if len(p) == 0 && !s.sending && len(s.wpend) == 0 {
			// As net's Write, an empty Write still makes a system call,
			// so that a broken connection (reset by the peer) reports
			// it. With bytes queued or in flight, their send will.
			_, err := s.sendDirect(nil)
			s.mu.Unlock()
			return 0, err
		}
		if n == len(p) {
			s.mu.Unlock()
			return n, nil
		}
		if !s.sending && len(s.wpend) == 0 && s.kick.SendDirect() {
			k, err := s.sendDirect(p[n:])
			n += k
			if err != nil {
				s.mu.Unlock()
				return n, err
			}
			if n == len(p) {
				s.mu.Unlock()
				return n, nil
			}
		}
		room := SendHighWater - len(s.wpend) - (len(s.wfly) - s.woff)
		flush := false
		if room > 0 {
			take := min(room, len(p)-n)
			s.wpend = append(grow(s.wpend, take), p[n:n+take]...)
			n += take
			flush = !s.sending
		}
		if n < len(p) {
			s.wwait = true
		}
		s.mu.Unlock()
		if flush {
			s.request(ReqFlush)
		}
		if n == len(p) {
			return n, nil
		}
		waited = true
		wait(s.wwake, &s.wdl, &s.wtimer)
	}
}

// stopWaitingForSends is for a Write or LockSend that waited for sends to
// complete (wwait) and now gives up, closed or past its deadline: SendDone
// must not poke for it any more, nor a poke that came meanwhile cut the
// next waiter's wait short.
func (s *Stream) stopWaitingForSends(waited bool) {
	if !waited {
		return
	}
	s.mu.Lock()
	s.wwait = false
	s.mu.Unlock()
	select {
	case <-s.wwake:
	default:
	}
}

// sendDirect sends as much of b as the socket takes now, from the
// caller's goroutine. It is called with s.mu held and no send in flight;
// it claims the sending side for the duration of the system call so the
// loop cannot start a send that would reorder bytes.
func (s *Stream) sendDirect(b []byte) (int, error) {
	s.sending = true
	s.mu.Unlock()
	var n int
	err := s.WithFD(func(fd int) error {
		var err error
		n, err = sendNonblock(fd, b)
		return err
	})
	s.mu.Lock()
	s.sending = false
	if s.wshut {
		// A CloseWrite that came meanwhile found the send side busy: ask
		// the loop again now that it is idle.
		s.request(ReqCloseWrite)
	}
	if err != nil {
		if s.werr == nil {
			s.werr = err
		}
		err = s.werr
	}
	return n, err
}

// LockSend waits until no written byte is queued or in flight, then gives
// the sending side to the caller, who may write to the fd directly (for
// sendfile), until UnlockSend. Other Writes wait meanwhile. Errors are
// Write's, with one exception: after CloseWrite, a caller that passes
// drainShut still waits for the bytes queued before it, then gets
// ErrWriteShut without the sending side. That caller is about to touch
// the socket itself (a raw Write, File) and must shut it down first, so
// that what it writes meets a shut socket as under net instead of
// overtaking those bytes.
func (s *Stream) LockSend(drainShut bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.wmu.Lock()
	waited := false
	for {
		if s.closed.Load() {
			s.stopWaitingForSends(waited)
			s.wmu.Unlock()
			return ErrClosed
		}
		if expired(&s.wdl) {
			s.stopWaitingForSends(waited)
			s.wmu.Unlock()
			return os.ErrDeadlineExceeded
		}
		s.mu.Lock()
		s.wwait = false // set again below if LockSend waits once more
		if s.werr != nil || (s.wshut && !drainShut) {
			err := s.werr
			if err == nil {
				err = ErrWriteShut
			}
			s.mu.Unlock()
			s.wmu.Unlock()
			return err
		}
		if !s.sending && len(s.wpend) == 0 {
			if s.wshut {
				s.mu.Unlock()
				s.wmu.Unlock()
				return ErrWriteShut
			}
			s.sending = true
			s.mu.Unlock()
			return nil
		}
		s.wwait = true
		s.mu.Unlock()
		waited = true
		wait(s.wwake, &s.wdl, &s.wtimer)
	}
}

// UnlockSend gives the sending side back after LockSend; a non-nil err
// (a syscall.Errno from the caller's direct writes) fails later Writes.
func (s *Stream) UnlockSend(err error) {
	s.mu.Lock()
	s.sending = false
	if err != nil && s.werr == nil {
		s.werr = err
	}
	if s.wshut {
		s.request(ReqCloseWrite) // a CloseWrite found the send side busy
	}
	s.mu.Unlock()
	s.wmu.Unlock()
}

// Kicker returns the loop side the stream was made with, for the
// operations a backend offers beyond the Kicker interface.
func (s *Stream) Kicker() Kicker { return s.kick }

// WaitSend waits, between LockSend and UnlockSend, until done is closed,
// the write deadline passes (SetWriteDeadline applies at once), CloseWrite
// is called or the stream is closed. It returns nil,
// os.ErrDeadlineExceeded, ErrWriteShut or ErrClosed: as net's sendfile
// waiting for room fails with EPIPE once CloseWrite has shut the socket
// down.
func (s *Stream) WaitSend(done <-chan struct{}) error {
	for {
		select {
		case <-done:
			return nil
		default:
		}
		if s.closed.Load() {
			return ErrClosed
		}
		if expired(&s.wdl) {
			return os.ErrDeadlineExceeded
		}
		if s.WriteShut() {
			return ErrWriteShut
		}
		waitEither(done, s.wwake, &s.wdl, &s.wtimer)
	}
}

// waitEither blocks until done is closed, ch is poked or the deadline dl
// passes (at once if it has). A nil done never closes.
func waitEither(done <-chan struct{}, ch chan struct{}, dl *atomic.Int64, timer **time.Timer) {
	d := dl.Load()
	if d == 0 {
		if done == nil {
			<-ch // the common case, a Read or Write with no deadline: no select
			return
		}
		select {
		case <-done:
		case <-ch:
		}
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
	case <-done:
	case <-ch:
	case <-t.C:
	}
	t.Stop()
}

// WriteDeadline returns the write deadline (zero if none), for callers
// that wait for the socket themselves between LockSend and UnlockSend.
func (s *Stream) WriteDeadline() time.Time { return deadlineTime(s.wdl.Load()) }

// ReadDeadline returns the read deadline (zero if none), for callers that
// wait for the socket themselves.
func (s *Stream) ReadDeadline() time.Time { return deadlineTime(s.rdl.Load()) }

func deadlineTime(d int64) time.Time {
	if d != 0 {
		return time.Unix(0, d)
	}
	return time.Time{}
}

// SetReadDeadline sets the read deadline; a blocked Read re-evaluates it at once.
//
// Only a new deadline wakes a blocked reader: one that waits with a timer
// for an older deadline re-checks when that timer fires, so clearing or
// re-setting a deadline (net/http does both several times per request)
// costs no wake-up and leaves no stale token in the reader's channel. Nor
// does a new deadline while no reader waits (net/http sets a past one to
// end its background read, often before that read has begun): the next
// Read checks the deadline before it waits.
func (s *Stream) SetReadDeadline(t time.Time) {
	d := unixNano(t)
	if old := s.rdl.Swap(d); d != 0 && d != old {
		if s.rwaiting.Load() {
			poke(s.rwake)
		}
		s.interruptSolo()
	}
}

// SetWriteDeadline sets the write deadline; a blocked Write re-evaluates it
// at once. As with SetReadDeadline, only a new deadline wakes it. (Every
// waiter on wwake holds wmu: Write, LockSend, and WaitSend between LockSend
// and UnlockSend; so one token reaches whichever waits.)
func (s *Stream) SetWriteDeadline(t time.Time) {
	d := unixNano(t)
	if old := s.wdl.Swap(d); d != 0 && d != old {
		poke(s.wwake)
	}
}

// unixNano is a deadline as the stream stores it: 0 for none, else Unix
// nanoseconds. Times outside what int64 nanoseconds hold are clamped, not
// wrapped (UnixNano's result is undefined there): one after 2262 is as
// good as never, one before 1970 has passed (-1), as net treats them.
func unixNano(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case !t.After(unixEpoch):
		return -1 // a real (ancient) deadline, not "none"
	case t.After(latestDeadline):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	unixEpoch      = time.Unix(0, 0)
	latestDeadline = time.Unix(0, math.MaxInt64)
)

// Closed reports whether Close has been called.
func (s *Stream) Closed() bool { return s.closed.Load() }

// Close marks the stream closed, unblocks its readers and writers and asks
// the loop to flush what was written and close the socket; after
// SetLinger(0), to discard it and close at once (the kernel then resets
// the connection). A second Close returns ErrClosed.
func (s *Stream) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	if s.rawAccess.Load() {
		s.readLinger()
	}
	s.wakeReader()
	poke(s.wwake)
	s.mu.Lock()
	if s.lingerMode.Load() == lingerAbort {
		s.mu.Unlock()
		s.request(ReqAbort | ReqClose)
		return nil
	}
	if len(s.wpend) > 0 || s.sending {
		s.linger = time.AfterFunc(LingerTimeout, func() { s.request(ReqAbort) })
	}
	s.mu.Unlock()
	s.request(ReqClose)
	return nil
}

// CloseWrite makes later Writes fail and returns at once, as net's does
// once shutdown(2) is done: the bytes written before it are net's to send
// then, and the FIN follows them. With nothing queued or in flight, now
// reports that the caller should shut the socket's sending side down
// itself, so that shutdown's error (ENOTCONN after a reset, say) is
// CloseWrite's, as with net. Otherwise the loop shuts it down after the
// last queued byte (ReqCloseWrite) and now is false; a send that fails
// meanwhile fails the Writes after it as any send failure does. The one
// exception is a connection already broken (peerGone): no queued byte
// can reach the peer, and net's CloseWrite would fail, so now is true.
func (s *Stream) CloseWrite() (now bool, err error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	s.mu.Lock()
	s.wshut = true
	idle := s.sendIdleLocked()
	s.mu.Unlock()
	poke(s.wwake) // a Write waiting for room, or a SendFile for the socket, sees wshut and returns
	if idle || s.peerGone() {
		return true, nil
	}
	s.request(ReqCloseWrite)
	return false, nil
}

// WithFD runs f with the socket fd, unless the stream is closed.
func (s *Stream) WithFD(f func(fd int) error) error {
	s.fdmu.RLock()
	defer s.fdmu.RUnlock()
	if s.fdClosed || s.closed.Load() {
		return ErrClosed
	}
	return f(s.fd)
}

// FD returns the socket fd for the loop's own use.
func (s *Stream) FD() int { return s.fd }

// releaseFDLocked is CloseFD's first step, before the fd is closed, with
// the fd write lock held (it unlocks it): after it returns, WithFD no
// longer hands the fd out. reset reports that received bytes were never
// read: as with net, the connection should then end with a reset
// (SO_LINGER 0) rather than a FIN, so the peer learns its data was dropped.
func (s *Stream) releaseFDLocked() (fd int, reset bool) {
	s.fdClosed = true
	s.closeSoloFile()
	s.fdmu.Unlock()
	s.mu.Lock()
	reset = len(s.rbuf) > s.roff
	if s.linger != nil {
		s.linger.Stop()
	}
	s.mu.Unlock()
	return s.fd, reset
}

// --- loop side -------------------------------------------------------------

// Deliver appends received bytes, or copies them straight into the buffer
// of a reader that waits for them (one copy instead of two). It reports
// whether the loop should stop receiving because the unread bytes passed
// the high-water mark; the stream then counts as paused until a reader
// drains it (ReqResume).
func (s *Stream) Deliver(b []byte) (pause bool) {
	s.mu.Lock()
	// A reader about to wait has set rwant under s.mu: only then is there
	// anyone to wake. Poking an empty channel with nobody waiting would
	// leave a token that wakes the reader's next wait for nothing.
	waiting := s.rwant != nil
	if waiting && s.roff == len(s.rbuf) {
		s.noteDeliveryLocked(len(b), len(s.rwant))
		// A reader waits with its buffer: fill it, queue the rest.
		s.rgot = copy(s.rwant, b)
		s.rwant = nil
		if b = b[s.rgot:]; len(b) == 0 {
			s.mu.Unlock()
			poke(s.rwake)
			return false
		}
	}
	if s.roff > 0 && cap(s.rbuf)-len(s.rbuf) < len(b) {
		// Reuse the space already read rather than grow: a reader that
		// keeps up but never drains the queue to empty would otherwise
		// keep every byte ever received.
		n := copy(s.rbuf, s.rbuf[s.roff:])
		s.rbuf, s.roff = s.rbuf[:n], 0
	}
	s.rbuf = append(grow(s.rbuf, len(b)), b...)
	if len(s.rbuf)-s.roff >= RecvHighWater && !s.rpaused {
		s.rpaused = true
		pause = true
	}
	s.mu.Unlock()
	if waiting {
		poke(s.rwake)
	}
	return pause
}

// RecvPaused reports whether receiving is paused at the high-water mark
// (for tests).
func (s *Stream) RecvPaused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rpaused
}

// DeliverEnd records the end of the received stream: io.EOF or a
// syscall.Errno. Bytes received before it are still read first.
func (s *Stream) DeliverEnd(err error) {
	s.mu.Lock()
	if s.rerr == nil {
		s.rerr = err
	}
	s.mu.Unlock()
	poke(s.rwake)
}

// RecvWanted reports whether someone should receive for s: the received
// stream has not ended (EOF or an error) and is not paused at the
// high-water mark, or CloseRead was called, after which the loop hands
// receiving to the reader (StartSolo) instead of receiving. One lock for
// both, on the loop's re-arm path.
func (s *Stream) RecvWanted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rerr == nil && !s.rpaused || s.rshut.Load()
}

// ShutRead records that the socket's receiving side was shut down
// (CloseRead). From then on no loop receives for s: once its loop has no
// receive in flight, it hands receiving to the reader for good
// (StartSolo), whose Read takes the queued bytes first, then calls recv(2)
// itself (readShut). A receive after shutdown(SHUT_RD) returns at once,
// with the bytes the peer sent since (Linux keeps queueing them, and
// net's Read returns them), 0 for the end or the socket's error: a loop
// that kept receiving would find the socket ready again and again.
func (s *Stream) ShutRead() {
	s.rshut.Store(true)
	s.request(ReqResume) // a loop with no receive in flight hands over now
}

// NextSend returns the bytes the loop should send now, or nil if there are
// none or a send is already in flight. The returned slice stays valid and
// unmoved until SendDone or SendFailed.
func (s *Stream) NextSend() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sending {
		return nil
	}
	return s.swapLocked()
}

func (s *Stream) swapLocked() []byte {
	if len(s.wpend) == 0 || s.werr != nil {
		return nil
	}
	s.wfly, s.wpend = s.wpend, s.wfly[:0]
	if cap(s.wpend) == 0 {
		s.wpend = nil
	}
	s.woff = 0
	s.sending = true
	return s.wfly
}

// SendDone records that n bytes of the in-flight send went out and returns
// what to send next (the rest, or newly queued bytes), or nil when the
// queue is empty.
func (s *Stream) SendDone(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.woff += n
	if s.wwait {
		// Only a writer that found no room, or LockSend, waits for
		// sends to complete; poking with nobody waiting would touch the
		// channel for nothing and cut a later wait short.
		s.wwait = false
		poke(s.wwake)
	}
	if s.woff < len(s.wfly) {
		return s.wfly[s.woff:]
	}
	s.sending = false
	fly := s.wfly
	s.wfly, s.woff = nil, 0
	putBuf(fly)
	if next := s.swapLocked(); next != nil {
		return next
	}
	if s.wpend != nil && len(s.wpend) == 0 {
		putBuf(s.wpend)
		s.wpend = nil
	}
	return nil
}

// SendFailed records a send error (a syscall.Errno, or ErrClosed when the
// loop gave up on unsent bytes); queued bytes are dropped and every later
// Write reports the error.
func (s *Stream) SendFailed(err error) {
	s.mu.Lock()
	if s.werr == nil {
		s.werr = err
	}
	s.sending = false
	s.wpend, s.wfly, s.woff = nil, nil, 0
	s.mu.Unlock()
	poke(s.wwake)
}

// SendIdle reports whether nothing is queued or in flight (or left to
// send after a send failed).
func (s *Stream) SendIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendIdleLocked()
}

func (s *Stream) sendIdleLocked() bool {
	return !s.sending && (len(s.wpend) == 0 || s.werr != nil)
}

// Buffered reports the unread received bytes and the unsent bytes, for
// tests and statistics.
func (s *Stream) Buffered() (unread, unsent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rbuf) - s.roff, len(s.wpend) + len(s.wfly) - s.woff
}
