//go:build linux

package nettest_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

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
