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
