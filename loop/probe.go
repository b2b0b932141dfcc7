//go:build linux

package loop

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

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
	bufs, err := newBufRing(ring.Fd(), 2, 64, 1, 2)
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

// packetsProbe is ProbePackets' verdict, once it has one.
var packetsProbe struct {
	mu      sync.Mutex
	decided bool
	err     error
}

// ProbePackets checks, once per process, that the kernel serves datagram
// sockets on the ring as the loops use them: the RECVMSG and SENDMSG
// opcodes, and a multishot RECVMSG with buffer selection (Linux 6.0; no
// feature bit says so), which it tries on a loopback UDP socket. It
// returns nil, or an error wrapping ErrUnsupported that names what is
// missing; the root package then serves datagram sockets with the poll
// loops. A probe that cannot make its sockets (EMFILE...) decides nothing:
// it returns that error and the next call probes again.
func ProbePackets() error {
	packetsProbe.mu.Lock()
	defer packetsProbe.mu.Unlock()
	if packetsProbe.decided {
		return packetsProbe.err
	}
	decided, err := probePackets()
	if decided {
		packetsProbe.decided, packetsProbe.err = true, err
	}
	return err
}

func probePackets() (decided bool, err error) {
	ring, err := uring.New(8)
	if err != nil {
		return true, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	defer ring.Close()
	p, err := ring.Probe()
	if err != nil {
		return true, fmt.Errorf("%w: probe: %w", ErrUnsupported, err)
	}
	for _, op := range []struct {
		code int
		name string
	}{{opRecvMsg, "RECVMSG"}, {opSendMsg, "SENDMSG"}} {
		if p.GetOP(op.code).Flags&uring.OpSupportedFlag == 0 {
			return true, fmt.Errorf("%w: opcode %s missing", ErrUnsupported, op.name)
		}
	}
	bufs, err := newBufRing(ring.Fd(), 2, 4096, dgramGroup, 2)
	if err != nil {
		return true, err
	}
	defer func() {
		bufs.unregister(ring.Fd())
		bufs.unmap()
	}()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}) != nil {
		return true, nil // no loopback to try it on: not held against io_uring
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return true, nil
	}
	msg := &unix.Msghdr{Namelen: dgramNameLen}
	e, err := ring.NextSQE()
	if err != nil {
		return true, fmt.Errorf("%w: probe: %w", ErrUnsupported, err)
	}
	*e = uring.SQEntry{OpCode: opRecvMsg, Fd: int32(fd), Addr: uint64(uintptr(unsafe.Pointer(msg))), Len: 1,
		Flags: sqeBufferSelect, BufIG: dgramGroup, IoPrio: recvMultishotBit, UserData: 1}
	if _, err := ring.Submit(); err != nil {
		return true, fmt.Errorf("%w: probe submit: %w", ErrUnsupported, err)
	}
	// From here the receive may be armed: it is cancelled, and its last
	// completion awaited, before msg can go.
	defer func() {
		if e, err := ring.NextSQE(); err == nil {
			*e = uring.SQEntry{OpCode: opAsyncCancel, Fd: -1, Addr: 1, UserData: 2}
			_, _ = ring.Submit()
		}
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
			cqe, err := ring.WaitCQEventsWithTimeout(1, 100*time.Millisecond)
			if err != nil {
				continue
			}
			ud, flags := cqe.UserData, cqe.Flags
			ring.SeenCQE(cqe)
			if ud == 1 && flags&cqeFMore == 0 {
				break
			}
		}
		runtime.KeepAlive(msg)
	}()
	if err := unix.Sendto(fd, []byte("probe"), 0, sa); err != nil {
		return true, nil
	}
	cqe, err := ring.WaitCQEventsWithTimeout(1, 2*time.Second)
	if err != nil {
		return true, fmt.Errorf("%w: multishot recvmsg did not complete: %w", ErrUnsupported, err)
	}
	res, flags := cqe.Res, cqe.Flags
	ring.SeenCQE(cqe)
	switch {
	case res < 0:
		return true, fmt.Errorf("%w: multishot recvmsg: %w", ErrUnsupported, unix.Errno(-res))
	case flags&cqeFMore == 0:
		return true, fmt.Errorf("%w: recvmsg is not multishot on this kernel", ErrUnsupported)
	case flags&cqeFBuffer == 0:
		return true, fmt.Errorf("%w: multishot recvmsg used no provided buffer", ErrUnsupported)
	}
	buf := bufs.buf(uint16(flags >> cqeBufShift))
	if res < recvmsgOutLen+dgramNameLen {
		return true, fmt.Errorf("%w: multishot recvmsg used %d bytes of its buffer, too few", ErrUnsupported, res)
	}
	if payload := buf[recvmsgOutLen+dgramNameLen : res]; string(payload) != "probe" {
		return true, fmt.Errorf("%w: multishot recvmsg laid out %q, not the datagram sent", ErrUnsupported, payload)
	}
	return true, nil
}
