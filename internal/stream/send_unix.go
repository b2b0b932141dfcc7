//go:build unix

package stream

import "golang.org/x/sys/unix"

// sendNonblock sends as much of b as the socket takes without blocking. A
// full socket is not an error: it returns the count sent so far. An empty
// b still makes one send, which reports a broken connection.
func sendNonblock(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		_, err := sendOnce(fd, b)
		if err == unix.EAGAIN || err == unix.EINTR {
			err = nil
		}
		return 0, err
	}
	n := 0
	for n < len(b) {
		k, err := sendOnce(fd, b[n:])
		switch err {
		case nil:
			n += k
		case unix.EINTR:
		case unix.EAGAIN:
			return n, nil
		default:
			return n, err
		}
	}
	return n, nil
}

// peerGone reports whether the connection is already broken: poll(2)
// says POLLHUP, as for a TCP socket reset or otherwise closed, or a Unix
// socket whose peer has gone. Unlike a send or SO_ERROR, poll leaves the
// socket's pending error to the Read or Write that would see it under net.
func (s *Stream) peerGone() bool {
	hup := false
	_ = s.WithFD(func(fd int) error {
		p := []unix.PollFd{{Fd: int32(fd)}}
		for {
			n, err := unix.Poll(p, 0)
			if err != unix.EINTR {
				hup = err == nil && n > 0 && p[0].Revents&unix.POLLHUP != 0
				return nil
			}
		}
	})
	return hup
}
