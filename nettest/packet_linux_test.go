package nettest_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The datagram tests of Linux features: UDP GSO and GRO, and EMFILE
// under a lowered RLIMIT_NOFILE (whose field types differ on the BSDs).

// TestPacketGSO sends with UDP_SEGMENT (GSO) in WriteMsgUDP's control
// data: the kernel cuts the payload into datagrams of that size, which a
// standard library reader receives one by one, as from net's.
func TestPacketGSO(t *testing.T) {
	guard(t, 60*time.Second)
	probe := udpPeerT(t, "udp4")
	rc, err := probe.SyscallConn()
	require.NoError(t, err)
	var serr error
	require.NoError(t, rc.Control(func(fd uintptr) { _, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT) }))
	if serr != nil {
		t.Skipf("no UDP GSO on this kernel: %v", serr)
	}
	oob := gsoOOB(1000)
	run := func(t *testing.T, b *backend) []string {
		c := listenPacketT(t, b, "udp4", "127.0.0.1:0").(udpAPI)
		peer := udpPeerT(t, "udp4")
		payload := datagram(3, 0, 3500)
		n, oobn, err := c.WriteMsgUDP(payload, oob, peer.LocalAddr().(*net.UDPAddr))
		require.NoError(t, err)
		out := []string{fmt.Sprintf("wrote %d %d", n, oobn)}
		var got []byte
		for len(got) < len(payload) {
			buf := make([]byte, 2000)
			require.NoError(t, peer.SetReadDeadline(time.Now().Add(stepTimeout)))
			n, _, err := peer.ReadFrom(buf)
			require.NoError(t, err)
			out = append(out, fmt.Sprintf("datagram of %d", n))
			got = append(got, buf[:n]...)
		}
		assert.Equal(t, payload, got)
		return out
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		want := run(t, stdlibBackend)
		t.Logf("stdlib: %q", want)
		assert.Equal(t, want, run(t, b))
	})
}

// TestPacketGRO receives with UDP_GRO on: segments a GSO sender sent
// arrive as one datagram with a UDP_GRO control message giving their
// size, as with net.
func TestPacketGRO(t *testing.T) {
	guard(t, 60*time.Second)
	oob := gsoOOB(1000)
	run := func(t *testing.T, b *backend) []string {
		c := listenPacketT(t, b, "udp4", "127.0.0.1:0").(udpAPI)
		rc, err := c.SyscallConn()
		require.NoError(t, err)
		var serr error
		require.NoError(t, rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1) }))
		if serr != nil {
			t.Skipf("no UDP GRO on this kernel: %v", serr)
		}
		peer := udpPeerT(t, "udp4")
		payload := datagram(5, 0, 3500)
		_, _, err = peer.WriteMsgUDP(payload, oob, c.LocalAddr().(*net.UDPAddr))
		require.NoError(t, err)
		var out []string
		var got []byte
		for len(got) < len(payload) {
			buf, cm := make([]byte, 65536), make([]byte, 64)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(stepTimeout)))
			n, oobn, flags, _, err := c.ReadMsgUDP(buf, cm)
			require.NoError(t, err)
			msgs, err := unix.ParseSocketControlMessage(cm[:oobn])
			require.NoError(t, err)
			line := fmt.Sprintf("datagram of %d, flags %#x", n, flags)
			for _, m := range msgs {
				line += fmt.Sprintf(", cmsg level %d type %d data %x", m.Header.Level, m.Header.Type, m.Data)
			}
			out = append(out, line)
			got = append(got, buf[:n]...)
		}
		assert.Equal(t, payload, got)
		return out
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		want := run(t, stdlibBackend)
		t.Logf("stdlib: %q", want)
		assert.Equal(t, want, run(t, b))
	})
}

// gsoOOB is a UDP_SEGMENT control message for segments of size bytes.
func gsoOOB(size uint16) []byte {
	oob := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], size)
	return oob
}

// packetEMFILEChildEnv, set to a backend's name, makes the test binary a
// child process of TestPacketEMFILE.
const packetEMFILEChildEnv = "NETTEST_PACKETEMFILE_CHILD"

// TestPacketEMFILE opens datagram sockets, in a child process with a low
// RLIMIT_NOFILE, until ListenPacket fails: the error must be net's (a
// *net.OpError for "listen" wrapping EMFILE in an *os.SyscallError), and
// a socket must open again at once after a few are closed.
func TestPacketEMFILE(t *testing.T) {
	if name := os.Getenv(packetEMFILEChildEnv); name != "" {
		packetEMFILEChild(t, name)
		return
	}
	guard(t, 120*time.Second)
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestPacketEMFILE$", "-test.v", "-test.timeout=35s")
		cmd.Env = append(os.Environ(), packetEMFILEChildEnv+"="+b.name)
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "CHILD ") {
				t.Log(l)
			}
		}
		require.NoError(t, err, "child:\n%s", out)
		require.Contains(t, string(out), "CHILD DONE", "child:\n%s", out)
	})
}

func packetEMFILEChild(t *testing.T, name string) {
	b := backendByName(name)
	require.NotNil(t, b, "backend %q", name)
	// The first socket probes the backend and starts its loops; keeping it
	// open keeps them running.
	keep, err := b.listenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer keep.Close()

	var orig unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &orig))
	low := orig
	low.Cur = uint64(countFDs() + 24)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &low))
	defer func() { require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &orig)) }()

	var socks []net.PacketConn
	defer func() {
		for _, s := range socks {
			s.Close()
		}
	}()
	var ourErr error
	for range 100 {
		s, err := b.listenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			ourErr = err
			break
		}
		socks = append(socks, s)
	}
	require.Error(t, ourErr, "100 sockets under a limit of %d descriptors", low.Cur)
	fmt.Printf("CHILD %s: ListenPacket failed after %d sockets: %v\n", name, len(socks), ourErr)
	var netErr error
	for range 4 {
		s, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			netErr = err
			break
		}
		socks = append(socks, s)
	}
	require.Error(t, netErr)
	fmt.Printf("CHILD %s: net.ListenPacket then failed: %v\n", name, netErr)
	if ourErr.Error() != netErr.Error() {
		// With one descriptor free net makes its socket where ringnet,
		// which then needs a second for the loop's duplicate, fails.
		fmt.Printf("CHILD %s: note: the texts differ: %q vs net's %q\n", name, ourErr, netErr)
	}
	for _, err := range []error{ourErr, netErr} {
		var oe *net.OpError
		require.ErrorAs(t, err, &oe, "%T %v", err, err)
		assert.Equal(t, "listen", oe.Op)
		assert.Equal(t, "udp4", oe.Net)
		assert.ErrorIs(t, err, syscall.EMFILE)
		var se *os.SyscallError
		assert.ErrorAs(t, err, &se, "an *os.SyscallError naming the failed call")
	}
	// Closing a few makes room again, at once: Close returns once the
	// descriptor is closed.
	for _, s := range socks[len(socks)-3:] {
		require.NoError(t, s.Close())
	}
	socks = socks[:len(socks)-3]
	s, err := b.listenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err, "after closing 3 sockets")
	socks = append(socks, s)
	_, err = s.WriteTo([]byte("works"), keep.LocalAddr())
	require.NoError(t, err)
	fmt.Printf("CHILD DONE\n")
}
