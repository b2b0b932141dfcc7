//go:build linux

package loop

import (
	"context"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/sockaddr"
	"github.com/ringnet/ringnet/internal/stream"
)

// connectOp is one IORING_OP_CONNECT in flight. The loop's dials table
// keeps it reachable, and with it the socket address the SQE points at,
// until its completion.
type connectOp struct {
	fd        int
	addr      unix.RawSockaddrAny
	addrLen   uint32
	slot, gen uint32
	cancelled bool
	done      chan backend.Connected // buffered: the loop never blocks on it
}

// Connect connects the non-blocking socket fd to sa with an
// IORING_OP_CONNECT on one of the group's loops, and adopts the connected
// socket on that loop. The kernel carries the whole connect, waiting for
// the handshake itself. When ctx is done first, the operation is
// cancelled through the ring and ctx.Err() is returned once its completion
// says no operation refers to fd any more; fd is then still the caller's.
func (g *Group) Connect(ctx context.Context, fd int, sa syscall.Sockaddr) (*stream.Stream, error) {
	op := &connectOp{fd: fd, done: make(chan backend.Connected, 1)}
	if err := op.setAddr(sa); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := g.pick()
	l.post(func() { l.startConnect(op) })
	return backend.AwaitConnect(ctx, op.done, func() { l.post(func() { l.cancelConnect(op) }) })
}

// setAddr writes sa in the kernel's layout.
func (op *connectOp) setAddr(sa syscall.Sockaddr) error {
	n, err := sockaddr.PutSockaddr(sa, &op.addr)
	op.addrLen = n
	return err
}

func (l *Loop) startConnect(op *connectOp) {
	if n := len(l.freeDials); n > 0 {
		op.slot = l.freeDials[n-1]
		l.freeDials = l.freeDials[:n-1]
	} else {
		op.slot = uint32(len(l.dials))
		l.dials = append(l.dials, nil)
	}
	op.gen = l.nextGen()
	l.dials[op.slot] = op
	l.stats.Connects.Add(1)
	l.prepConnect(op.fd, unsafe.Pointer(&op.addr), op.addrLen, packUD(udConnect, op.gen, op.slot))
}

func (l *Loop) dialEntry(gen, slot uint32) *connectOp {
	if int(slot) < len(l.dials) && l.dials[slot] != nil && l.dials[slot].gen == gen {
		return l.dials[slot]
	}
	return nil
}

func (l *Loop) cancelConnect(op *connectOp) {
	if l.dialEntry(op.gen, op.slot) != op || op.cancelled {
		return // completed already: its result is on its way
	}
	op.cancelled = true
	l.prepCancel(packUD(udConnect, op.gen, op.slot))
}

func (l *Loop) completeConnect(gen, slot uint32, res int32) {
	op := l.dialEntry(gen, slot)
	if op == nil {
		return
	}
	l.dials[slot] = nil
	l.freeDials = append(l.freeDials, slot)
	if res < 0 {
		op.done <- backend.Connected{Err: syscall.Errno(-res)}
		return
	}
	op.done <- backend.Connected{Stream: l.adopt(op.fd)}
}
