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
type bufRing struct {
	ringMem []byte // entries × 16-byte struct io_uring_buf
	data    []byte // entries × size bytes
	entries uint16
	size    int
	group   uint16
	tail    uint16 // local tail; published with commit
	added   bool   // buffers were added since the last commit
	inUse   atomic.Int64
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

func newBufRing(ringFd int, entries uint16, size int, group uint16) (*bufRing, error) {
	if entries == 0 || entries&(entries-1) != 0 || entries > 1<<15 {
		return nil, fmt.Errorf("ringnet/loop: buffer count %d is not a power of two in [1, 32768]", entries)
	}
	if size <= 0 {
		return nil, fmt.Errorf("ringnet/loop: buffer size %d", size)
	}
	ringMem, err := unix.Mmap(-1, 0, int(entries)*16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	data, err := unix.Mmap(-1, 0, int(entries)*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		_ = unix.Munmap(ringMem)
		return nil, os.NewSyscallError("mmap", err)
	}
	b := &bufRing{ringMem: ringMem, data: data, entries: entries, size: size, group: group}
	reg := ioUringBufReg{
		ringAddr:    uint64(uintptr(unsafe.Pointer(&ringMem[0]))),
		ringEntries: uint32(entries),
		bgid:        group,
	}
	if err := ioUringRegister(ringFd, registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		b.unmap()
		return nil, fmt.Errorf("%w: register buffer ring: %w", ErrUnsupported, os.NewSyscallError("io_uring_register", err))
	}
	for i := uint16(0); i < entries; i++ {
		b.add(i)
	}
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
func (b *bufRing) take() { b.inUse.Add(1) }

// recycle gives buffer bid back (published by the next commit).
func (b *bufRing) recycle(bid uint16) {
	b.add(bid)
	b.inUse.Add(-1)
}

// commit publishes added buffers to the kernel with a release store of
// the tail, which shares entry 0 with the 16-bit resv field.
func (b *bufRing) commit() {
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
