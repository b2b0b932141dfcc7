//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sendfileChunk bounds one sendfile(2) call, so that a deadline or Close
// is looked at between calls.
const sendfileChunk = 4 << 20

// SendFile implements backend.FileSender with sendfile(2) from the
// caller's goroutine; when the socket is full it waits for the writable
// edge through the loop, so no thread is held meanwhile. The file offset
// is passed explicitly (the BSDs' sendfile neither takes nor advances the
// file's own) and left just past the bytes sent. From a stream socket it
// splices on Linux (see spliceFrom); other kinds of src get EINVAL: the
// caller then copies.
func (c *conn) SendFile(src int, n int64) (written int64, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return 0, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFSOCK:
		return c.spliceFrom(src, n)
	default:
		return 0, unix.EINVAL
	}
	off, err := unix.Seek(src, 0, io.SeekCurrent)
	if err != nil {
		return 0, unix.EINVAL
	}
	defer func() {
		if _, serr := unix.Seek(src, off, io.SeekStart); serr != nil && err == nil {
			err = os.NewSyscallError("lseek", serr)
		}
	}()
	for n != 0 {
		chunk := sendfileChunk
		if n > 0 && n < int64(chunk) {
			chunk = int(n)
		}
		var k int
		var serr error
		if err := c.s.WithFD(func(sfd int) error {
			o := off // Linux advances o; the BSDs do not
			k, serr = unix.Sendfile(sfd, src, &o, chunk)
			return nil
		}); err != nil {
			return written, err
		}
		if k > 0 {
			c.l.stats.ZeroCopyBytes.Add(uint64(k))
			off += int64(k)
			written += int64(k)
			if n > 0 {
				n -= int64(k)
			}
		}
		switch serr {
		case nil:
			if k == 0 {
				return written, nil // end of file
			}
		case unix.EINTR:
		case unix.EAGAIN:
			if err := c.waitWritable(); err != nil {
				return written, err
			}
		default:
			return written, serr
		}
	}
	return written, nil
}

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
