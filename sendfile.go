//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/stream"
)

// ReadFrom implements io.ReaderFrom. From an *os.File (or an
// io.LimitedReader around one, or the wrapper os.File.WriteTo hands to
// io.Copy) the bytes go from the page cache to the socket without passing
// through user space, after the bytes already written: on io_uring the
// loop splices them through a pipe with IORING_OP_SPLICE, which also
// serves a *net.TCPConn or *net.UnixConn source; on the poll backend the
// caller's goroutine uses sendfile(2) and waits for the writable edge
// through the loop. From any other reader it copies through Write.
// Deadlines and Close apply as to Write, and errors are those of
// net.TCPConn's ReadFrom: an *net.OpError with Op "readfrom".
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	n, err := c.readFrom(r)
	if err != nil && err != io.EOF {
		err = c.wrapErr("readfrom", err)
	}
	return n, err
}

func (c *Conn) readFrom(r io.Reader) (int64, error) {
	if f, remain := fileOf(r); f != nil {
		n, err, handled := c.sendFile(f, remain)
		if lr, ok := r.(*io.LimitedReader); ok {
			lr.N -= n
		}
		if handled {
			return n, err
		}
		// Not a file sendfile can read (a pipe, a directory...): copy.
	}
	return io.Copy(writerOnly{c}, r)
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
// the backend cannot read f and nothing was sent. Its errors read as
// those of net.TCPConn's ReadFrom under its OpError: a failed system call
// is named after the one the standard library would have made (splice
// from a socket, sendfile from a file), whatever the backend used.
func (c *Conn) sendFile(f rawFile, remain int64) (written int64, err error, handled bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	fs, ok := c.s.Kicker().(backend.FileSender)
	if !ok {
		return 0, nil, false
	}
	syscallName := "sendfile"
	if _, ok := f.(interface{ LocalAddr() net.Addr }); ok {
		syscallName = "splice"
	}
	// The send side is held only while bytes move (as net holds its
	// write lock only to pump the pipe out): a source socket with nothing
	// to read yet is waited for without it, so that Writes (a proxy's
	// heartbeat, say) are not held up meanwhile.
	var lockErr, serr error
	// The backend moves the bytes on the caller's goroutine: sendfile(2)
	// from a regular file, splice(2) from a socket.
	cerr := rc.Read(func(ffd uintptr) bool {
		if lockErr = c.s.LockSend(false); lockErr != nil {
			return true
		}
		n, err := fs.SendFile(int(ffd), remain)
		written += n
		if remain > 0 {
			remain -= n
		}
		serr = err
		c.s.UnlockSend(sendFailure(err, written))
		// EAGAIN: a source socket has nothing to read yet. Returning
		// false makes its net package wait until it is readable (under
		// its read deadline) and call again.
		return err != unix.EAGAIN || remain == 0
	})
	switch {
	case lockErr != nil:
		if syscallName == "sendfile" && written == 0 && (lockErr == stream.ErrClosed || lockErr == os.ErrDeadlineExceeded) {
			// The standard library's sendfile gives up on a closed
			// connection or a passed write deadline before it starts,
			// and its copy through Write then fails with Write's error.
			return 0, c.opErr("write", lockErr), true
		}
		return written, netErr(syscallName, lockErr), true
	case cerr != nil:
		// The source's own error (closed, past its read deadline), which
		// its RawConn wraps as a "raw-read" OpError; the standard
		// library's splice returns it bare.
		var oe *net.OpError
		if errors.As(cerr, &oe) && oe.Op == "raw-read" {
			cerr = oe.Err
		}
		return written, cerr, true
	case cannotSendFrom(serr, written):
		return 0, nil, false
	}
	var se *stream.SourceError
	if errors.As(serr, &se) {
		serr = se.Err
	}
	return written, netErr(syscallName, serr), true
}

// sendFailure is what a SendFile error means for the connection's later
// Writes: a failed send on its socket fails them, as with net; nothing
// else does (a source that could not be read, a source with nothing yet,
// a source the backend cannot send from, which the caller then copies).
func sendFailure(err error, written int64) error {
	errno, ok := err.(syscall.Errno)
	if !ok || errno == 0 || errno == unix.EAGAIN || cannotSendFrom(err, written) {
		return nil
	}
	return errno
}

// cannotSendFrom reports that the backend could not send from the source
// at all (nothing sent, EINVAL or ENOSYS): the caller copies instead.
func cannotSendFrom(err error, written int64) bool {
	return written == 0 && (err == unix.EINVAL || err == unix.ENOSYS)
}

// WriteTo implements io.WriterTo: it copies from the connection to w until
// the end of the stream. Errors are those of net.TCPConn's WriteTo: an
// *net.OpError with Op "writeto" around the Read's or w's error.
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	n, err := io.Copy(w, readerOnly{c})
	if err != nil && err != io.EOF {
		err = c.wrapErr("writeto", err)
	}
	return n, err
}

// readerOnly hides WriteTo from io.Copy so it does not recurse.
type readerOnly struct{ io.Reader }
