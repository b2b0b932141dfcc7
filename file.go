//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// File returns a duplicate of the connection's socket that the caller
// owns, as net.TCPConn.File does. Closing one does not affect the other.
//
// Bytes that earlier Writes queued are sent first (File waits for them,
// and for a Write in progress, under the write deadline), so that what the
// caller then writes to the duplicate follows them, as it would follow
// net's Writes: a connection handed to another process continues where
// this one stopped. After CloseWrite, the socket is shut down once they
// are out, as net's would be already. A File taken while a peer that reads
// nothing holds up a Write waits as that Write does. Bytes already
// received into the connection's queue can only be read through Read.
func (c *Conn) File() (*os.File, error) {
	c.s.NoteRawAccess()
	if held, _ := c.holdSend(); held {
		c.s.UnlockSend(nil)
	}
	fd := -1
	err := c.s.WithFD(func(sfd int) error {
		var e error
		fd, e = unix.FcntlInt(uintptr(sfd), unix.F_DUPFD_CLOEXEC, 0)
		return e
	})
	if err != nil {
		if errno, ok := err.(syscall.Errno); ok {
			err = os.NewSyscallError("dupfd", errno)
		}
		return nil, c.opErr("file", err)
	}
	c.s.NoteShared()
	return os.NewFile(uintptr(fd), "ringnet-conn"), nil
}

// SetKeepAliveConfig configures keep-alive probes as
// net.TCPConn.SetKeepAliveConfig does: it turns them on or off as Enable
// says and sets Idle, Interval and Count either way, a zero field to its
// default (15 s, 15 s, 9 probes), leaving a negative one unchanged.
func (c *Conn) SetKeepAliveConfig(config net.KeepAliveConfig) error {
	if err := c.SetKeepAlive(config.Enable); err != nil {
		return err
	}
	if err := c.setKeepAliveSecs(tcpKeepIdle, config.Idle, defaultKeepAliveIdle); err != nil {
		return err
	}
	if err := c.setKeepAliveSecs(unix.TCP_KEEPINTVL, config.Interval, defaultKeepAliveInterval); err != nil {
		return err
	}
	switch {
	case config.Count == 0:
		return c.setsockopt(unix.IPPROTO_TCP, unix.TCP_KEEPCNT, defaultKeepAliveCount)
	case config.Count > 0:
		return c.setsockopt(unix.IPPROTO_TCP, unix.TCP_KEEPCNT, config.Count)
	}
	return nil
}

// File returns a duplicate of the listening socket that the caller owns.
func (l *Listener) File() (*os.File, error) {
	var dup int
	err := l.ln.WithFD(func(fd int) error {
		var err error
		dup, err = unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return os.NewSyscallError("dupfd", err)
		}
		return nil
	})
	if err != nil {
		return nil, l.opErr("file", err)
	}
	return os.NewFile(uintptr(dup), "ringnet-listener"), nil
}

// SyscallConn returns a raw connection for socket options on the
// listening socket. Only its Control works: as with net's listeners, Read
// and Write return syscall.EINVAL (here the loops own the socket's
// readiness).
func (l *Listener) SyscallConn() (syscall.RawConn, error) {
	return listenerRaw{l}, nil
}

type listenerRaw struct{ l *Listener }

func (r listenerRaw) Control(f func(fd uintptr)) error {
	err := r.l.ln.WithFD(func(fd int) error { f(uintptr(fd)); return nil })
	if err != nil {
		return r.l.opErr("raw-control", err)
	}
	return nil
}

func (r listenerRaw) Read(func(fd uintptr) bool) error  { return syscall.EINVAL }
func (r listenerRaw) Write(func(fd uintptr) bool) error { return syscall.EINVAL }

// FileListener returns a listener on a copy of the listening socket f, as
// net.FileListener does, so that a socket inherited from systemd socket
// activation or a graceful-restart parent is served by the loops. The
// caller still owns f.
func FileListener(f *os.File) (net.Listener, error) {
	nl, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	network := nl.Addr().Network()
	b, err := pickBackend("")
	if err != nil || b == nil || !servedNetwork(network) {
		if err != nil {
			nl.Close()
			return nil, &net.OpError{Op: "file", Net: network, Addr: nl.Addr(), Err: err}
		}
		return nl, nil
	}
	addr := nl.Addr()
	ln, err := serveListener(nl, network, b, config{}, opts{userOptions: true})
	if err != nil {
		return nil, &net.OpError{Op: "file", Net: network, Addr: addr, Err: err}
	}
	return ln, nil
}

// FileConn returns a connection on a copy of the connected socket f, as
// net.FileConn does. The caller still owns f.
func FileConn(f *os.File) (net.Conn, error) {
	nc, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	network := nc.LocalAddr().Network()
	laddr, raddr := nc.LocalAddr(), nc.RemoteAddr()
	b, err := pickBackend("")
	if err != nil || b == nil || !servedNetwork(network) {
		if err != nil {
			nc.Close()
			return nil, &net.OpError{Op: "file", Net: network, Source: laddr, Addr: raddr, Err: err}
		}
		return nc, nil
	}
	c, err := serveConn(nc, network, b, config{})
	if err != nil {
		return nil, &net.OpError{Op: "file", Net: network, Source: laddr, Addr: raddr, Err: err}
	}
	c.(*Conn).s.NoteRawAccess() // its options are whatever its maker set
	c.(*Conn).s.NoteShared()    // f is the caller's, still open
	return c, nil
}
