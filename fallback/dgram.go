//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/dgram"
)

// pconn is the loop's side of one datagram socket.
type pconn struct {
	l  *Loop
	s  *dgram.Socket
	fd int

	registered bool
	sends      []*dgram.Send // taken from the socket, not yet sent
	sendWait   bool          // a send hit EAGAIN: wait for the writable edge
	rerun      bool          // queued on the loop's rerun list
	dead       bool
}

// Kick implements dgram.Kicker.
func (c *pconn) Kick(*dgram.Socket) {
	c.l.pinbox.Kick(c)
	c.l.notify()
}

// SendDirect implements dgram.Kicker: writers always try one non-blocking
// sendmsg(2) themselves, as the standard library does; the loop sends only
// what met a full socket, when it has room again.
func (c *pconn) SendDirect() bool { return true }

// AdoptPacket hands a datagram socket to one of the group's loops, which
// watches it for as long as it is open; the returned socket owns fd, and
// holds a reference on g until the loop closes fd.
func (g *Group) AdoptPacket(fd int, o dgram.Options) (*dgram.Socket, error) {
	_ = unix.SetNonblock(fd, true)
	setNoSigpipe(fd)
	l := g.pick()
	c := &pconn{l: l, fd: fd}
	c.s = dgram.New(fd, c, o)
	g.acquire()
	errc := make(chan error, 1)
	l.post(func() { errc <- l.registerPacket(c) })
	if err := <-errc; err != nil {
		g.release()
		return nil, err
	}
	return c.s, nil
}

// registerPacket adds c to the loop's poller. The edge-triggered
// registration reports datagrams already waiting at once.
func (l *Loop) registerPacket(c *pconn) error {
	if err := l.p.addConn(c.fd); err != nil {
		return os.NewSyscallError(ctlName, err)
	}
	if l.pio == nil {
		l.pio = newPacketIO(l.cfg)
	}
	c.registered = true
	l.setEntry(c.fd, entry{p: c})
	l.stats.Conns.Add(1)
	l.updateSolo()
	return nil
}

// servicePacket acts on the requests a datagram socket posted.
func (l *Loop) servicePacket(c *pconn) {
	req := c.s.TakeRequests()
	if c.dead {
		return
	}
	if req&dgram.ReqClose != 0 {
		l.closePacket(c)
		return
	}
	if req&dgram.ReqCancel != 0 {
		c.cancelAbandoned()
	}
	if req&dgram.ReqSend != 0 {
		c.sends = c.s.TakeSends(c.sends)
		// Not waiting for an edge: the one that announced room may have
		// come before these sends did.
		l.sendPackets(c)
	}
	if req&dgram.ReqResume != 0 {
		// Edge-triggered: the datagrams left in the socket raise no new
		// event, so read them now.
		l.recvPackets(c)
	}
}

// cancelAbandoned completes the sends whose writers gave up, which the
// loop holds because the socket was full.
func (c *pconn) cancelAbandoned() {
	kept := c.sends[:0]
	for _, r := range c.sends {
		if r.Abandoned() {
			c.s.Complete(r, 0, syscall.ECANCELED)
		} else {
			kept = append(kept, r)
		}
	}
	clear(c.sends[len(kept):])
	c.sends = kept
}

func (l *Loop) packetEvent(c *pconn, ev uint32) {
	if c.dead {
		return
	}
	if ev&(evIn|evErr|evRdHup) != 0 {
		l.recvPackets(c)
	}
	if c.sendWait && ev&(evOut|evErr) != 0 {
		c.sendWait = false
		l.sendPackets(c)
	}
}

// recvPackets receives batches of datagrams until the socket is empty,
// the queue is full or the budget is spent.
func (l *Loop) recvPackets(c *pconn) {
	if !c.s.RecvWanted() {
		return // paused: the reader asks to resume (ReqResume) when it has drained the queue
	}
	unixSock := c.s.Options().Unix
	failed := false
	for i := 0; i < readBudget; i++ {
		n, err := l.pio.recv(c.fd, unixSock)
		switch err {
		case nil:
			failed = false
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return
		default:
			// A socket error (ECONNREFUSED from an ICMP message on a
			// connected socket...): the reader or writer learns of it,
			// and what follows it in the socket is read on (no new edge
			// would announce it). An error twice in a row may persist:
			// reading resumes when the user takes it (ReqResume).
			c.s.DeliverErr(toErrno(err))
			if failed {
				return
			}
			failed = true
			continue
		}
		for k := range n {
			payload, ctl, flags, from := l.pio.received(k)
			l.stats.DatagramsIn.Add(1)
			l.stats.BytesIn.Add(uint64(len(payload)))
			if c.s.Deliver(payload, ctl, flags, from) {
				l.stats.RecvPauses.Add(1)
				// What the batch holds past this one is still delivered
				// (the queue bounds are soft by a batch); then stop.
				for k++; k < n; k++ {
					payload, ctl, flags, from := l.pio.received(k)
					l.stats.DatagramsIn.Add(1)
					l.stats.BytesIn.Add(uint64(len(payload)))
					c.s.Deliver(payload, ctl, flags, from)
				}
				return
			}
		}
		if n < l.pio.batch() {
			return // drained: datagrams arriving later raise a new edge
		}
	}
	l.queuePacketRerun(c)
}

func (l *Loop) queuePacketRerun(c *pconn) {
	if !c.rerun {
		c.rerun = true
		l.rerun = append(l.rerun, rerun{p: c})
	}
}

// sendPackets sends the datagrams the loop holds for c, in batches, until
// they are all sent or the socket is full (then it waits for the writable
// edge).
func (l *Loop) sendPackets(c *pconn) {
	for len(c.sends) > 0 && !c.sendWait {
		k, err := l.pio.send(c.fd, c.sends)
		for i, r := range c.sends[:k] {
			l.stats.DatagramsOut.Add(1)
			c.s.Complete(r, l.pio.sentLen(i), nil)
		}
		done := k
		switch err {
		case nil:
		case unix.EINTR:
		case unix.EAGAIN:
			c.sendWait = true
		default:
			// The first unsent datagram failed: its writer gets the
			// error; the others are tried again.
			c.s.Complete(c.sends[k], 0, toErrno(err))
			done++
		}
		n := copy(c.sends, c.sends[done:])
		clear(c.sends[n:])
		c.sends = c.sends[:n]
	}
}

// closePacket completes what the loop holds, removes the socket from the
// poller and closes it.
func (l *Loop) closePacket(c *pconn) {
	c.dead = true
	for _, r := range c.sends {
		c.s.Complete(r, 0, dgram.ErrClosed)
	}
	clear(c.sends)
	c.sends = nil
	if c.registered {
		l.p.del(c.fd)
		l.ents[c.fd] = entry{}
	}
	// Counted out before Close returns (CloseFD lets it), so that a
	// caller sees the loop own no more than it does.
	l.stats.Conns.Add(-1)
	c.s.CloseFD()
	l.updateSolo()
	l.group.release()
}
