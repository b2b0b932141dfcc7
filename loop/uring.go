//go:build linux

package loop

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"github.com/godzie44/go-uring/uring"
	"golang.org/x/sys/unix"
)

// io_uring ABI values that go-uring (whose opcode list stops near kernel
// 5.15) does not define. From include/uapi/linux/io_uring.h.
const (
	opPollAdd     = 6
	opSendMsg     = 9
	opRecvMsg     = 10
	opAccept      = 13
	opAsyncCancel = 14
	opConnect     = 16
	opRead        = 22
	opSend        = 26
	opRecv        = 27

	sqeBufferSelect = 1 << 5 // IOSQE_BUFFER_SELECT

	cqeFBuffer       = 1 << 0 // IORING_CQE_F_BUFFER
	cqeFMore         = 1 << 1 // IORING_CQE_F_MORE: a multishot operation goes on
	cqeFSockNonempty = 1 << 2 // IORING_CQE_F_SOCK_NONEMPTY
	recvPollFirst    = 1 << 0 // IORING_RECVSEND_POLL_FIRST
	recvMultishotBit = 1 << 1 // IORING_RECV_MULTISHOT, in sqe.ioprio
	cqeBufShift      = 16     // IORING_CQE_BUFFER_SHIFT

	registerPbufRing   = 22 // IORING_REGISTER_PBUF_RING
	unregisterPbufRing = 23 // IORING_UNREGISTER_PBUF_RING

	sysIOURingRegister = 427
)

// requiredOps are the opcodes the loop cannot work without.
var requiredOps = []struct {
	code int
	name string
}{
	{opPollAdd, "POLL_ADD"},
	{opAccept, "ACCEPT"},
	{opAsyncCancel, "ASYNC_CANCEL"},
	{opConnect, "CONNECT"},
	{opRead, "READ"},
	{opSend, "SEND"},
	{opRecv, "RECV"},
}

// ErrUnsupported wraps the reason the kernel cannot run the loop.
var ErrUnsupported = errors.New("io_uring: unsupported")

// checkOps probes the ring for every opcode the loop needs.
func checkOps(r *uring.Ring) error {
	p, err := r.Probe()
	if err != nil {
		return fmt.Errorf("%w: probe: %w", ErrUnsupported, err)
	}
	for _, op := range requiredOps {
		if p.GetOP(op.code).Flags&uring.OpSupportedFlag == 0 {
			return fmt.Errorf("%w: opcode %s missing", ErrUnsupported, op.name)
		}
	}
	return nil
}

// User data layout: op (8 bits) | generation (24 bits) | slot (32 bits).
// Never a Go pointer: a CQE may arrive after its slot was reused, and the
// generation tells it apart.
type udOp uint8

const (
	udWake udOp = iota + 1
	udAccept
	udRecv
	udSend
	udPollOut
	udCancel
	udConnect
	udRecvMsg
	udSendMsg
)

func packUD(op udOp, gen, slot uint32) uint64 {
	return uint64(op)<<56 | uint64(gen&0xffffff)<<32 | uint64(slot)
}

func unpackUD(ud uint64) (op udOp, gen, slot uint32) {
	return udOp(ud >> 56), uint32(ud>>32) & 0xffffff, uint32(ud)
}

// sqe returns a zeroed submission entry, submitting queued ones first if
// the submission queue is full.
func (l *Loop) sqe() *uring.SQEntry {
	e, err := l.ring.NextSQE()
	if err != nil {
		l.submit()
		e, err = l.ring.NextSQE()
		if err != nil {
			panic("ringnet/loop: submission queue full after submit: " + err.Error())
		}
	}
	*e = uring.SQEntry{}
	l.queued++
	return e
}

// acceptAddr is where an accept writes its peer's address.
type acceptAddr struct {
	raw unix.RawSockaddrAny
	len uint32
}

// prepAccept queues one accept on listening socket fd; the kernel writes
// the peer's address to a, which must stay alive and unmoved until the CQE.
func (l *Loop) prepAccept(fd int, a *acceptAddr, ud uint64) {
	e := l.sqe()
	fillAccept(e, fd, a)
	e.UserData = ud
}

func fillAccept(e *uring.SQEntry, fd int, a *acceptAddr) {
	a.len = unix.SizeofSockaddrAny
	e.OpCode = opAccept
	e.Fd = int32(fd)
	e.Addr = uint64(uintptr(unsafe.Pointer(&a.raw)))
	e.Off = uint64(uintptr(unsafe.Pointer(&a.len))) // sqe->addr2
	e.OpcodeFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
}

