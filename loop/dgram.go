//go:build linux

package loop

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/dgram"
	"github.com/ringnet/ringnet/internal/sockaddr"
)

// Datagram sockets on the ring (see the package doc, "Datagrams").
//
// Receive: one IORING_OP_RECVMSG with IORING_RECV_MULTISHOT and buffer
// selection stays armed per socket; each datagram lands in a buffer of the
// loop's datagram buffer ring (group dgramGroup) as a struct
// io_uring_recvmsg_out followed by the name, the control data and the
// payload, and is copied into the socket's queue (or a waiting reader's
// buffers) before the buffer goes back to the ring. The msghdr given at
// submission (pconn.msg) lives in the pconn, which the loop's table keeps
// reachable and the garbage collector never moves, until the operation's
// last completion.
//
// Send: each datagram a writer hands over is one IORING_OP_SENDMSG, with
// its msghdr, iovec and address in a sendOp the loop keeps until the
// completion; those of every socket queued in one loop pass go out in one
// io_uring_enter. A send that meets a full socket is parked by the kernel
// on the socket's readiness (no MSG_DONTWAIT), so the loop never retries.

// dgramGroup is the buffer group of the loops' datagram buffer rings; the
// stream receive ring is group 1.
const dgramGroup = 2

// dgramNameLen is the room for a datagram's source in each buffer: a
// struct sockaddr_storage's worth (sockaddr_un needs 110 bytes).
const dgramNameLen = unix.SizeofSockaddrAny

// recvmsgOutLen is sizeof(struct io_uring_recvmsg_out).
const recvmsgOutLen = 16

// maxDatagram is the payload room each datagram buffer has at least: the
// largest UDP datagram (65,507 bytes over IPv4, 65,527 over IPv6).
const maxDatagram = 65535

// dgramBufSize is the size of a datagram buffer for cfg: the header, the
// largest name and control data, and max(BufferSize, maxDatagram) bytes of
// payload (a Unix datagram can be larger than a UDP one), in whole pages.
func dgramBufSize(cfg Config) int {
	n := recvmsgOutLen + dgramNameLen + dgram.Options{Unix: true}.ControlSpace() + max(cfg.BufferSize, maxDatagram)
	return (n + 4095) &^ 4095
}

// pconn is the loop's side of one datagram socket.
type pconn struct {
	l    *Loop
	s    *dgram.Socket
	fd   int
	slot uint32
	gen  uint32
	ctl  int // control data room per datagram

	// The armed receive's msghdr: the kernel reads it at submission and
	// may again until the operation ends.
	msg unix.Msghdr

	recvArmed, recvCancelled bool
	starved                  bool
	failed                   bool      // the last receive ended with a socket error
	sends                    []*sendOp // in flight
	closing, dead            bool
}

// sendOp is one IORING_OP_SENDMSG in flight: the memory its SQE points at
// (the msghdr, its iovec and the destination; the payload and control data
// are the writer's, which the dgram.Send keeps) until its completion.
type sendOp struct {
	c         *pconn
	r         *dgram.Send
	msg       unix.Msghdr
	iov       unix.Iovec
	name      unix.RawSockaddrAny
	slot, gen uint32
	cancelled bool
}

// Kick implements dgram.Kicker.
func (c *pconn) Kick(*dgram.Socket) {
	c.l.pinbox.Kick(c)
	c.l.notify()
}

// SendDirect implements dgram.Kicker: writers send directly while the loop
// sleeps (waking it would cost a system call anyway), and hand their
// datagrams to it while it runs, to go out with others in its next
// io_uring_enter (see the package doc for the measurements).
func (c *pconn) SendDirect() bool { return c.l.sig.Sleeping() }

func (c *pconn) ud(op udOp) uint64 { return packUD(op, c.gen, c.slot) }

// AdoptPacket hands a datagram socket to one of the group's loops, which
// receives and sends for it until it is closed; the returned socket owns
// fd. It fails, leaving fd the caller's, if the loop cannot set up its
// datagram buffer ring.
func (g *Group) AdoptPacket(fd int, o dgram.Options) (*dgram.Socket, error) {
	if err := ProbePackets(); err != nil {
		return nil, err
	}
	l := g.pick()
	type result struct {
		s   *dgram.Socket
		err error
	}
	done := make(chan result, 1)
	l.post(func() {
		s, err := l.adoptPacket(fd, o)
		done <- result{s, err}
	})
	r := <-done
	return r.s, r.err
}

func (l *Loop) adoptPacket(fd int, o dgram.Options) (*dgram.Socket, error) {
	if l.dbufs == nil {
		entries, provide := buffers(l.cfg) // grown by load, as the stream ring is
		b, err := newBufRing(l.ring.Fd(), entries, dgramBufSize(l.cfg), dgramGroup, provide)
		if err != nil {
			return nil, err
		}
		l.dbufs = b
		l.dbufsStat.Store(b)
	}
	var slot uint32
	if n := len(l.freePconns); n > 0 {
		slot = l.freePconns[n-1]
		l.freePconns = l.freePconns[:n-1]
	} else {
		slot = uint32(len(l.pconns))
		l.pconns = append(l.pconns, nil)
	}
	c := &pconn{l: l, fd: fd, slot: slot, gen: l.nextGen(), ctl: o.ControlSpace()}
	c.s = dgram.New(fd, c, o)
	l.pconns[slot] = c
	l.group.acquire()
	l.stats.Conns.Add(1)
	l.updateSolo()
	l.armRecvMsg(c)
	return c.s, nil
}

