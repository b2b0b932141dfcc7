//go:build linux

package loop

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bufRing is a provided-buffer ring (IORING_REGISTER_PBUF_RING): a ring of
// buffer descriptors shared with the kernel, from which receives
// pick a buffer per completion. go-uring has no call for it, so it is
// registered here with io_uring_register(2) directly.
//
// Both the descriptor ring and the buffers are anonymous mmap memory, not
// Go heap: the kernel writes into them at any time, and the garbage
// collector must never see or move them.
//
// The ring has room for every buffer, but holds only as many as the load
// needs (target): a loop starts by providing a few, and doubles them
// whenever a receive finds none left (grow); a buffer that comes back
// while the ring holds enough is kept in spare instead. Provided buffers
// are used in turn, so every one of them is touched (its first page at
// least) as traffic goes on: providing all of them at once made each
// loop's working set 256 buffers, a mebibyte per loop for requests of a
// few hundred bytes (see the package doc for the numbers). Spare buffers
// are never touched, and cost no memory until they are provided.
type bufRing struct {
	ringMem []byte // entries × 16-byte struct io_uring_buf
	data    []byte // entries × size bytes
	entries uint16
	size    int
	group   uint16
	tail    uint16 // local tail; published with commit
	added   bool   // buffers were added since the last commit
	inUse   atomic.Int64

	minOut   int      // buffers provided at first, and again after trim
	target   int      // buffers the ring should hold now
	out      int      // buffers the kernel holds: provided, not yet handed back by a completion
	spare    []uint16 // buffers held back, the last returned on top
	short    bool     // a receive found the ring empty since the last grow
	takes    uint64   // buffers handed back by completions since setup
	provided atomic.Int64
}

// ioUringBuf mirrors struct io_uring_buf.
type ioUringBuf struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16 // the ring's tail lives here in entry 0
}

// ioUringBufReg mirrors struct io_uring_buf_reg.
type ioUringBufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// newBufRing sets up a ring of entries buffers of size bytes each for
// buffer group group, and provides provide of them to the kernel
// (provide ≤ entries; the rest are spare until the load asks for them).
func newBufRing(ringFd int, entries uint16, size int, group uint16, provide int) (*bufRing, error) {
	if entries == 0 || entries&(entries-1) != 0 || entries > 1<<15 {
		return nil, fmt.Errorf("ringnet/loop: buffer count %d is not a power of two in [1, 32768]", entries)
	}
	if size <= 0 {
		return nil, fmt.Errorf("ringnet/loop: buffer size %d", size)
	}
	provide = max(1, min(provide, int(entries)))
	ringMem, err := unix.Mmap(-1, 0, int(entries)*16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	data, err := unix.Mmap(-1, 0, int(entries)*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		_ = unix.Munmap(ringMem)
		return nil, os.NewSyscallError("mmap", err)
	}
	// Small pages only: where transparent huge pages are "always", the
	// first receive into a buffer would otherwise make a whole 2 MiB page
	// of the ring resident. (EINVAL without THP support: nothing to do.)
	_ = unix.Madvise(data, unix.MADV_NOHUGEPAGE)
	b := &bufRing{ringMem: ringMem, data: data, entries: entries, size: size, group: group,
		minOut: provide, target: provide, spare: make([]uint16, 0, int(entries)-provide)}
	reg := ioUringBufReg{
		ringAddr:    uint64(uintptr(unsafe.Pointer(&ringMem[0]))),
		ringEntries: uint32(entries),
		bgid:        group,
	}
	if err := ioUringRegister(ringFd, registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		b.unmap()
		return nil, fmt.Errorf("%w: register buffer ring: %w", ErrUnsupported, os.NewSyscallError("io_uring_register", err))
	}
	for i := int(entries) - 1; i >= provide; i-- {
		b.spare = append(b.spare, uint16(i))
	}
	for i := range provide {
		b.add(uint16(i))
	}
	b.out = provide
	b.provided.Store(int64(provide))
	b.commit()
	return b, nil
}

func (b *bufRing) desc(i uint16) *ioUringBuf {
	return (*ioUringBuf)(unsafe.Pointer(&b.ringMem[int(i&(b.entries-1))*16]))
}

// buf returns buffer bid.
func (b *bufRing) buf(bid uint16) []byte {
	off := int(bid) * b.size
	return b.data[off : off+b.size : off+b.size]
}

// add queues buffer bid for return to the kernel; commit publishes it.
func (b *bufRing) add(bid uint16) {
	d := b.desc(b.tail)
	d.addr = uint64(uintptr(unsafe.Pointer(&b.data[int(bid)*b.size])))
	d.len = uint32(b.size)
	d.bid = bid
	b.tail++
	b.added = true
}

// take records that the kernel handed buffer bid to a completion.
func (b *bufRing) take() {
	b.inUse.Add(1)
	b.out--
	b.takes++
}

// recycle gives buffer bid back: to the kernel (published by the next
// commit) while the ring holds fewer than target, else to spare.
func (b *bufRing) recycle(bid uint16) {
	if b.out < b.target {
		b.add(bid)
		b.out++
	} else {
		b.spare = append(b.spare, bid)
	}
	b.inUse.Add(-1)
}

// grow doubles the buffers the ring holds, if a receive found it empty
// since the last call, and provides spare buffers up to the new target
// (published by the next commit).
func (b *bufRing) grow() {
	if !b.short {
		return
	}
	b.short = false
	b.target = min(2*b.target, int(b.entries))
	for b.out < b.target && len(b.spare) > 0 {
		n := len(b.spare) - 1
		b.add(b.spare[n])
		b.spare = b.spare[:n]
		b.out++
	}
}

// release gives every buffer's pages back to the kernel (they read as
// zeros when next touched) and starts target over. Only while no
// receive is armed: a receive in flight may be writing into any
// provided buffer.
func (b *bufRing) release() error {
	b.target = b.minOut
	return os.NewSyscallError("madvise", unix.Madvise(b.data, unix.MADV_DONTNEED))
}

// commit publishes added buffers to the kernel with a release store of
// the tail, which shares entry 0 with the 16-bit resv field.
func (b *bufRing) commit() {
	b.provided.Store(int64(b.out))
	if !b.added {
		return
	}
	b.added = false
	// Go has no 16-bit atomic store: a 32-bit atomic store on the aligned word holding the tail orders the
	// descriptor writes before it; the low half (entry 0's bid) is the
	// kernel's to read only, and ours to write, so rewrite it unchanged.
	word := (*uint32)(unsafe.Pointer(&b.ringMem[12]))
	lo := uint32(*(*uint16)(unsafe.Pointer(&b.ringMem[12])))
	atomic.StoreUint32(word, lo|uint32(b.tail)<<16)
}

func (b *bufRing) unregister(ringFd int) {
	reg := ioUringBufReg{bgid: b.group}
	_ = ioUringRegister(ringFd, unregisterPbufRing, unsafe.Pointer(&reg), 1)
}

func (b *bufRing) unmap() {
	_ = unix.Munmap(b.ringMem)
	_ = unix.Munmap(b.data)
}
