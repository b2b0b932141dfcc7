//go:build linux

package stream

import "golang.org/x/sys/unix"

// spliceChunk bounds one splice from the source socket into the pipe.
const spliceChunk = 1 << 20

// spliceFrom moves up to n bytes (n < 0: to the end) from stream socket src
// to the stream's socket through a pipe with splice(2) on the calling
// goroutine, never through user space. When src has nothing to read it
// returns EAGAIN with the pipe empty, and the caller waits for src to
// become readable (the net package does, honouring src's read deadline) and
// calls again. When the stream's socket is full it calls waitWritable (the
// backend's wait for room, which ends with the write deadline or Close).
// moved is told the bytes of every splice out. Bytes still in the pipe when
// the write deadline or Close ends the transfer are lost with the error, as
// with net's splice. The caller holds LockSend.
func (s *Stream) spliceFrom(src int, n int64, waitWritable func() error, moved func(int)) (written int64, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return 0, err
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	const flags = unix.SPLICE_F_NONBLOCK | unix.SPLICE_F_MOVE
	for n != 0 {
		chunk := spliceChunk
		if n > 0 && n < int64(chunk) {
			chunk = int(n)
		}
		k, err := unix.Splice(src, nil, p[1], nil, chunk, flags)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return written, err // the pipe is empty
		case err != nil:
			return written, &SourceError{Err: err}
		case k == 0:
			return written, nil // end of stream
		}
		for inPipe := int(k); inPipe > 0; {
			var m int64
			var serr error
			if err := s.WithFD(func(sfd int) error {
				m, serr = unix.Splice(p[0], nil, sfd, nil, inPipe, flags)
				return nil
			}); err != nil {
				return written, err
			}
			if m > 0 {
				moved(int(m))
				inPipe -= int(m)
				written += m
				if n > 0 {
					n -= m
				}
			}
			switch serr {
			case nil, unix.EINTR:
			case unix.EAGAIN:
				if err := waitWritable(); err != nil {
					return written, err
				}
			default:
				return written, serr
			}
		}
	}
	return written, nil
}
