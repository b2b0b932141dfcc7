//go:build linux

package loop

import (
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/godzie44/go-uring/uring"
	"golang.org/x/sys/unix"
)

// cqView is the loop's own view of its ring's completion-queue header:
// head and tail (to tell whether completions wait, from any goroutine,
// without go-uring's unexported state) and the flags word whose
// IORING_CQ_EVENTFD_DISABLED bit turns the registered eventfd's
// signalling off and on. go-uring neither exposes these words nor
// registers eventfds, so the CQ ring is mapped a second time here
// (IORING_OFF_CQ_RING maps the same pages as go-uring's mapping) and the
// eventfd is registered with io_uring_register(2) directly.
type cqView struct {
	mem   []byte
	head  *uint32
	tail  *uint32
	flags *uint32
}

// ioUringParams mirrors struct io_uring_params, which go-uring's
// ring.Params points at (its fields are unexported).
type ioUringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  [10]uint32 // struct io_sqring_offsets
	cqOff                                                                  struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

const (
	ioringOffCQRing        = 0x8000000
	ioringCQEventfdDisable = 1 << 0 // IORING_CQ_EVENTFD_DISABLED
	registerEventfd        = 4      // IORING_REGISTER_EVENTFD
	unregisterEventfd      = 5      // IORING_UNREGISTER_EVENTFD
)

func newCQView(r *uring.Ring) (*cqView, error) {
	p := (*ioUringParams)(unsafe.Pointer(r.Params))
	if p.cqOff.flags == 0 {
		return nil, ErrUnsupported // kernel without the CQ flags word (< 5.8)
	}
	size := int(p.cqOff.cqes) // the header; the CQEs themselves are not needed
	mem, err := unix.Mmap(r.Fd(), ioringOffCQRing, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	return &cqView{mem: mem, head: at(p.cqOff.head), tail: at(p.cqOff.tail), flags: at(p.cqOff.flags)}, nil
}

// ready reports whether completions wait. Safe from any goroutine.
func (v *cqView) ready() bool {
	return atomic.LoadUint32(v.tail) != atomic.LoadUint32(v.head)
}

// signalEventfd turns the registered eventfd's signalling on or off. The
// store is sequentially consistent: a caller that turns signalling on and
// then finds the queue empty (ready) cannot miss a completion, because the
// kernel stores a CQE's tail before it reads the flag, with a full barrier
// in between. In Linux 6.x that barrier is the wait-queue check
// (wq_has_sleeper, an smp_mb) of io_poll_wq_wake, which
// __io_commit_cqring_flush calls before io_eventfd_signal whenever the
// ring's poll_activated is set — which io_uring_create does at once for a
// ring without DEFER_TASKRUN, as ours are (read in the kernel source of
// the poll_activated change, 6.4 on; not traced on this machine).
func (v *cqView) signalEventfd(on bool) {
	f := atomic.LoadUint32(v.flags) // only the application writes this word
	if on {
		f &^= ioringCQEventfdDisable
	} else {
		f |= ioringCQEventfdDisable
	}
	atomic.StoreUint32(v.flags, f)
}

func (v *cqView) unmap() { _ = unix.Munmap(v.mem) }

// registerCQEventfd makes the ring signal eventfd fd on every completion
// it posts (unless signalling is turned off in the CQ flags).
func registerCQEventfd(ringFd, fd int) error {
	fd32 := int32(fd)
	if err := ioUringRegister(ringFd, registerEventfd, unsafe.Pointer(&fd32), 1); err != nil {
		return os.NewSyscallError("io_uring_register", err)
	}
	return nil
}
