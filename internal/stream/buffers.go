package stream

import "sync"

// Queue buffers come from three pools, so that an idle connection holds
// none and a busy one does not allocate per read or write: tiny ones for a
// request or a reply of a few hundred bytes, small ones for the rest of
// request-sized traffic, large ones that hold a whole high-water mark plus
// a receive buffer, for bulk transfers.
//
// The tiny class is for memory: under net/http hello at c=1000 about 700
// queue buffers are in use at any moment (a request waiting for its
// handler, a reply waiting for the loop's next submit), 2.9 MB of the
// heap with 4 KiB ones (a heap profile, 2026-12-08). With 1 KiB ones for
// what fits, the server's peak RSS went from 52.4 to 46.9 MB (the stdlib's
// 41.1 MB) with GOMAXPROCS=2, wrk -t1 -c1000 -d5s, two or three runs each
// (512-byte ones: 45.7 MB); docs/bench.md, "Big machines".
const (
	tinyBuf  = 1 << 10
	smallBuf = 4 << 10
	largeBuf = RecvHighWater + 64<<10
)

// The pools store array pointers: putting one back allocates nothing.
var (
	tinyPool  = sync.Pool{New: func() any { return new([tinyBuf]byte) }}
	smallPool = sync.Pool{New: func() any { return new([smallBuf]byte) }}
	largePool = sync.Pool{New: func() any { return new([largeBuf]byte) }}
)

// getBuf returns an empty buffer with room for n bytes.
func getBuf(n int) []byte {
	switch {
	case n <= tinyBuf:
		return tinyPool.Get().(*[tinyBuf]byte)[:0]
	case n <= smallBuf:
		return smallPool.Get().(*[smallBuf]byte)[:0]
	case n <= largeBuf:
		return largePool.Get().(*[largeBuf]byte)[:0]
	}
	return make([]byte, 0, n)
}

// putBuf gives a buffer from getBuf back; others are left to the GC.
func putBuf(b []byte) {
	switch cap(b) {
	case tinyBuf:
		tinyPool.Put((*[tinyBuf]byte)(b[:tinyBuf]))
	case smallBuf:
		smallPool.Put((*[smallBuf]byte)(b[:smallBuf]))
	case largeBuf:
		largePool.Put((*[largeBuf]byte)(b[:largeBuf]))
	}
}

// grow returns b with room for n more bytes, moving its contents to a
// bigger pooled buffer if needed.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := append(getBuf(len(b)+n), b...)
	putBuf(b)
	return nb
}
