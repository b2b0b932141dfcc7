//go:build unix

package stream

import "golang.org/x/sys/unix"

// lingerOf reads fd's SO_LINGER as net.TCPConn.SetLinger's sec (-1: off).
func lingerOf(fd int) (sec int, ok bool) {
	l, err := unix.GetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER)
	if err != nil {
		return 0, false
	}
	if l.Onoff == 0 {
		return -1, true
	}
	return int(l.Linger), true
}

// CloseFD is the loop's last act on the stream's socket: it takes the fd
// back (releaseFD) and closes it as net would have. Unread bytes make it
// reset the connection, as the kernel does when net closes such a socket.
// After SetLinger with a positive time close(2) blocks until the bytes
// are sent or the time is up: that close runs on a goroutine of its own,
// so that the loop goes on serving its other connections.
func (s *Stream) CloseFD() {
	fd, reset := s.releaseFD()
	switch {
	case reset:
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
	case s.lingerMode.Load() == lingerBlocking:
		go func() { _ = unix.Close(fd) }()
		return
	}
	_ = unix.Close(fd)
}