// sockaddr is the address an accept wrote, in the form syscall.Getpeername
// returns it, for TCP over IPv4 or IPv6. For other families it returns
// nil: the caller then asks the socket, so that a Unix peer's address is
// exactly what net reports.
func (a *acceptAddr) sockaddr() syscall.Sockaddr {
	switch {
	case a.raw.Addr.Family == unix.AF_INET && a.len >= unix.SizeofSockaddrInet4:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.raw))
		return &syscall.SockaddrInet4{Port: port(p.Port), Addr: p.Addr}
	case a.raw.Addr.Family == unix.AF_INET6 && a.len >= unix.SizeofSockaddrInet6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&a.raw))
		return &syscall.SockaddrInet6{Port: port(p.Port), ZoneId: p.Scope_id, Addr: p.Addr}
	}
	return nil
}

// port converts a port from network byte order, as it lies in memory.
func port(p uint16) int {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return int(b[0])<<8 | int(b[1])
}

// prepRecv queues a receive into a buffer the kernel picks from the
// provided-buffer ring.
//
// pollFirst skips the receive attempt at submission and waits for the
// socket to poll readable first: for a socket the last receive drained,
// where the attempt would only fail with EAGAIN.
func (l *Loop) prepRecv(fd int, ud uint64, pollFirst bool) {
	e := l.sqe()
	e.OpCode = opRecv
	if pollFirst {
		e.IoPrio = recvPollFirst
	}
	e.Fd = int32(fd)
	e.Flags = sqeBufferSelect
	e.BufIG = l.bufs.group
	e.UserData = ud
}

// prepSend queues a send of b; b must stay alive and unmoved until its CQE
// (the Stream keeps it until SendDone).
func (l *Loop) prepSend(fd int, b []byte, ud uint64) {
	e := l.sqe()
	e.OpCode = opSend
	e.Fd = int32(fd)
	e.Addr = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	e.Len = uint32(len(b))
	e.OpcodeFlags = unix.MSG_NOSIGNAL
	e.UserData = ud
}

// prepConnect queues a connect of fd to the socket address at addr, which
// must stay alive and unmoved until its CQE.
func (l *Loop) prepConnect(fd int, addr unsafe.Pointer, addrLen uint32, ud uint64) {
	e := l.sqe()
	e.OpCode = opConnect
	e.Fd = int32(fd)
	e.Addr = uint64(uintptr(addr))
	e.Off = uint64(addrLen)
	e.UserData = ud
}

// prepRecvMsg queues a multishot receive of every datagram, until it is
// cancelled or runs out of buffers, into buffers the kernel picks from the
// datagram buffer ring and lays out as the msghdr at msg says; msg must
// stay alive and unmoved until the operation's last completion. flags are
// recvmsg(2)'s.
func (l *Loop) prepRecvMsg(fd int, msg unsafe.Pointer, flags uint32, ud uint64) {
	e := l.sqe()
	e.OpCode = opRecvMsg
	e.Fd = int32(fd)
	e.Addr = uint64(uintptr(msg))
	e.Len = 1
	e.OpcodeFlags = flags
	e.Flags = sqeBufferSelect
	e.BufIG = dgramGroup
	e.IoPrio = recvMultishotBit
	e.UserData = ud
}

// prepSendMsg queues a sendmsg(2) of the msghdr at msg, which must stay
// alive and unmoved, with what it points at, until its completion. A full
// socket makes the kernel wait for room itself (no MSG_DONTWAIT).
func (l *Loop) prepSendMsg(fd int, msg unsafe.Pointer, ud uint64) {
	e := l.sqe()
	e.OpCode = opSendMsg
	e.Fd = int32(fd)
	e.Addr = uint64(uintptr(msg))
	e.Len = 1
	e.OpcodeFlags = unix.MSG_NOSIGNAL
	e.UserData = ud
}

func (l *Loop) prepPollOut(fd int, ud uint64) {
	e := l.sqe()
	e.OpCode = opPollAdd
	e.Fd = int32(fd)
	e.OpcodeFlags = unix.POLLOUT
	e.UserData = ud
}

func (l *Loop) prepCancel(target uint64) {
	e := l.sqe()
	e.OpCode = opAsyncCancel
	e.Fd = -1
	e.Addr = target
	e.UserData = packUD(udCancel, 0, 0)
}

// prepWakeRead reads the eventfd through the ring into l.wakeBuf, which
// lives as long as the Loop.
func (l *Loop) prepWakeRead() {
	e := l.sqe()
	e.OpCode = opRead
	e.Fd = int32(l.wake.ReadFd())
	e.Addr = uint64(uintptr(unsafe.Pointer(&l.wakeBuf[0])))
	e.Len = uint32(len(l.wakeBuf))
	e.Off = ^uint64(0) // current position: the eventfd is not seekable
	e.UserData = packUD(udWake, 0, 0)
}

func ioUringRegister(fd int, op int, arg unsafe.Pointer, n int) error {
	_, _, errno := unix.Syscall6(sysIOURingRegister, uintptr(fd), uintptr(op), uintptr(arg), uintptr(n), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
