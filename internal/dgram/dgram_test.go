//go:build linux

package dgram

import (
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/leakcheck"
	"github.com/ringnet/ringnet/internal/sockaddr"
)

func TestMain(m *testing.M) { leakcheck.Main(m, leakcheck.Config{Name: "dgram"}) }

// fakeLoop is a Kicker that records requests; the test plays the loop.
type fakeLoop struct {
	mu     sync.Mutex
	kicks  int
	direct bool
	kicked chan struct{} // one token per Kick
}

func (k *fakeLoop) Kick(*Socket) {
	k.mu.Lock()
	k.kicks++
	k.mu.Unlock()
	select {
	case k.kicked <- struct{}{}:
	default:
	}
}

func (k *fakeLoop) SendDirect() bool { return k.direct }

// newT returns a socket on one end of a datagram socket pair, driven by a
// fakeLoop, and the other end's fd. The test plays the loop: a Close is
// answered by CloseFD.
func newT(t *testing.T, o Options) (*Socket, *fakeLoop, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	k := &fakeLoop{kicked: make(chan struct{}, 1)}
	s := New(fds[0], k, o)
	t.Cleanup(func() {
		if !s.Closed() {
			go k.serve(s, func(*Send) (int, error) { return 0, ErrClosed })
			_ = s.Close()
		}
		_ = unix.Close(fds[1])
	})
	return s, k, fds[1]
}

var from1 = sockaddr.Addr{Family: sockaddr.Inet4, Port: 53, IP: [16]byte{127, 0, 0, 1}}

func TestReadTruncatesAsRecvmsg(t *testing.T) {
	tests := []struct {
		name      string
		payload   string
		buf       int
		wantN     int
		wantTrunc bool
	}{
		{"fits", "hello", 10, 5, false},
		{"exactly", "hello", 5, 5, false},
		{"cut", "hello world", 5, 5, true},
		{"empty datagram", "", 5, 0, false},
		{"empty buffer", "hello", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newT(t, Options{})
			assert.False(t, s.Deliver([]byte(tt.payload), nil, 0, &from1))
			s.Deliver([]byte("next"), nil, 0, &from1)
			buf := make([]byte, tt.buf)
			var from sockaddr.Addr
			n, oobn, flags, err := s.ReadMsg(buf, nil, &from)
			require.NoError(t, err)
			assert.Equal(t, tt.wantN, n)
			assert.Equal(t, 0, oobn)
			assert.Equal(t, tt.wantTrunc, flags&unix.MSG_TRUNC != 0, "MSG_TRUNC in %#x", flags)
			assert.Equal(t, tt.payload[:n], string(buf[:n]))
			assert.Equal(t, from1, from)
			// The rest of a cut datagram is gone: the next read is the next datagram.
			buf = make([]byte, 10)
			n, _, _, err = s.ReadMsg(buf, nil, &from)
			require.NoError(t, err)
			assert.Equal(t, "next", string(buf[:n]))
		})
	}
}

// TestDeliverToWaitingReader checks that a datagram that arrives while a
// reader waits goes straight into its buffers, with the same truncation.
func TestDeliverToWaitingReader(t *testing.T) {
	s, _, _ := newT(t, Options{})
	type result struct {
		n, flags int
		from     sockaddr.Addr
		err      error
	}
	done := make(chan result, 1)
	buf := make([]byte, 3)
	go func() {
		var r result
		r.n, _, r.flags, r.err = s.ReadMsg(buf, nil, &r.from)
		done <- r
	}()
	require.Eventually(t, s.rwaiting.Load, 5*time.Second, time.Millisecond)
	s.Deliver([]byte("abcdef"), nil, 0, &from1)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, 3, r.n)
	assert.Equal(t, "abc", string(buf))
	assert.NotZero(t, r.flags&unix.MSG_TRUNC)
	assert.Equal(t, from1, r.from)
	n, _ := s.Queued()
	assert.Zero(t, n, "a datagram given to the waiting reader is not queued as well")
}

// cmsg builds one control message.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

