package stream

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// Solo receiving: the reader of a loop's only connection receives with
// read(2) on its own goroutine and waits for the socket in Go's netpoller,
// as a reader of a net.Conn does, instead of having the loop receive for
// it. With one connection there is nothing to batch, and the ring's
// receive path (arming a poll, task work, a completion, the ring's wake-up)
// costs more per message than read(2); see the loop package doc for the
// numbers.
//
// Who receives is a small state machine in Stream.solo. The loop hands the
// receive side over only when it has no receive armed (StartSolo) and
// takes it back before arming one (StopSolo); the reader claims it for the
// length of one direct receive. So the loop and the reader never receive
// at the same time, and bytes cannot be reordered between them.
const (
	soloOff     int32 = iota // the loop receives
	soloOn                   // the reader receives; no reader is receiving now
	soloBusy                 // a reader is inside a direct receive
	soloRevoked              // the loop wants it back; the busy reader returns it when done
)

// SoloAfter is how many receives must have delivered bytes to a loop's
// only connection before the loop hands receiving to its reader (both
// loops count them). A reader of its own costs a dup of the socket and its
// registration with the netpoller, four system calls over the
// connection's life, which a connection that carries one request never
// recovers. net/http reads twice per request (the request, then its
// background read, which waits for the next one until the reply is
// written), so one receive does not tell: handed over after the first,
// 28 % of the connections of wrk -t1 -c1 with `Connection: close` still
// went solo on io_uring (0.28 fcntl per request under perf stat, against
// 1.63 when handed over at once); after two, none.
const SoloAfter = 2

// StartSolo is called by the loop, which has no receive armed for s; only
// says s is the loop's only connection. It reports whether the reader now
// receives, in which case the loop arms no receive until StopSolo. A
// reader waiting for the loop is woken to start. It reports false for a
// connection that shares its loop, if solo receiving failed on this
// stream before (no descriptor to wait on), or while the stream is bulk
// (below): the loop then receives as usual. After CloseRead (ShutRead) it
// hands receiving over in every case: the reader's receives no longer
// wait (readShut).
func (s *Stream) StartSolo(only bool) bool {
	if s.rshut.Load() {
		if s.solo.CompareAndSwap(soloOff, soloOn) {
			poke(s.rwake)
		}
		return true
	}
	if !only || s.noSolo.Load() || s.bulk.Load() {
		return false
	}
	if s.solo.CompareAndSwap(soloOff, soloOn) {
		if s.counters.Handoffs != nil {
			s.counters.Handoffs.Add(1)
		}
		poke(s.rwake)
	}
	return true
}

// StopSolo is called by the loop that wants to receive for s again. It
// reports whether the loop may arm a receive now; if not, a reader is
// inside a direct receive, is interrupted, and asks the loop to resume
// (ReqResume) once it is out.
func (s *Stream) StopSolo() bool {
	for {
		switch st := s.solo.Load(); st {
		case soloOff:
			return true
		case soloOn:
			if s.solo.CompareAndSwap(soloOn, soloOff) {
				return true
			}
		case soloBusy:
			if s.solo.CompareAndSwap(soloBusy, soloRevoked) {
				s.interruptSolo()
				return false
			}
		case soloRevoked:
			return false
		}
	}
}

// LoopReceives reports whether the loop may receive for s: no reader holds
// the receive side.
func (s *Stream) LoopReceives() bool { return s.solo.Load() == soloOff }

// SoloCounters are the loop's statistics that solo receiving adds to.
type SoloCounters struct {
	Received *atomic.Uint64 // bytes a solo reader received
	Handoffs *atomic.Uint64 // times receiving went to the reader (StartSolo)
}

// CountSolo makes solo receiving add to the loop's counters. The loop
// calls it before the stream is in use.
func (s *Stream) CountSolo(c SoloCounters) { s.counters = c }

