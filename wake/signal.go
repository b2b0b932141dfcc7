//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package wake

import (
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// Signal coalesces wakes with a "loop is sleeping" flag, so that producers
// write the wake descriptor only when the loop may actually be blocked.
//
// Producer side: enqueue the work, then call [Signal.Notify].
//
// Loop side:
//
//	s.PrepareSleep()
//	if queue is not empty {
//		s.CancelSleep()
//		// run the work
//	} else {
//		// block on the wake descriptor, then consume it
//		s.Woke()
//	}
//
// No wake is lost: the flag store in PrepareSleep and the producer's enqueue
// are both sequentially consistent, so either the loop sees the new work when
// it re-checks its queue, or the producer sees the flag set and writes the
// descriptor.
//
// The zero value is ready to use. A Signal occupies its own cache line(s) so
// that it does not share them with neighbouring fields. It must not be
// copied.
type Signal struct {
	_         cpu.CacheLinePad
	sleeping  atomic.Bool
	written   atomic.Uint64
	coalesced atomic.Uint64
	_         cpu.CacheLinePad
}

// SignalStats holds the counters of a [Signal].
type SignalStats struct {
	// Written counts Notify calls that wrote the wake descriptor.
	Written uint64
	// Coalesced counts Notify calls that found the loop awake (or another
	// producer already waking it) and wrote nothing.
	Coalesced uint64
}

// Notify wakes the loop through c if, and only if, it atomically changes the
// sleeping flag from true to false; it reports whether it wrote. Call it
// after the work has been made visible to the loop. When the loop is awake
// Notify performs no write to shared memory other than its statistics
// counter.
func (s *Signal) Notify(c Carrier) (wrote bool) {
	if s.sleeping.Load() && s.sleeping.CompareAndSwap(true, false) {
		c.Wake()
		s.written.Add(1)
		return true
	}
	s.coalesced.Add(1)
	return false
}

// PrepareSleep announces that the loop is about to block. The loop must
// re-check its queue after PrepareSleep and before blocking.
func (s *Signal) PrepareSleep() { s.sleeping.Store(true) }

// CancelSleep clears the sleeping flag when the loop found work after
// PrepareSleep. A producer may already have written the descriptor; that
// wake is then spurious but harmless: the next sleep returns at once.
func (s *Signal) CancelSleep() { s.sleeping.Store(false) }

// Woke clears the sleeping flag after the loop returned from blocking
// (whether it was woken, timed out or was interrupted). The loop must then
// re-check its queue before sleeping again.
func (s *Signal) Woke() { s.sleeping.Store(false) }

// Sleeping reports whether the loop has announced that it is sleeping and
// no producer has woken it yet.
func (s *Signal) Sleeping() bool { return s.sleeping.Load() }

// Stats returns a snapshot of the counters. The two counters are read
// separately, so a snapshot taken during concurrent Notify calls may be off
// by the calls in flight.
func (s *Signal) Stats() SignalStats {
	return SignalStats{Written: s.written.Load(), Coalesced: s.coalesced.Load()}
}
