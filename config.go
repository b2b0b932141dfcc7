//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
)

// serveListener moves a listener made by the net package onto backend b:
// a duplicate of its socket goes to the loops, and sl is closed.
func serveListener(sl net.Listener, network string, b *backend.Backend, cfg config, o opts) (net.Listener, error) {
	addr := sl.Addr()
	path := "" // a Unix socket's file
	if ul, ok := sl.(*net.UnixListener); ok {
		// The path is removed by our Close, not by net's below.
		ul.SetUnlinkOnClose(false)
		if name := addr.String(); name != "" && name[0] != '@' {
			path = name
		}
	}
	// A Listen that fails from here on removes the file its socket made,
	// as net's failed Listen leaves none.
	removeFile := func() {
		if o.unlink && path != "" {
			_ = os.Remove(path)
		}
	}
	fd, err := dupFD(sl.(syscall.Conn))
	_ = sl.Close()
	if err != nil {
		removeFile()
		return nil, err
	}
	g, err := b.Acquire(cfg.backendConfig())
	if err != nil {
		_ = unix.Close(fd)
		removeFile()
		return nil, err
	}
	ln := &Listener{ln: g.Listen(fd), addr: addr, network: network, keepAlive: o.keepAlive, keepAliveConfig: o.keepAliveConfig, path: path,
		userOptions: o.userOptions}
	ln.unlink.Store(o.unlink)
	g.Release()
	return ln, nil
}

// serveConn moves a connection made by the net package onto backend b: a
// duplicate of its socket goes to a loop, and nc is closed.
func serveConn(nc net.Conn, network string, b *backend.Backend, cfg config) (net.Conn, error) {
	fd, err := dupFD(nc.(syscall.Conn))
	nc.Close()
	if err != nil {
		return nil, err
	}
	g, err := b.Acquire(cfg.backendConfig())
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	c := newConn(g.Adopt(fd), network, nil)
	g.Release()
	return c, nil
}

// dupFD returns a close-on-exec duplicate of c's socket.
func dupFD(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("fcntl", derr)
	}
	return fd, nil
}
