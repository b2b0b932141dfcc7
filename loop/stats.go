//go:build linux

package loop

import (
	"sync/atomic"

	"github.com/ringnet/ringnet/internal/backend"
)

// Stats are one loop's counters. They are updated with atomic adds (by the
// loop goroutine; BytesIn also by solo readers) and may be read at any time.
type Stats struct {
	Loop          int
	Conns         atomic.Int64  // connections and datagram sockets owned now
	Accepts       atomic.Uint64 // connections this loop accepted (and owns)
	AcceptErrors  atomic.Uint64 // accepts that failed (EMFILE...)
	Connects      atomic.Uint64 // IORING_OP_CONNECT operations submitted
	ZeroCopyBytes atomic.Uint64 // ReadFrom bytes sent with sendfile(2) or splice(2)
	SQEs          atomic.Uint64 // submission entries submitted
	CQEs          atomic.Uint64 // completions reaped
	Enters        atomic.Uint64 // io_uring_enter calls
	Sleeps        atomic.Uint64 // times the loop parked waiting for completions
	Yields        atomic.Uint64 // times a pass let the readers it fed run (yieldAfter)
	SoloHandoffs  atomic.Uint64 // times a connection's receiving went to its reader (stream.StartSolo)
	BytesIn       atomic.Uint64 // bytes received
	RecvPauses    atomic.Uint64 // receives paused at the high-water mark
	NoBufs        atomic.Uint64 // receives that ran out of provided buffers
	Trims         atomic.Uint64 // times the loop gave its buffers' pages back after going idle (trim)
	DatagramsIn   atomic.Uint64 // datagrams received
	DatagramsOut  atomic.Uint64 // SENDMSG operations completed (datagrams a writer sent itself are not counted)
}

// Stats returns a snapshot of the loop's counters.
func (l *Loop) Stats() backend.Stats {
	w := l.sig.Stats()
	return backend.Stats{
		Backend:        "io_uring",
		Loop:           l.id,
		Conns:          l.stats.Conns.Load(),
		Accepts:        l.stats.Accepts.Load(),
		AcceptErrors:   l.stats.AcceptErrors.Load(),
		Connects:       l.stats.Connects.Load(),
		ZeroCopyBytes:  l.stats.ZeroCopyBytes.Load(),
		SQEs:           l.stats.SQEs.Load(),
		CQEs:           l.stats.CQEs.Load(),
		Enters:         l.stats.Enters.Load(),
		Sleeps:         l.stats.Sleeps.Load(),
		Yields:         l.stats.Yields.Load(),
		SoloHandoffs:   l.stats.SoloHandoffs.Load(),
		WakesWritten:   w.Written,
		WakesCoalesced: w.Coalesced,
		BuffersInUse:   l.bufs.inUse.Load() + l.dgramBuffersInUse(),
		Buffers:        int(l.bufs.entries),
		BuffersOut:     int(l.bufs.provided.Load()),
		Trims:          l.stats.Trims.Load(),
		BytesIn:        l.stats.BytesIn.Load(),
		RecvPauses:     l.stats.RecvPauses.Load(),
		NoBufs:         l.stats.NoBufs.Load(),
		DatagramsIn:    l.stats.DatagramsIn.Load(),
		DatagramsOut:   l.stats.DatagramsOut.Load(),
	}
}

// dgramBuffersInUse is how many datagram buffers completions hold.
func (l *Loop) dgramBuffersInUse() int64 {
	if b := l.dbufsStat.Load(); b != nil {
		return b.inUse.Load()
	}
	return 0
}