func (l *Loop) pconnAt(gen, slot uint32) *pconn {
	if int(slot) < len(l.pconns) {
		if c := l.pconns[slot]; c != nil && c.gen == gen {
			return c
		}
	}
	return nil
}

// armRecvMsg arms the socket's receive unless it is armed, paused,
// starved of buffers or closing.
func (l *Loop) armRecvMsg(c *pconn) {
	if c.recvArmed || c.closing || c.starved || !c.s.RecvWanted() {
		return
	}
	flags := uint32(0)
	if c.s.Options().Unix {
		flags = unix.MSG_CMSG_CLOEXEC
	}
	// The kernel lays each datagram out in its buffer as this says: room
	// for a name and control data, no iovec.
	c.msg = unix.Msghdr{Namelen: dgramNameLen}
	c.msg.SetControllen(c.ctl)
	l.prepRecvMsg(c.fd, unsafe.Pointer(&c.msg), flags, c.ud(udRecvMsg))
	c.recvArmed, c.recvCancelled = true, false
}

func (l *Loop) cancelRecvMsg(c *pconn) {
	if c.recvArmed && !c.recvCancelled {
		l.prepCancel(c.ud(udRecvMsg))
		c.recvCancelled = true
	}
}

// completeRecvMsg handles a receive's completion: a datagram (in a
// buffer), or the end of the operation (no IORING_CQE_F_MORE), after which
// it is re-armed unless paused, starved or closing.
func (l *Loop) completeRecvMsg(c *pconn, res int32, flags uint32) {
	if flags&cqeFBuffer != 0 {
		bid := uint16(flags >> cqeBufShift)
		l.dbufs.take()
		if c != nil && res >= 0 && !c.dead {
			l.deliverDatagram(c, l.dbufs.buf(bid), int(res))
		}
		l.dbufs.recycle(bid)
	}
	if c == nil || flags&cqeFMore != 0 {
		return
	}
	c.recvArmed = false
	failed := c.failed
	c.failed = false
	switch {
	case res >= 0, res == -int32(unix.ECANCELED), res == -int32(unix.EINTR), res == -int32(unix.EAGAIN):
	case res == -int32(unix.ENOBUFS):
		l.stats.NoBufs.Add(1)
		l.dbufs.short = true
		if !c.starved {
			c.starved = true
			l.pstarved = append(l.pstarved, c)
		}
	default:
		// A socket error (ECONNREFUSED after an ICMP message...): the
		// next read or write reports it. An error twice in a row may
		// persist: receiving resumes when the user takes it (ReqResume).
		c.s.DeliverErr(syscall.Errno(-res))
		c.failed = true
	}
	if c.closing {
		l.progressClosePacket(c)
		return
	}
	if c.failed && failed {
		return
	}
	l.armRecvMsg(c)
}

// deliverDatagram hands the datagram a receive put in buf (n bytes used)
// to the socket.
func (l *Loop) deliverDatagram(c *pconn, buf []byte, n int) {
	// struct io_uring_recvmsg_out, then the name and the control data in
	// the room the msghdr gave them, then the payload.
	namelen := int(binary.NativeEndian.Uint32(buf[0:]))
	ctllen := int(binary.NativeEndian.Uint32(buf[4:]))
	payloadlen := int(binary.NativeEndian.Uint32(buf[8:]))
	mflags := int(binary.NativeEndian.Uint32(buf[12:]))
	at := recvmsgOutLen
	from := sockaddr.Parse(buf[at : at+min(namelen, dgramNameLen)])
	at += dgramNameLen
	ctl := buf[at : at+min(ctllen, c.ctl)]
	at += c.ctl
	payload := buf[at:max(n, at)]
	if payloadlen > len(payload) {
		mflags |= unix.MSG_TRUNC // cut to the buffer (the kernel says so too)
	}
	c.failed = false // an error before this one does not persist
	l.stats.DatagramsIn.Add(1)
	l.stats.BytesIn.Add(uint64(len(payload)))
	l.delivered++
	if c.s.Deliver(payload, ctl, mflags, &from) {
		// Paused at the bounds: stop the multishot receive; the reader
		// asks to resume (ReqResume) once it has drained the queue.
		l.stats.RecvPauses.Add(1)
		l.cancelRecvMsg(c)
	}
}

