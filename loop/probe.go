//go:build linux

package loop

import (
	"fmt"
	"runtime"
	"time"

	"github.com/godzie44/go-uring/uring"
	"golang.org/x/sys/unix"
)

// Probe checks that this kernel and process can run the loops: it sets up
// a small ring, probes the opcodes the loops use, registers a
// provided-buffer ring and accepts one loopback connection through the
// ring, as the loops do. It returns nil, or an error wrapping
// ErrUnsupported that names the cause: the io_uring_setup errno (ENOSYS:
// no io_uring; EPERM: forbidden by seccomp or kernel.io_uring_disabled;
// ENOMEM: RLIMIT_MEMLOCK), a missing opcode, or the failed registration or
// accept.
func Probe() error {
	// The kernel writes the accept's peer address after Submit returns:
	// pinned, it lives on the heap, unmoved, until the ring is closed
	// (which ends the accept if no connection completed it).
	peer := new(acceptAddr)
	var pin runtime.Pinner
	pin.Pin(peer)
	defer pin.Unpin()
	ring, err := uring.New(8)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	defer ring.Close()
	if err := checkOps(ring); err != nil {
		return err
	}
	bufs, err := newBufRing(ring.Fd(), 2, 64, 1)
	if err != nil {
		return err
	}
	defer func() {
		bufs.unregister(ring.Fd())
		bufs.unmap()
	}()
	return probeAccept(ring, peer)
}

// probeAccept arms an accept on a loopback listener and checks that a
// connection completes it with the peer's address. A machine without a
// usable loopback cannot run the test; that is not held against io_uring.
func probeAccept(ring *uring.Ring, peer *acceptAddr) error {
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(lfd)
	if unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}) != nil || unix.Listen(lfd, 1) != nil {
		return nil
	}
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		return nil
	}
	e, err := ring.NextSQE()
	if err != nil {
		return fmt.Errorf("%w: probe: %w", ErrUnsupported, err)
	}
	*e = uring.SQEntry{UserData: 1}
	fillAccept(e, lfd, peer)
	if _, err := ring.Submit(); err != nil {
		return fmt.Errorf("%w: probe submit: %w", ErrUnsupported, err)
	}
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, sa); err != nil && err != unix.EINPROGRESS {
		return nil
	}
	cqe, err := ring.WaitCQEventsWithTimeout(1, 2*time.Second)
	if err != nil {
		return fmt.Errorf("%w: accept did not complete: %w", ErrUnsupported, err)
	}
	res := cqe.Res
	ring.SeenCQE(cqe)
	if res < 0 {
		return fmt.Errorf("%w: accept: %w", ErrUnsupported, unix.Errno(-res))
	}
	unix.Close(int(res))
	if peer.sockaddr() == nil {
		return fmt.Errorf("%w: accept reported no peer address", ErrUnsupported)
	}
	return nil
}
