//go:build linux

package loop

import "time"

// trimAfter is how long a loop must go without a receive into its buffers
// before it gives their pages back (trim): it does so between one and two
// times trimAfter after its last one.
//
// A trim costs a cancel and a new receive per connection of the loop, and
// the next receives fault the pages in again, so it is for a loop whose
// traffic has stopped, not for a pause between requests. See the package
// doc for the numbers.
var trimAfter = 2 * time.Second

// armIdle starts watching for the loop to go idle once a completion has
// taken a buffer, whose pages are then resident: a read deadline on the
// eventfd the loop sleeps on ends a sleep that lasts past trimAfter
// (idleTick). One deadline is set per trimAfter while receives go on; a
// loop that received nothing since its last trim sets none, nor does one
// that is shutting down (shutdown clears the deadline).
func (l *Loop) armIdle() {
	if l.idleSet || l.stopping {
		return
	}
	l.idleSet = true
	l.idleTakes = l.bufs.takes
	_ = l.evfd.SetReadDeadline(time.Now().Add(trimAfter))
}

// idleTick runs when the deadline armIdle set has passed: the loop trims
// if no completion took a buffer since, and otherwise looks again in
// trimAfter.
func (l *Loop) idleTick() {
	if l.bufs.takes != l.idleTakes {
		l.idleTakes = l.bufs.takes
		_ = l.evfd.SetReadDeadline(time.Now().Add(trimAfter))
		return
	}
	l.disarmIdle()
	l.trim()
}

// disarmIdle clears the deadline armIdle set.
func (l *Loop) disarmIdle() {
	if l.idleSet {
		l.idleSet = false
		_ = l.evfd.SetReadDeadline(time.Time{})
	}
}

// trim gives the pages of the loop's provided buffers back to the kernel
// (MADV_DONTNEED), which hands out zeroed pages when they are next
// written. A buffer in the ring may be written by any armed receive at
// any time, so the loop first cancels every receive and arms none until
// their completions have all come (each may still bring bytes, delivered
// as usual); endTrim then releases the pages and arms them again.
func (l *Loop) trim() {
	if l.trimming || l.stopping {
		return
	}
	l.trimming = true
	for _, c := range l.conns {
		if c != nil {
			l.cancelRecv(c)
		}
	}
	l.endTrim()
}

// endTrim finishes a trim once no receive is armed: the pages go back,
// the ring starts again from its first share of buffers (bufRing.release)
// and every connection that wants to receive is armed again.
func (l *Loop) endTrim() {
	if !l.trimming || l.recvs > 0 {
		return
	}
	l.trimming = false
	if l.bufs.release() == nil {
		l.stats.Trims.Add(1)
	}
	for _, c := range l.conns {
		if c != nil {
			l.armRecv(c)
		}
	}
}
