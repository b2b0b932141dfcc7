package stream

import "sync"

// Queue buffers come from two pools, so that an idle connection holds none
// and a busy one does not allocate per read or write: small ones for
// request-sized traffic, large ones that hold a whole high-water mark plus
// a receive buffer, for bulk transfers.
const (
	smallBuf = 4 << 10
	largeBuf = RecvHighWater + 64<<10
)

// The pools store array pointers: putting one back allocates nothing.
var (
	smallPool = sync.Pool{New: func() any { return new([smallBuf]byte) }}
	largePool = sync.Pool{New: func() any { return new([largeBuf]byte) }}
)

// getBuf returns an empty buffer with room for n bytes.
func getBuf(n int) []byte {
	switch {
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
