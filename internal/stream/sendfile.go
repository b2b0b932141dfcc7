//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package stream

import (
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// SourceError is SendFrom's report that reading its source failed (a
// source socket reset by its peer, say). The stream's own socket is fine:
// unlike a failed send, it does not fail the stream's later Writes.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return e.Err.Error() }

// Unwrap returns the source's error.
func (e *SourceError) Unwrap() error { return e.Err }

// sendfileChunk bounds one sendfile(2) call, so that the write deadline
// and Close are looked at between calls.
const sendfileChunk = 4 << 20

// SendFrom sends n bytes (n < 0: to the end) of src to the stream's socket
// on the calling goroutine without passing them through user space: from a
// regular file with sendfile(2) (sendFileFrom), from a stream socket with
// splice(2) (spliceFrom, Linux only). Other kinds of src get EINVAL, and
// the caller copies. When the socket is full it calls waitWritable (the backend's
// wait for room, which ends with the write deadline or Close); moved is
// told the bytes of every call. The caller holds LockSend.
func (s *Stream) SendFrom(src int, n int64, waitWritable func() error, moved func(int)) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return 0, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return s.sendFileFrom(src, n, waitWritable, moved)
	case unix.S_IFSOCK:
		return s.spliceFrom(src, n, waitWritable, moved)
	default:
		return 0, unix.EINVAL
	}
}

// sendFileFrom sends n bytes (n < 0: to the end) of regular file src, from
// its offset, to the stream's socket with sendfile(2) on the calling
// goroutine, and leaves the file offset just past the bytes sent. When the
// socket is full it calls waitWritable (the backend's wait for room, which
// ends with the write deadline or Close) and goes on. moved is told the
// bytes of every call. The caller holds LockSend.
func (s *Stream) sendFileFrom(src int, n int64, waitWritable func() error, moved func(int)) (written int64, err error) {
	// Linux's sendfile reads from the file's own offset and advances it
	// (a nil offset). The BSDs' neither takes nor advances it: pass it
	// explicitly, and set the file's at the end.
	var off *int64
	if runtime.GOOS != "linux" {
		o, err := unix.Seek(src, 0, io.SeekCurrent)
		if err != nil {
			return 0, unix.EINVAL
		}
		off = &o
		defer func() {
			if _, serr := unix.Seek(src, *off, io.SeekStart); serr != nil && err == nil {
				err = os.NewSyscallError("lseek", serr)
			}
		}()
	}
	for n != 0 {
		chunk := sendfileChunk
		if n > 0 && n < int64(chunk) {
			chunk = int(n)
		}
		var k int
		var serr error
		if err := s.WithFD(func(sfd int) error {
			if off == nil {
				k, serr = unix.Sendfile(sfd, src, nil, chunk)
				return nil
			}
			o := *off // advanced below: the BSDs do not
			k, serr = unix.Sendfile(sfd, src, &o, chunk)
			return nil
		}); err != nil {
			return written, err
		}
		if k > 0 {
			moved(k)
			if off != nil {
				*off += int64(k)
			}
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
			if err := waitWritable(); err != nil {
				return written, err
			}
		default:
			return written, serr
		}
	}
	return written, nil
}
