//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
)

// ReadFrom implements io.ReaderFrom. From an *os.File (or an
// io.LimitedReader around one, or the wrapper os.File.WriteTo hands to
// io.Copy) the bytes go from the page cache to the socket without passing
// through user space, after the bytes already written: on io_uring the
// loop splices them through a pipe with IORING_OP_SPLICE, which also
// serves a *net.TCPConn or *net.UnixConn source; on the poll backend the
// caller's goroutine uses sendfile(2) and waits for the writable edge
// through the loop. From any other reader it copies through Write.
// Deadlines and Close apply as to Write.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	f, remain := fileOf(r)
	if f == nil {
		return io.Copy(writerOnly{c}, r)
	}
	n, err, handled := c.sendFile(f, remain)
	if lr, ok := r.(*io.LimitedReader); ok {
		lr.N -= n
	}
	if !handled {
		// Not a file sendfile can read (a pipe, a directory...): copy.
		m, err := io.Copy(writerOnly{c}, r)
		return n + m, err
	}
	if err != nil {
		return n, c.opErr("readfrom", err)
	}
	return n, nil
}

// writerOnly hides ReadFrom from io.Copy so it does not recurse.
type writerOnly struct{ io.Writer }

// rawFile is a reader with a file descriptor: an *os.File or a
// *net.TCPConn / *net.UnixConn, or a wrapper that embeds one
// (io.Copy(conn, file) reaches ReadFrom through os.File.WriteTo, and
// io.Copy(conn, tcpConn) through net.TCPConn.WriteTo, each of which wraps
// its source to hide its WriteTo).
type rawFile interface {
	io.Reader
	SyscallConn() (syscall.RawConn, error)
}

// fileOf returns the file under r and how many bytes to take from it
// (-1: to the end).
func fileOf(r io.Reader) (rawFile, int64) {
	remain := int64(-1)
	if lr, ok := r.(*io.LimitedReader); ok {
		remain, r = lr.N, lr.R
		if remain <= 0 {
			return nil, 0
		}
	}
	if _, ok := r.(*Conn); ok {
		// A ringnet Conn's bytes arrive through its loop: reading its
		// fd here would race with the loop's receive.
		return nil, 0
	}
	f, _ := r.(rawFile)
	return f, remain
}

// sendFile has the backend send remain bytes (-1: to the end) of f from
// its current offset, which it advances past them. handled is false if
// the backend cannot read f and nothing was sent.
func (c *Conn) sendFile(f rawFile, remain int64) (written int64, err error, handled bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	fs, ok := c.s.Kicker().(backend.FileSender)
	if !ok {
		return 0, nil, false
	}
	if err := c.s.LockSend(); err != nil {
		return 0, err, true
	}
	var sendErr error
	defer func() { c.s.UnlockSend(sendErr) }()
	// The backend moves the bytes: io_uring splices them on the ring (from
	// a regular file or a stream socket); poll uses sendfile(2) from a
	// regular file and splice(2) from a socket.
	var serr error
	cerr := rc.Read(func(ffd uintptr) bool {
		n, err := fs.SendFile(int(ffd), remain)
		written += n
		if remain > 0 {
			remain -= n
		}
		serr = err
		// EAGAIN: a source socket has nothing to read yet. Returning
		// false makes its net package wait until it is readable (under
		// its read deadline) and call again.
		return err != unix.EAGAIN || remain == 0
	})
	switch {
	case cerr != nil:
		return written, cerr, true
	case (serr == unix.EINVAL || serr == unix.ENOSYS) && written == 0:
		return 0, nil, false
	}
	if errno, ok := serr.(syscall.Errno); ok && errno != 0 {
		sendErr = errno
	}
	return written, serr, true
}

// WriteTo implements io.WriterTo: it copies from the connection to w until
// the end of the stream.
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, readerOnly{c})
}

// readerOnly hides WriteTo from io.Copy so it does not recurse.
type readerOnly struct{ io.Reader }
