//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"context"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/stream"
)

// dialOp is one connect waiting for its socket to become writable.
type dialOp struct {
	fd   int
	done chan backend.Connected // buffered: the loop never blocks on it
}

// Connect connects the non-blocking socket fd to sa. The caller starts
// the connect; when it is in progress, one of the group's loops watches
// the socket for the writable edge that ends it, reads its outcome with
// SO_ERROR and adopts the connected socket. When ctx is done first, the
// loop stops watching and ctx.Err() is returned; fd is then still the
// caller's.
func (g *Group) Connect(ctx context.Context, fd int, sa syscall.Sockaddr) (*stream.Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch err := syscall.Connect(fd, sa); err {
	case nil:
		return g.Adopt(fd), nil
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		// In progress: the writable edge ends it.
	default:
		return nil, err
	}
	op := &dialOp{fd: fd, done: make(chan backend.Connected, 1)}
	l := g.pick()
	l.post(func() { l.startConnect(op) })
	return backend.AwaitConnect(ctx, op.done, func() { l.post(func() { l.cancelConnect(op) }) })
}

func (l *Loop) startConnect(op *dialOp) {
	l.stats.Connects.Add(1)
	if err := l.p.addWriter(op.fd); err != nil {
		op.done <- backend.Connected{Err: toErrno(err)}
		return
	}
	// The edge-triggered registration reports a connect that is already
	// over at once.
	l.setEntry(op.fd, entry{dial: op})
}

// connectEvent reads the outcome of a connect whose socket reported
// writable (or an error).
func (l *Loop) connectEvent(op *dialOp) {
	soErr, err := unix.GetsockoptInt(op.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil {
		err = syscall.Errno(soErr)
	}
	switch err {
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		return // not over yet: wait for the next edge
	}
	l.endConnect(op)
	if err != syscall.Errno(0) {
		op.done <- backend.Connected{Err: toErrno(err)}
		return
	}
	l.group.acquire() // the connection's reference
	c := l.newConn(op.fd)
	l.register(c)
	op.done <- backend.Connected{Stream: c.s}
}

func (l *Loop) cancelConnect(op *dialOp) {
	if op.fd < len(l.ents) && l.ents[op.fd].dial == op {
		l.endConnect(op)
		op.done <- backend.Connected{Err: syscall.ECANCELED}
	}
}

// endConnect stops watching a connecting socket.
func (l *Loop) endConnect(op *dialOp) {
	l.p.del(op.fd)
	l.ents[op.fd] = entry{}
}
