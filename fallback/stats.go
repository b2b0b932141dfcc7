//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"sync/atomic"

	"github.com/ringnet/ringnet/internal/backend"
)

// stats are one loop's counters. The loop goroutine updates them with
// atomic adds; they may be read at any time.
type stats struct {
	Loop          int
	Conns         atomic.Int64  // connections and datagram sockets owned now
	Accepts       atomic.Uint64 // connections this loop accepted, before they are spread over the loops
	AcceptErrors  atomic.Uint64 // accepts that failed (EMFILE...)
	Connects      atomic.Uint64 // connects that waited for writable readiness
	ZeroCopyBytes atomic.Uint64 // ReadFrom bytes sent with sendfile(2) or splice(2)
	Polls         atomic.Uint64 // waits that blocked: netpoller parks, or epoll_wait(-1)/kevent(NULL) calls
	Sleeps        atomic.Uint64 // times the loop announced it would sleep and waited
	BytesIn       atomic.Uint64 // bytes received
	SoloHandoffs  atomic.Uint64 // times a connection's receiving went to its reader (stream.StartSolo)
	RecvPauses    atomic.Uint64 // receives paused at the high-water mark
	DatagramsIn   atomic.Uint64 // datagrams received
	DatagramsOut  atomic.Uint64 // datagrams the loop sent (after a writer found the socket full)
}

// Stats returns a snapshot of the loop's counters.
func (l *Loop) Stats() backend.Stats {
	w := l.sig.Stats()
	return backend.Stats{
		Backend:        "poll",
		Loop:           l.id,
		Conns:          l.stats.Conns.Load(),
		Accepts:        l.stats.Accepts.Load(),
		AcceptErrors:   l.stats.AcceptErrors.Load(),
		Connects:       l.stats.Connects.Load(),
		ZeroCopyBytes:  l.stats.ZeroCopyBytes.Load(),
		Polls:          l.stats.Polls.Load(),
		Sleeps:         l.stats.Sleeps.Load(),
		WakesWritten:   w.Written,
		WakesCoalesced: w.Coalesced,
		BytesIn:        l.stats.BytesIn.Load(),
		SoloHandoffs:   l.stats.SoloHandoffs.Load(),
		RecvPauses:     l.stats.RecvPauses.Load(),
		DatagramsIn:    l.stats.DatagramsIn.Load(),
		DatagramsOut:   l.stats.DatagramsOut.Load(),
	}
}
