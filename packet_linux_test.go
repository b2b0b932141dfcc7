package ringnet

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// datagramsIn sums the datagrams the loops of one backend received.
func datagramsIn(backend string) uint64 {
	var n uint64
	for _, s := range Stats() {
		if s.Backend == backend {
			n += s.DatagramsIn
		}
	}
	return n
}

// TestPacketBackendChoice checks which backend serves a datagram socket
// when the io_uring backend cannot (its ProbePackets fails): the poll
// loops, when the choice was automatic; an error naming the cause, when
// io_uring was asked for, as Listen fails where io_uring cannot run.
func TestPacketBackendChoice(t *testing.T) {
	verdict, undecided := probeIOURing()
	require.NoError(t, undecided)
	if verdict != nil {
		t.Skipf("io_uring cannot run here (%v): the automatic choice is poll anyway", verdict)
	}
	real := ioURing
	fake := *ioURing
	cause := errors.New("no datagram operations on this kernel")
	fake.ProbePackets = func() error { return cause }
	ioURing = &fake
	t.Cleanup(func() { ioURing = real })
	t.Setenv(BackendEnv, "")

	lc := ListenConfig{}
	pc, err := lc.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	before := datagramsIn("poll")
	_, err = pc.WriteTo([]byte("to myself"), pc.LocalAddr())
	require.NoError(t, err)
	_, _, err = pc.ReadFrom(make([]byte, 16))
	require.NoError(t, err)
	assert.Equal(t, before+1, datagramsIn("poll"), "the poll loops serve it")

	for _, lc := range []ListenConfig{{Backend: "io_uring"}} {
		_, err := lc.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
		require.Error(t, err)
		assert.ErrorIs(t, err, cause)
		var oe *net.OpError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "listen", oe.Op)
	}
	d := Dialer{Backend: "io_uring"}
	_, err = d.Dial("udp", "127.0.0.1:9")
	assert.ErrorIs(t, err, cause)
	t.Setenv(BackendEnv, "io_uring")
	_, err = ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	assert.ErrorIs(t, err, cause, "RINGNET_BACKEND=io_uring asks for it too")
}
