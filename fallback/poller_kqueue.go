//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"os"

	"golang.org/x/sys/unix"
)

// ctlName names the call that registers a descriptor, for its errors.
const ctlName = "kevent"

const pollName = "kevent"

// Readiness bits of one event, the same on every poller.
const (
	evIn    = 1 << iota // readable
	evOut               // writable
	evRdHup             // the peer shut its sending side down
	evErr               // hang-up or error on the socket
	evPri               // urgent data is waiting (epoll only: kqueue does not report it)
)

// poller is one kqueue. Sockets are registered with EV_CLEAR, so an event
// is reported once per readiness change and the loop never re-arms; each
// event carries the fd as its ident. kqueue drops the registrations of a
// descriptor when it is closed.
type poller struct {
	fd   int
	evs  []unix.Kevent_t
	chg  [2]unix.Kevent_t
	zero unix.Timespec
}

func newPoller() (*poller, error) {
	fd, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	unix.CloseOnExec(fd)
	return &poller{fd: fd, evs: make([]unix.Kevent_t, 256)}, nil
}

func (p *poller) close() { _ = unix.Close(p.fd) }

// addConn watches a connected socket for reading and writing, with
// EV_CLEAR.
func (p *poller) addConn(fd int) error {
	unix.SetKevent(&p.chg[0], fd, unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR)
	unix.SetKevent(&p.chg[1], fd, unix.EVFILT_WRITE, unix.EV_ADD|unix.EV_CLEAR)
	return p.change(p.chg[:2])
}

// addReader watches fd (a listener, the wake pipe) for reading, with
// EV_CLEAR.
func (p *poller) addReader(fd int) error {
	unix.SetKevent(&p.chg[0], fd, unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR)
	return p.change(p.chg[:1])
}

// addWriter watches fd (a connecting socket) for writability, with
// EV_CLEAR.
func (p *poller) addWriter(fd int) error {
	unix.SetKevent(&p.chg[0], fd, unix.EVFILT_WRITE, unix.EV_ADD|unix.EV_CLEAR)
	return p.change(p.chg[:1])
}

// watchReads turns a connected socket's read events on or off (a solo
// connection's reader reads it itself); its write events stay.
func (p *poller) watchReads(fd int, on bool) error {
	flags := unix.EV_DISABLE
	if on {
		flags = unix.EV_ENABLE | unix.EV_CLEAR
	}
	unix.SetKevent(&p.chg[0], fd, unix.EVFILT_READ, flags)
	return p.change(p.chg[:1])
}

func (p *poller) change(chg []unix.Kevent_t) error {
	for {
		_, err := unix.Kevent(p.fd, chg, nil, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

// del does nothing: closing the descriptor removes its events from the
// kqueue.
func (p *poller) del(int) {}

// poll collects ready events, blocking until there is one if block is set.
func (p *poller) poll(block bool) (int, error) {
	var ts *unix.Timespec
	if !block {
		ts = &p.zero
	}
	return unix.Kevent(p.fd, nil, p.evs, ts)
}

// event returns the fd and readiness bits of the i-th collected event.
func (p *poller) event(i int) (fd int, ev uint32) {
	e := &p.evs[i]
	switch {
	case e.Flags&unix.EV_ERROR != 0:
		ev = evErr
	case e.Filter == unix.EVFILT_READ:
		ev = evIn
		if e.Flags&unix.EV_EOF != 0 {
			ev |= evRdHup
			if e.Fflags != 0 { // the socket's pending error
				ev |= evErr
			}
		}
	case e.Filter == unix.EVFILT_WRITE:
		ev = evOut
		if e.Flags&unix.EV_EOF != 0 {
			ev |= evErr
		}
	}
	return int(e.Ident), ev
}
