package dgram

import "sync"

// queue is a FIFO of datagrams in a ring that grows by doubling.
type queue struct {
	buf  []Datagram
	head int
	n    int
}

func (q *queue) len() int { return q.n }

// front returns the oldest datagram, or nil.
func (q *queue) front() *Datagram {
	if q.n == 0 {
		return nil
	}
	return &q.buf[q.head]
}

func (q *queue) push(d Datagram) {
	if q.n == len(q.buf) {
		nb := make([]Datagram, max(16, 2*len(q.buf)))
		k := copy(nb, q.buf[q.head:])
		copy(nb[k:], q.buf[:q.head])
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = d
	q.n++
}

// pop removes the oldest datagram and returns it.
func (q *queue) pop() Datagram {
	d := q.buf[q.head]
	q.buf[q.head] = Datagram{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if q.n == 0 {
		q.head = 0
	}
	return d
}

// Queue buffers come from pools by size class, so that queueing a
// datagram does not allocate once the pools are warm: small ones for the
// usual datagrams (DNS, QUIC, a 1,500-byte MTU), medium ones, and large
// ones for the biggest UDP datagram with its control data.
const (
	smallBuf  = 2 << 10
	mediumBuf = 16 << 10
	largeBuf  = 68 << 10
)

var (
	smallPool  = sync.Pool{New: func() any { return new([smallBuf]byte) }}
	mediumPool = sync.Pool{New: func() any { return new([mediumBuf]byte) }}
	largePool  = sync.Pool{New: func() any { return new([largeBuf]byte) }}
)

// getBuf returns an empty buffer with room for n bytes.
func getBuf(n int) []byte {
	switch {
	case n <= smallBuf:
		return smallPool.Get().(*[smallBuf]byte)[:0]
	case n <= mediumBuf:
		return mediumPool.Get().(*[mediumBuf]byte)[:0]
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
	case mediumBuf:
		mediumPool.Put((*[mediumBuf]byte)(b[:mediumBuf]))
	case largeBuf:
		largePool.Put((*[largeBuf]byte)(b[:largeBuf]))
	}
}
