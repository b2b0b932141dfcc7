//go:build unix

package nettest_test

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// The datagram tests that need Unix socket APIs: batches read with
// MSG_DONTWAIT, descriptors passed over Unix datagram sockets.

// TestPacketReadBatch reads batches beside x/net/ipv4's ReadBatch on a
// *net.UDPConn: the same datagrams, counts, flags and addresses, spread
// over several buffers per message, and errors.
func TestPacketReadBatch(t *testing.T) {
	guard(t, 60*time.Second)
	run := func(t *testing.T, b *backend) []string {
		c := listenPacketT(t, b, "udp4", "127.0.0.1:0").(udpAPI)
		peer := udpPeerT(t, "udp4")
		for i, size := range []int{10, 0, 300, 1200, 50} {
			_, err := peer.WriteTo(datagram(2, i, size), c.LocalAddr())
			require.NoError(t, err)
		}
		time.Sleep(50 * time.Millisecond) // all five arrive: one batch takes them
		var out []string
		for len(out) < 5 {
			ms := make([]ipv4.Message, 8)
			for i := range ms {
				ms[i].Buffers = [][]byte{make([]byte, 100), make([]byte, 200)}
				ms[i].OOB = make([]byte, 64)
			}
			require.NoError(t, c.SetReadDeadline(time.Now().Add(stepTimeout)))
			n, err := batchReader(c).ReadBatch(ms, 0)
			require.NoError(t, err)
			for _, m := range ms[:n] {
				data := append(append([]byte(nil), m.Buffers[0]...), m.Buffers[1]...)[:m.N]
				out = append(out, describe("batch of %d: N=%d NN=%d Flags=%#x Addr=%s bytes=%x", n, m.N, m.NN, m.Flags,
					describeUDPAddr(m.Addr.(*net.UDPAddr)), data))
			}
		}
		// Nothing queued: MSG_DONTWAIT fails at once, a deadline in time.
		n, err := batchReader(c).ReadBatch(make([]ipv4.Message, 1), unix.MSG_DONTWAIT)
		out = append(out, describe("MSG_DONTWAIT: %d %q", n, errChain(err)))
		n, err = batchReader(c).ReadBatch(nil, 0)
		out = append(out, describe("none: %d %v", n, err))
		require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		n, err = batchReader(c).ReadBatch(make([]ipv4.Message, 1), 0)
		out = append(out, describe("deadline: %d %q", n, errChain(err)))
		require.NoError(t, c.Close())
		n, err = batchReader(c).ReadBatch(make([]ipv4.Message, 1), 0)
		out = append(out, describe("closed: %d %q", n, errChain(err)))
		return out
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		want := run(t, stdlibBackend)
		got := run(t, b)
		for i := range max(len(want), len(got)) {
			if i < len(want) {
				t.Logf("stdlib: %s", want[i])
			}
		}
		assert.Equal(t, want, got)
	})
}

// TestPacketRights passes descriptors over a Unix datagram socket: those
// ReadMsgUnix takes are open and usable, those nobody takes (ReadFrom,
// too little oob) are closed, leaving none open behind.
func TestPacketRights(t *testing.T) {
	guard(t, 60*time.Second)
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		c := listenPacketT(t, b, "unixgram", unixgramPath(t, false)).(unixgramAPI)
		sender := listenPacketT(t, b, "unixgram", unixgramPath(t, false)).(unixgramAPI)
		to := c.LocalAddr().(*net.UnixAddr)
		r, w, err := os.Pipe()
		require.NoError(t, err)
		defer r.Close()
		defer w.Close()
		before := countFDs()
		rights := unix.UnixRights(int(w.Fd()), int(w.Fd()))
		for range 3 {
			n, oobn, err := sender.WriteMsgUnix([]byte("fds"), rights, to)
			require.NoError(t, err)
			assert.Equal(t, 3, n)
			assert.Equal(t, len(rights), oobn)
		}
		require.NoError(t, c.SetReadDeadline(time.Now().Add(stepTimeout)))
		// Taken: both descriptors arrive, and write into the pipe.
		oob := make([]byte, 64)
		n, oobn, flags, _, err := c.ReadMsgUnix(make([]byte, 10), oob)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		assert.Zero(t, flags&unix.MSG_CTRUNC)
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		fds, err := unix.ParseUnixRights(&msgs[0])
		require.NoError(t, err)
		require.Len(t, fds, 2)
		for _, fd := range fds {
			flag, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			require.NoError(t, err)
			assert.NotZero(t, flag&unix.FD_CLOEXEC, "received close-on-exec, as net's ReadMsgUnix does")
			_, err = unix.Write(fd, []byte("y"))
			require.NoError(t, err)
			unix.Close(fd)
		}
		// Not taken: ReadFrom drops both, an oob with room for one keeps
		// one and drops the other.
		_, _, err = c.ReadFrom(make([]byte, 10))
		require.NoError(t, err)
		oob = make([]byte, unix.CmsgLen(4)) // room for one
		_, oobn, flags, _, err = c.ReadMsgUnix(make([]byte, 10), oob)
		require.NoError(t, err)
		assert.NotZero(t, flags&unix.MSG_CTRUNC)
		msgs, err = unix.ParseSocketControlMessage(oob[:oobn])
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		fds, err = unix.ParseUnixRights(&msgs[0])
		require.NoError(t, err)
		require.Len(t, fds, 1)
		unix.Close(fds[0])
		// None of the descriptors dropped is left open.
		assert.Eventually(t, func() bool { return countFDs() == before }, stepTimeout, 10*time.Millisecond,
			"descriptors open: %d before, %d after", before, countFDs())
		got := make([]byte, 4)
		k, err := r.Read(got)
		require.NoError(t, err)
		assert.Equal(t, "yy", string(got[:k]))
	})
}
