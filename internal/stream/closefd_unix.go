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
// back and closes it as net would have. Unread bytes make it reset the
// connection, as the kernel does when net closes such a socket, unless
// another descriptor keeps the socket open (NoteShared).
//
// Two things may make the close wait, and neither may hold up the loop's
// other connections, so each moves to a goroutine of its own: a user
// callback that holds the fd (a raw Control, Read or Write: net's Close
// waits for it to return, and so does the close here), and a close(2)
// that blocks after SetLinger with a positive time, until the bytes are
// sent or the time is up.
func (s *Stream) CloseFD() {
	if !s.fdmu.TryLock() {
		go func() {
			s.fdmu.Lock()
			s.closeFDLocked()
		}()
		return
	}
	s.closeFDLocked()
}

// closeFDLocked is CloseFD with the fd write lock held.
func (s *Stream) closeFDLocked() {
	fd, reset := s.releaseFDLocked()
	switch {
	case reset && !s.shared.Load():
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
	case s.lingerMode.Load() == lingerBlocking:
		go func() { _ = unix.Close(fd) }()
		return
	}
	_ = unix.Close(fd)
}
