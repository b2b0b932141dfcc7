//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// SendFile implements backend.FileSender with stream.SendFrom: sendfile(2)
// from a regular file, splice(2) from a stream socket on Linux, both on the
// caller's goroutine; when the socket is full it waits for the writable
// edge through the loop, so no thread is held meanwhile.
func (c *conn) SendFile(src int, n int64) (int64, error) {
	return c.s.SendFrom(src, n, c.waitWritable, c.moved)
}

// moved counts bytes sent without passing through user space.
func (c *conn) moved(n int) { c.l.stats.ZeroCopyBytes.Add(uint64(n)) }

// waitWritable waits for the socket's writable edge, the write deadline
// or Close.
func (c *conn) waitWritable() error {
	ch := make(chan struct{})
	l := c.l
	l.post(func() { l.watchWritable(c, ch) })
	return c.s.WaitSend(ch)
}

// watchWritable closes ch at the socket's next writable edge, or at once
// if it is writable now (the edge may have come before the watch).
func (l *Loop) watchWritable(c *conn, ch chan struct{}) {
	if c.dead || !c.registered || writableNow(c.fd) {
		close(ch)
		return
	}
	if c.writable != nil {
		close(c.writable) // a waiter that gave up; it is not waiting
	}
	c.writable = ch
}

// wakeWritable releases a SendFile waiting for the writable edge.
func (c *conn) wakeWritable() {
	if c.writable != nil {
		close(c.writable)
		c.writable = nil
	}
}

func writableNow(fd int) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		n, err := unix.Poll(p, 0)
		if err == syscall.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}
