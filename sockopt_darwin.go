package ringnet

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// tcpKeepIdle is the option for the idle time before the first keep-alive
// probe.
const tcpKeepIdle = unix.TCP_KEEPALIVE

// ipprotoMPTCP is Multipath TCP's protocol number; none here, as with net.
const ipprotoMPTCP = 0

// newSocket makes a non-blocking, close-on-exec stream socket of protocol
// proto (0: the family's default). Darwin has no SOCK_NONBLOCK or
// SOCK_CLOEXEC: the flags are set under ForkLock, as the net package does,
// so no child inherits the fd in between.
func newSocket(family, proto int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, unix.SOCK_STREAM, proto)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