// interruptSolo makes a reader waiting in a direct receive re-check the
// stream: a deadline in the past ends its netpoller wait at once.
func (s *Stream) interruptSolo() {
	if f := s.soloFile.Load(); f != nil {
		_ = f.SetReadDeadline(aLongTimeAgo)
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// errLoopReceives is readSolo's report that the reader does not (or no
// longer) hold the receive side: the loop receives, Read waits for it.
var errLoopReceives = errors.New("the loop receives")

// readSolo receives into p directly and returns Read's result, or
// errLoopReceives if the loop takes receiving back first. Read calls it
// with rmu held, after claiming the receive side (soloOn to soloBusy) in
// the critical section that found the queue empty: while the reader holds
// it the loop receives nothing, so the queue stays empty. It gives the
// receive side back before returning.
func (s *Stream) readSolo(p []byte) (n int, err error) {
	defer s.endSolo()
	f := s.soloFile.Load()
	if f == nil {
		if f, err = s.openSoloFile(); err != nil {
			if err == ErrClosed {
				return 0, ErrClosed
			}
			// No descriptor to wait on (EMFILE, say): give receiving
			// back to the loop for good.
			s.noSolo.Store(true)
			s.solo.Store(soloRevoked)
			return 0, errLoopReceives
		}
	}
	// SyscallConn fails only for a nil *os.File. Asked for here rather
	// than kept with the file: as a local, its Read is devirtualised and
	// recv does not escape (kept in the stream it cost 3 allocations, 73
	// B, per Read in BenchmarkPingPong).
	rc, _ := f.SyscallConn()
	var rerr error
	recv := func(fd uintptr) bool {
		for {
			n, rerr = readOnce(int(fd), p)
			if rerr != syscall.EINTR {
				return rerr != syscall.EAGAIN
			}
		}
	}
	for {
		// The deadline goes on the file before the checks below, and the
		// interrupters (Close, SetReadDeadline, StopSolo) change what they
		// check before putting a past deadline on it: either the checks
		// see the change or the wait ends at once. That includes the
		// deadline itself: a SetReadDeadline between the load and the
		// file's deadline had its past deadline overwritten with the
		// stale one, so a changed deadline means going round again.
		d := s.rdl.Load()
		if testHookSoloDeadline != nil {
			testHookSoloDeadline()
		}
		if d != 0 {
			_ = f.SetReadDeadline(time.Unix(0, d))
		} else {
			_ = f.SetReadDeadline(time.Time{})
		}
		if s.closed.Load() {
			return 0, ErrClosed
		}
		if expired(&s.rdl) {
			return 0, os.ErrDeadlineExceeded
		}
		if s.solo.Load() == soloRevoked {
			return 0, errLoopReceives
		}
		if s.rdl.Load() != d {
			continue
		}
		werr := rc.Read(recv)
		if werr == nil {
			break
		}
		if !errors.Is(werr, os.ErrDeadlineExceeded) {
			// The file was closed under the wait: the loop is closing
			// the socket, so the stream is closed.
			return 0, ErrClosed
		}
		// Interrupted, or an older deadline passed: check again.
	}
	switch {
	case rerr != nil:
		// Reported once, then the stream reads as ended (as in Read).
		s.DeliverEnd(io.EOF)
		return 0, rerr
	case n == 0:
		s.DeliverEnd(io.EOF)
		return 0, io.EOF
	}
	if s.counters.Received != nil {
		s.counters.Received.Add(uint64(n))
	}
	if n < len(p) || n < bulkMinRead {
		s.fullRuns = 0
	} else if s.fullRuns++; s.fullRuns == bulkAfter {
		// The sender is ahead of this reader: give receiving to the
		// loop, which then receives on its own goroutine while the
		// reader copies out (endSolo hands it over).
		s.fullRuns = 0
		s.bulk.Store(true)
		s.solo.Store(soloRevoked)
	}
	raceAcquireIO()
	return n, nil
}

// readShut receives into p after CloseRead, on the reader's goroutine,
// holding the receive side as readSolo does (Read claimed it; the loop
// handed it over for good, StartSolo). After shutdown(SHUT_RD) a receive
// does not wait: it returns what the kernel holds, 0 for the end (io.EOF),
// or the socket's error once, as net's Read does then. So no descriptor is
// parked on, and the loop receives nothing more for the stream. Should a
// receive find the socket empty but not shut (EAGAIN: not seen on Linux,
// whose shutdown(SHUT_RD) makes every later receive return), the reader
// waits for it as readSolo does.
func (s *Stream) readShut(p []byte) (int, error) {
	var n int
	err := s.WithFD(func(fd int) error {
		var err error
		n, err = recvNonblock(fd, p)
		return err
	})
	if err == syscall.EAGAIN {
		return s.readSolo(p)
	}
	s.endSolo()
	switch {
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	if s.counters.Received != nil {
		s.counters.Received.Add(uint64(n))
	}
	raceAcquireIO()
	return n, nil
}

// Bulk streams. A lone connection whose reader keeps finding more bytes
// than its buffer holds (bulkAfter solo reads in a row that fill it, of
// at least bulkMinRead bytes: a reader of tiny buffers says nothing about
// its sender) is receiving a bulk transfer, which goes faster through
// the loop: the loop receives large chunks on its goroutine, often on the
// other CPU, while the reader copies out of the queue, and a reader with
// a small buffer (bufio's 4 KiB) makes no system call per read. The
// stream is bulk until the reader catches up: bulkAfter deliveries in a
// row, each into a waiting reader, smaller than its buffer. Then the loop
// hands receiving back at its next receive (StartSolo).
const (
	bulkAfter   = 4
	bulkMinRead = 4 << 10
)

// noteDeliveryLocked counts a delivery of n bytes into a waiting reader's
// buffer of size want, ending bulk mode after bulkAfter short ones in a
// row. Called by Deliver with s.mu held.
func (s *Stream) noteDeliveryLocked(n, want int) {
	if !s.bulk.Load() {
		return
	}
	if n >= want {
		s.bulkEnd = 0
		return
	}
	if s.bulkEnd++; s.bulkEnd == bulkAfter {
		s.bulkEnd = 0
		s.bulk.Store(false)
	}
}

// endSolo gives the receive side back to soloOn, or to the loop if it
// asked meanwhile.
func (s *Stream) endSolo() {
	if s.solo.CompareAndSwap(soloBusy, soloOn) {
		return
	}
	s.solo.Store(soloOff) // soloRevoked
	s.request(ReqResume)
}

// openSoloFile makes the file the reader waits on: a dup of the socket,
// registered with Go's netpoller. It is closed by CloseFD, under the same
// lock, so it never outlives the socket.
func (s *Stream) openSoloFile() (*os.File, error) {
	var f *os.File
	err := s.WithFD(func(fd int) error {
		var err error
		f, err = dupSocket(fd)
		if err == nil {
			s.soloFile.Store(f)
		}
		return err
	})
	return f, err
}

// testHookSoloDeadline, when set, runs in readSolo between its load of
// the read deadline and putting that deadline on the file (tests).
var testHookSoloDeadline func()

// dupSocket is dupFile; tests replace it to make it fail.
var dupSocket = dupFile

// closeSoloFile closes the reader's dup of the socket, ending a wait on it
// (with the fd write lock held, in CloseFD).
func (s *Stream) closeSoloFile() {
	if f := s.soloFile.Swap(nil); f != nil {
		_ = f.Close()
	}
}

// SoloReading reports whether a reader is inside a direct receive now
// (for tests).
func (s *Stream) SoloReading() bool { return s.solo.Load() == soloBusy }