// servicePacket acts on the requests a datagram socket posted.
func (l *Loop) servicePacket(c *pconn) {
	req := c.s.TakeRequests()
	if c.dead {
		return
	}
	if req&dgram.ReqClose != 0 {
		c.closing = true
	}
	if req&dgram.ReqSend != 0 {
		l.startSends(c)
	}
	if req&(dgram.ReqCancel|dgram.ReqClose) != 0 {
		for _, op := range c.sends {
			if !op.cancelled && (c.closing || op.r.Abandoned()) {
				op.cancelled = true
				l.prepCancel(packUD(udSendMsg, op.gen, op.slot))
			}
		}
	}
	if req&dgram.ReqResume != 0 {
		l.armRecvMsg(c)
	}
	if c.closing {
		l.progressClosePacket(c)
	}
}

// startSends queues a SENDMSG for each datagram the socket's writers
// handed over.
func (l *Loop) startSends(c *pconn) {
	l.takeSends = c.s.TakeSends(l.takeSends[:0])
	for _, r := range l.takeSends {
		if c.closing {
			c.s.Complete(r, 0, dgram.ErrClosed)
			continue
		}
		op := l.newSendOp(c, r)
		op.msg = unix.Msghdr{}
		if to := r.To(); to != nil {
			n, err := to.Put(&op.name)
			if err != nil {
				l.freeSendOp(op)
				c.s.Complete(r, 0, err)
				continue
			}
			op.msg.Name = (*byte)(unsafe.Pointer(&op.name))
			op.msg.Namelen = n
		}
		if len(r.Buf) > 0 {
			op.iov.Base = &r.Buf[0]
			op.iov.SetLen(len(r.Buf))
			op.msg.Iov = &op.iov
			op.msg.SetIovlen(1)
		}
		if len(r.OOB) > 0 {
			op.msg.Control = &r.OOB[0]
			op.msg.SetControllen(len(r.OOB))
		}
		c.sends = append(c.sends, op)
		l.prepSendMsg(c.fd, unsafe.Pointer(&op.msg), packUD(udSendMsg, op.gen, op.slot))
	}
	clear(l.takeSends)
}

func (l *Loop) newSendOp(c *pconn, r *dgram.Send) *sendOp {
	var op *sendOp
	if n := len(l.freeSends); n > 0 {
		op = l.psends[l.freeSends[n-1]]
		l.freeSends = l.freeSends[:n-1]
	} else {
		op = &sendOp{slot: uint32(len(l.psends))}
		l.psends = append(l.psends, op)
	}
	op.c, op.r, op.gen, op.cancelled = c, r, l.nextGen(), false
	return op
}

// freeSendOp makes op's slot free; its memory is reused for a later send.
func (l *Loop) freeSendOp(op *sendOp) {
	op.c, op.r = nil, nil
	op.msg, op.iov = unix.Msghdr{}, unix.Iovec{}
	l.freeSends = append(l.freeSends, op.slot)
}

func (l *Loop) completeSendMsg(gen, slot uint32, res int32) {
	if int(slot) >= len(l.psends) {
		return
	}
	op := l.psends[slot]
	if op.c == nil || op.gen != gen {
		return
	}
	c, r := op.c, op.r
	for i, o := range c.sends {
		if o == op {
			last := len(c.sends) - 1
			c.sends[i] = c.sends[last]
			c.sends[last] = nil
			c.sends = c.sends[:last]
			break
		}
	}
	l.freeSendOp(op)
	switch {
	case res >= 0:
		l.stats.DatagramsOut.Add(1)
		c.s.Complete(r, int(res), nil)
	case res == -int32(unix.ECANCELED) && c.closing:
		c.s.Complete(r, 0, dgram.ErrClosed)
	default:
		c.s.Complete(r, 0, syscall.Errno(-res))
	}
	if c.closing {
		l.progressClosePacket(c)
	}
}

// progressClosePacket closes a closing socket once no operation refers
// to it: the receive cancelled, the sends in flight cancelled or
// completed.
func (l *Loop) progressClosePacket(c *pconn) {
	if c.dead {
		return
	}
	l.cancelRecvMsg(c)
	if c.recvArmed || len(c.sends) > 0 {
		return
	}
	c.dead = true
	if c.starved {
		for i, s := range l.pstarved {
			if s == c {
				l.pstarved = append(l.pstarved[:i], l.pstarved[i+1:]...)
				break
			}
		}
	}
	l.pconns[c.slot] = nil
	l.freePconns = append(l.freePconns, c.slot)
	// Counted out before Close returns (CloseFD lets it).
	l.stats.Conns.Add(-1)
	c.s.CloseFD()
	l.updateSolo()
	l.group.release()
}

// feedStarvedPackets re-arms receives that ran out of datagram buffers,
// no more at once than there are buffers free.
func (l *Loop) feedStarvedPackets() {
	if len(l.pstarved) == 0 {
		return
	}
	free := l.dbufs.out
	i := 0
	for ; i < len(l.pstarved) && free > 0; i++ {
		c := l.pstarved[i]
		c.starved = false
		if !c.dead {
			l.armRecvMsg(c)
			free--
		}
	}
	n := copy(l.pstarved, l.pstarved[i:])
	clear(l.pstarved[n:])
	l.pstarved = l.pstarved[:n]
}