// TestControlCopiedAsPutCmsg checks the control data a reader gets
// against what the kernel gives a recvmsg(2) with the same oob room: the
// same bytes and the same MSG_CTRUNC, room by room.
func TestControlCopiedAsPutCmsg(t *testing.T) {
	// Two credentials messages (SO_PASSCRED) as the kernel lays them out.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	require.NoError(t, unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_PASSCRED, 1))
	ucred := unix.UnixCredentials(&unix.Ucred{Pid: int32(os.Getpid()), Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())})
	ctl := append(cmsg(unix.SOL_SOCKET, unix.SCM_CREDENTIALS, ucred[unix.CmsgLen(0):unix.CmsgLen(12)]),
		cmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{3})...)
	for room := 0; room <= len(ctl)+8; room++ {
		// What the loop stored, copied into a reader's oob of room bytes...
		got := make([]byte, room)
		n, cut := copyControl(got, ctl, Options{Unix: true})
		// ...against put_cmsg itself, writing the credentials message
		// the kernel makes (its second message cannot be made to
		// follow on a Unix socket, so it is checked by a second call).
		_, err := unix.SendmsgN(fds[0], []byte("x"), nil, nil, 0)
		require.NoError(t, err)
		want := make([]byte, room)
		_, wantN, wantFlags, _, err := unix.Recvmsg(fds[1], make([]byte, 1), want, 0)
		require.NoError(t, err)
		credSpace := unix.CmsgSpace(12)
		if room < credSpace || wantFlags&unix.MSG_CTRUNC != 0 {
			assert.Equal(t, wantN, n, "room %d: bytes used", room)
			assert.True(t, cut, "room %d: truncated", room)
			assert.Equal(t, want[:wantN], got[:n], "room %d", room)
			continue
		}
		assert.Equal(t, want[:credSpace], got[:credSpace], "room %d: the credentials", room)
		// put_cmsg cuts a message only when its unpadded length does
		// not fit.
		assert.Equal(t, room < credSpace+unix.CmsgLen(1), cut, "room %d: truncated", room)
	}
}

// TestRightsNotTakenAreClosed checks that descriptors in SCM_RIGHTS that
// a reader does not take (no room, ReadFrom, Close) are closed, and those
// it takes are open.
func TestRightsNotTakenAreClosed(t *testing.T) {
	open := func(t *testing.T, n int) []int {
		var fds []int
		for range n {
			fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			require.NoError(t, err)
			fds = append(fds, fd)
		}
		return fds
	}
	isOpen := func(fd int) bool {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		return err == nil
	}
	tests := []struct {
		name   string
		room   int // oob bytes the reader offers
		nfds   int
		taken  int
		closed bool // the socket closes with the datagram queued
	}{
		{"all fit", unix.CmsgSpace(3 * 4), 3, 3, false},
		{"two of three fit", unix.CmsgLen(2 * 4), 3, 2, false},
		{"none fit", unix.SizeofCmsghdr, 3, 0, false},
		{"no oob", 0, 3, 0, false},
		{"never read", 0, 3, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, k, _ := newT(t, Options{Unix: true})
			fds := open(t, tt.nfds)
			s.Deliver([]byte("x"), unix.UnixRights(fds...), 0, &sockaddr.Addr{})
			if tt.closed {
				go func() { <-k.kicked; s.CloseFD() }()
				require.NoError(t, s.Close())
			} else {
				oob := make([]byte, tt.room)
				var from sockaddr.Addr
				_, oobn, flags, err := s.ReadMsg(make([]byte, 1), oob, &from)
				require.NoError(t, err)
				assert.Equal(t, tt.taken < tt.nfds, flags&unix.MSG_CTRUNC != 0)
				var got []int
				if oobn > 0 {
					msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
					require.NoError(t, err)
					require.Len(t, msgs, 1)
					got, err = unix.ParseUnixRights(&msgs[0])
					require.NoError(t, err)
				}
				if tt.taken == 0 {
					assert.Empty(t, got)
				} else {
					assert.Equal(t, fds[:tt.taken], got)
				}
			}
			for i, fd := range fds {
				assert.Equal(t, i < tt.taken, isOpen(fd), "fd %d (%d of %d)", fd, i+1, tt.nfds)
				if i < tt.taken {
					unix.Close(fd)
				}
			}
		})
	}
}

