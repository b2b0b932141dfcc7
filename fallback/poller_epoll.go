//go:build linux

package fallback

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ctlName names the call that registers a descriptor, for its errors.
const ctlName = "epoll_ctl"

const pollName = "epoll_wait"

// Readiness bits of one event, the same on every poller.
const (
	evIn    = 1 << iota // readable
	evOut               // writable
	evRdHup             // the peer shut its sending side down
	evErr               // hang-up or error on the socket
	evPri               // urgent (out-of-band) data is waiting
)

// poller is one epoll instance. Sockets are registered edge-triggered, so
// an event is reported once per readiness change and the loop never
// re-arms; the kernel stores the fd in each event.
type poller struct {
	fd  int
	evs []unix.EpollEvent
}

func newPoller() (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	return &poller{fd: fd, evs: make([]unix.EpollEvent, 256)}, nil
}

func (p *poller) close() { _ = unix.Close(p.fd) }

func (p *poller) add(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	return unix.EpollCtl(p.fd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// addConn watches a connected socket for reading, writing, the peer's FIN
// and urgent data, edge-triggered.
func (p *poller) addConn(fd int) error {
	return p.add(fd, unix.EPOLLIN|unix.EPOLLPRI|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET)
}

// watchReads turns a connected socket's read events on or off (a solo
// connection's reader reads it itself); its write events stay. Turning
// them on reports the socket's current readiness at once.
func (p *poller) watchReads(fd int, on bool) error {
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLET, Fd: int32(fd)}
	if on {
		ev.Events |= unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLRDHUP
	}
	return unix.EpollCtl(p.fd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// addReader watches fd (a listener, the wake pipe) for reading,
// edge-triggered.
func (p *poller) addReader(fd int) error {
	return p.add(fd, unix.EPOLLIN|unix.EPOLLET)
}

// addWriter watches fd (a connecting socket) for writability,
// edge-triggered.
func (p *poller) addWriter(fd int) error {
	return p.add(fd, unix.EPOLLOUT|unix.EPOLLET)
}

// del stops watching fd before it is closed. Closing alone would not do
// if the socket's file were shared with another descriptor.
func (p *poller) del(fd int) { _ = unix.EpollCtl(p.fd, unix.EPOLL_CTL_DEL, fd, nil) }

// poll collects ready events, blocking until there is one if block is set.
func (p *poller) poll(block bool) (int, error) {
	ms := 0
	if block {
		ms = -1
	}
	return unix.EpollWait(p.fd, p.evs, ms)
}

// event returns the fd and readiness bits of the i-th collected event.
func (p *poller) event(i int) (fd int, ev uint32) {
	e := &p.evs[i]
	if e.Events&unix.EPOLLIN != 0 {
		ev |= evIn
	}
	if e.Events&unix.EPOLLOUT != 0 {
		ev |= evOut
	}
	if e.Events&unix.EPOLLRDHUP != 0 {
		ev |= evRdHup
	}
	if e.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		ev |= evErr
	}
	if e.Events&unix.EPOLLPRI != 0 {
		ev |= evPri
	}
	return int(e.Fd), ev
}

// accept accepts one connection as a non-blocking, close-on-exec socket
// and returns its peer's address. It is package syscall's, as net's is:
// x/sys/unix's Accept4 asks the socket's protocol with one more
// getsockopt(SO_PROTOCOL) per connection on Linux.
func accept(fd int) (int, syscall.Sockaddr, error) {
	return syscall.Accept4(fd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
}

// sendmsg sends b without raising SIGPIPE.
func sendmsg(fd int, b []byte) (int, error) {
	return unix.SendmsgN(fd, b, nil, nil, unix.MSG_NOSIGNAL)
}

func setNoSigpipe(int) {}
