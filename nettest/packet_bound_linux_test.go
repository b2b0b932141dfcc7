//go:build !noringnet

package nettest_test

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The datagram test of a bound only ringnet's loops have: it reads their
// counters (ringnetBackends), so -tags noringnet leaves it out.

// TestPacketUnreadBound floods a socket that nobody reads: the loop stops
// receiving at its queue's bounds, leaving the rest to the kernel's socket
// buffer (which drops beyond it), so memory stays bounded; the reader
// then gets what was kept, in order, and the socket works on.
func TestPacketUnreadBound(t *testing.T) {
	guard(t, 120*time.Second)
	for _, b := range ringnetBackends() {
		if b.listenPacket == nil {
			continue
		}
		t.Run(b.name, func(t *testing.T) { unreadBound(t, b) })
	}
}

func unreadBound(t *testing.T, b *backend) {
	{
		c := listenPacketT(t, b, "udp4", "127.0.0.1:0").(udpAPI)
		peer := udpPeerT(t, "udp4")
		// Sent in bursts the loop keeps up with (the kernel would drop
		// most of one long burst before the loop could queue them),
		// until the loop pauses.
		before := b.stats().RecvPauses
		sent := 0
		for b.stats().RecvPauses == before {
			require.Less(t, sent, 200000, "the loop never paused: %s", b.statsDetail())
			for range 100 {
				_, err := peer.WriteTo(datagram(4, sent, 200), c.LocalAddr())
				require.NoError(t, err)
				sent++
			}
			time.Sleep(time.Millisecond)
		}
		// More, which the kernel's buffer takes until it is full.
		for range 2000 {
			_, err := peer.WriteTo(datagram(4, sent, 200), c.LocalAddr())
			require.NoError(t, err)
			sent++
		}
		got, last := 0, -1
		buf := make([]byte, 300)
		for {
			require.NoError(t, c.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
			n, _, err := c.ReadFrom(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			require.NoError(t, err)
			require.Equal(t, 200, n)
			seq := int(binary.BigEndian.Uint32(buf[4:]))
			require.Greater(t, seq, last, "datagrams out of order")
			require.Equal(t, datagram(4, seq, 200), buf[:n])
			last = seq
			got++
		}
		t.Logf("%d of %d datagrams kept (the loop's queue holds at most 1,024, the kernel's buffer the rest)", got, sent)
		assert.Less(t, got, 2000, "kept more than the loop's bound and the kernel's buffer together")
		assert.Greater(t, got, 500, "the loop's queue held far fewer than its bound")
		_, err := peer.WriteTo([]byte("after"), c.LocalAddr())
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(stepTimeout)))
		n, _, err := c.ReadFrom(buf)
		require.NoError(t, err)
		assert.Equal(t, "after", string(buf[:n]))
	}
}