// TestQueueBounds checks that Deliver asks the loop to pause at the
// bounds (bytes, or datagrams however small) and that reading resumes it
// once the queue is well below them.
func TestQueueBounds(t *testing.T) {
	for _, size := range []int{0, 1200, 60000} {
		s, k, _ := newT(t, Options{})
		delivered := 0
		for !s.Deliver(make([]byte, size), nil, 0, &from1) {
			delivered++
			require.Less(t, delivered, RecvMaxQueued+1, "size %d: no pause", size)
		}
		n, bytes := s.Queued()
		assert.True(t, n == RecvMaxQueued || bytes >= RecvHighWater, "size %d: paused at %d datagrams, %d bytes", size, n, bytes)
		assert.LessOrEqual(t, bytes, RecvHighWater+size+overhead, "size %d", size)
		assert.False(t, s.RecvWanted(), "paused")
		var from sockaddr.Addr
		buf := make([]byte, size)
		for s.req.Load()&ReqResume == 0 {
			n, _ := s.Queued()
			require.NotZero(t, n, "size %d: drained without a resume", size)
			_, _, _, err := s.ReadMsg(buf, nil, &from)
			require.NoError(t, err)
		}
		assert.True(t, s.RecvWanted(), "resumed")
		assert.NotZero(t, k.kicks)
		s.TakeRequests()
	}
}

// TestReadDeadlineAndClose checks that a read blocked with nothing queued
// ends at its deadline, at a deadline set while it waits, and at Close.
func TestReadDeadlineAndClose(t *testing.T) {
	t.Run("deadline passed", func(t *testing.T) {
		s, _, _ := newT(t, Options{})
		s.Deliver([]byte("queued"), nil, 0, &from1)
		s.SetReadDeadline(time.Unix(1, 0))
		var from sockaddr.Addr
		_, _, _, err := s.ReadMsg(make([]byte, 10), nil, &from)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "a past deadline fails a read even with data queued, as net's")
	})
	t.Run("deadline set while blocked", func(t *testing.T) {
		s, _, _ := newT(t, Options{})
		errc := make(chan error, 1)
		go func() {
			var from sockaddr.Addr
			_, _, _, err := s.ReadMsg(make([]byte, 10), nil, &from)
			errc <- err
		}()
		require.Eventually(t, s.rwaiting.Load, 5*time.Second, time.Millisecond)
		s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		assert.ErrorIs(t, <-errc, os.ErrDeadlineExceeded)
	})
	t.Run("close", func(t *testing.T) {
		s, k, _ := newT(t, Options{})
		errc := make(chan error, 1)
		go func() {
			var from sockaddr.Addr
			_, _, _, err := s.ReadMsg(make([]byte, 10), nil, &from)
			errc <- err
		}()
		require.Eventually(t, s.rwaiting.Load, 5*time.Second, time.Millisecond)
		go func() { <-k.kicked; s.CloseFD() }()
		require.NoError(t, s.Close())
		assert.Equal(t, ErrClosed, <-errc)
		assert.Equal(t, ErrClosed, s.Close())
	})
}

// TestSocketErrorOnce checks that a socket error the loop met is reported
// once, by the read or the write that comes first.
func TestSocketErrorOnce(t *testing.T) {
	for _, first := range []string{"read", "write"} {
		t.Run(first, func(t *testing.T) {
			s, k, _ := newT(t, Options{})
			k.direct = true
			s.DeliverErr(syscall.ECONNREFUSED)
			var from sockaddr.Addr
			read := func() error { _, _, _, err := s.ReadMsg(make([]byte, 1), nil, &from); return err }
			write := func() error { _, _, err := s.WriteMsg([]byte("x"), nil, nil); return err }
			if first == "read" {
				assert.Equal(t, syscall.ECONNREFUSED, read())
			} else {
				assert.Equal(t, syscall.ECONNREFUSED, write())
			}
			assert.NoError(t, write(), "reported once")
		})
	}
}

// TestWriteThroughLoop checks a write the loop carries: it returns the
// loop's outcome for it, and a writer that gives up (deadline, close)
// gets its error at once if the loop has not taken the send, and the
// send's own outcome if it went out before the cancel reached it.
func TestWriteThroughLoop(t *testing.T) {
	write := func(s *Socket) chan error {
		errc := make(chan error, 1)
		go func() {
			_, _, err := s.WriteMsg([]byte("payload"), []byte("oob"), &from1)
			errc <- err
		}()
		return errc
	}
	take := func(t *testing.T, s *Socket, k *fakeLoop) *Send {
		<-k.kicked
		require.Equal(t, ReqSend, s.TakeRequests()&ReqSend)
		sends := s.TakeSends(nil)
		require.Len(t, sends, 1)
		assert.Equal(t, "payload", string(sends[0].Buf))
		assert.Equal(t, "oob", string(sends[0].OOB))
		assert.Equal(t, from1, *sends[0].To())
		return sends[0]
	}
	t.Run("completed", func(t *testing.T) {
		s, k, _ := newT(t, Options{})
		errc := write(s)
		r := take(t, s, k)
		s.Complete(r, 7, nil)
		assert.NoError(t, <-errc)
	})
	t.Run("failed", func(t *testing.T) {
		s, k, _ := newT(t, Options{})
		errc := write(s)
		s.Complete(take(t, s, k), 0, syscall.EMSGSIZE)
		assert.Equal(t, syscall.EMSGSIZE, <-errc)
	})
	t.Run("deadline before the loop took it", func(t *testing.T) {
		s, k, _ := newT(t, Options{})
		s.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		errc := write(s)
		assert.ErrorIs(t, <-errc, os.ErrDeadlineExceeded)
		<-k.kicked
		assert.Empty(t, s.TakeSends(nil), "the abandoned send left the queue")
	})
	t.Run("deadline after the loop took it, cancelled", func(t *testing.T) {
		s, k, _ := newT(t, Options{})
		errc := write(s)
		r := take(t, s, k)
		s.SetWriteDeadline(time.Now())
		require.Eventually(t, r.Abandoned, 5*time.Second, time.Millisecond)
		select {
		case err := <-errc:
			t.Fatalf("returned %v while the loop still held its send", err)
		case <-time.After(20 * time.Millisecond):
		}
		assert.Equal(t, ReqCancel, s.TakeRequests()&ReqCancel)
		s.Complete(r, 0, syscall.ECANCELED)
		assert.ErrorIs(t, <-errc, os.ErrDeadlineExceeded)
	})
	t.Run("deadline after the loop took it, sent anyway", func(t *testing.T) {
		s, k, _ := newT(t, Options{})
		errc := write(s)
		r := take(t, s, k)
		s.SetWriteDeadline(time.Now())
		require.Eventually(t, r.Abandoned, 5*time.Second, time.Millisecond)
		s.Complete(r, 7, nil)
		assert.NoError(t, <-errc, "the datagram went out: the write reports it")
	})
	t.Run("close", func(t *testing.T) {
		s, k, _ := newT(t, Options{})
		errc := write(s)
		r := take(t, s, k)
		go func() {
			for s.TakeRequests()&ReqClose == 0 {
				<-k.kicked
			}
			s.Complete(r, 0, syscall.ECANCELED)
			s.CloseFD()
		}()
		require.NoError(t, s.Close())
		assert.Equal(t, ErrClosed, <-errc)
	})
}

// serve plays the loop for s until it closes: it completes each send it
// takes with complete's outcome, and closes the socket when asked.
func (k *fakeLoop) serve(s *Socket, complete func(*Send) (int, error)) {
	for ; ; <-k.kicked {
		req := s.TakeRequests()
		if req&ReqSend != 0 {
			for _, r := range s.TakeSends(nil) {
				n, err := complete(r)
				s.Complete(r, n, err)
			}
		}
		if req&ReqClose != 0 {
			s.CloseFD()
			return
		}
	}
}

// TestWriteDirect checks the writer's own send: it goes out on the
// socket, a full socket hands the datagram to the loop, and an error is
// the system call's own.
func TestWriteDirect(t *testing.T) {
	s, k, peer := newT(t, Options{Unix: true})
	k.direct = true
	n, oobn, err := s.WriteMsg([]byte("direct"), nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 6, n)
	assert.Equal(t, 0, oobn)
	buf := make([]byte, 10)
	n, err = unix.Read(peer, buf)
	require.NoError(t, err)
	assert.Equal(t, "direct", string(buf[:n]))

	// Fill the peer's queue: the write that finds it full hands its
	// datagram to the loop, here one that reports it sent.
	viaLoop := make(chan string, 10)
	go k.serve(s, func(r *Send) (int, error) {
		viaLoop <- string(r.Buf)
		return len(r.Buf), nil
	})
	for {
		_, _, err := s.WriteMsg([]byte("fill"), nil, nil)
		require.NoError(t, err)
		k.mu.Lock()
		kicked := k.kicks > 0
		k.mu.Unlock()
		if kicked {
			break
		}
	}
	assert.Equal(t, "fill", <-viaLoop)

	_, _, err = s.WriteMsg([]byte("x"), nil, &sockaddr.Addr{Family: sockaddr.Unix, Name: string(make([]byte, 200))})
	assert.Equal(t, syscall.EINVAL, err, "a name too long for sockaddr_un")
	require.NoError(t, s.Close())
}
