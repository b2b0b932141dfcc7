package nettest_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"
)

// packetEchoT echoes every datagram pc receives back to its sender, until
// the test ends.
func packetEchoT(t *testing.T, pc net.PacketConn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1<<17)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("echo: ReadFrom: %v", err)
				}
				return
			}
			if _, err := pc.WriteTo(buf[:n], from); err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("echo: WriteTo %v: %v", from, err)
			}
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
}

// datagram is datagram seq of peer, size bytes: its header (peer, seq)
// then pattern bytes, so that an echo shows any byte lost, changed or
// taken from another datagram.
func datagram(peer, seq, size int) []byte {
	b := make([]byte, size)
	if size >= 8 {
		binary.BigEndian.PutUint32(b, uint32(peer))
		binary.BigEndian.PutUint32(b[4:], uint32(seq))
		_, _ = newPattern(peer*100003+seq, int64(size-8)).Read(b[8:])
	}
	return b
}

// echoPeer is one client of TestPacketEcho: it writes a datagram and
// reads until the echo comes back.
type echoPeer struct {
	name  string
	write func(b []byte) error
	read  func(b []byte) (int, error)
	conn  interface {
		SetReadDeadline(time.Time) error
		Close() error
	}
}

// roundTrips sends each size in turn and checks every byte of its echo,
// sending again (the same datagram) when none comes back within a while:
// UDP may drop a datagram when a socket buffer is full, and the test
// counts that, but never accepts a wrong byte.
func (p *echoPeer) roundTrips(id int, sizes []int, resent *atomic.Int64) error {
	buf := make([]byte, 1<<17)
	for seq, size := range sizes {
		want := datagram(id, seq, size)
		for attempt := 0; ; attempt++ {
			if attempt == 10 {
				return fmt.Errorf("%s: datagram %d (%d bytes): no echo after %d sends", p.name, seq, size, attempt)
			}
			if attempt > 0 {
				resent.Add(1)
			}
			if err := p.write(want); err != nil {
				return fmt.Errorf("%s: datagram %d (%d bytes): write: %w", p.name, seq, size, err)
			}
			_ = p.conn.SetReadDeadline(time.Now().Add(time.Second))
			got := false
			for !got {
				n, err := p.read(buf)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				if err != nil {
					return fmt.Errorf("%s: datagram %d: read: %w", p.name, seq, err)
				}
				if size < 8 && n == size {
					got = true // too short for a header: the sizes tell
					continue
				}
				if n >= 8 && int(binary.BigEndian.Uint32(buf[4:])) < seq {
					continue // the echo of an earlier datagram sent twice
				}
				if !bytes.Equal(buf[:n], want) {
					return fmt.Errorf("%s: datagram %d: echo of %d bytes differs from the %d sent", p.name, seq, n, size)
				}
				got = true
			}
			if got {
				break
			}
		}
	}
	return nil
}

// TestPacketEcho echoes datagrams of every size from zero to the largest
// through a server on each backend, from many peers at once (the
// standard library's unconnected sockets, the backend's own, dialed and
// not), every byte checked: IPv4, IPv6, a dual-stack server (bound to
// [::]) with IPv4 and IPv6 peers, Unix datagram sockets with path and
// abstract names.
func TestPacketEcho(t *testing.T) {
	guard(t, 300*time.Second)
	kinds := []struct {
		name, network string
		address       string   // the server's; unixgram: a fresh path
		peerNets      []string // the peers' networks, in turn
		largest       int
	}{
		{"udp4", "udp4", "127.0.0.1:0", []string{"udp4"}, 65507},
		{"udp6", "udp6", "[::1]:0", []string{"udp6"}, 65527},
		{"udp dual-stack", "udp", "[::]:0", []string{"udp4", "udp6"}, 65507},
		{"unixgram path", "unixgram", "", []string{"unixgram"}, 65507},
		{"unixgram abstract", "unixgram", "", []string{"unixgram"}, 65507},
	}
	const peersOfEach = 4
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		for _, k := range kinds {
			t.Run(k.name, func(t *testing.T) {
				abstract := k.name == "unixgram abstract"
				address := k.address
				if k.network == "unixgram" {
					address = unixgramPath(t, abstract)
				}
				srv := listenPacketT(t, b, k.network, address)
				require.NoError(t, srv.(interface{ SetReadBuffer(int) error }).SetReadBuffer(4<<20))
				packetEchoT(t, srv)
				// local is where a peer of network pnet binds, to where it
				// sends.
				local := func(pnet string) (string, net.Addr) {
					port := 0
					if a, ok := srv.LocalAddr().(*net.UDPAddr); ok {
						port = a.Port
					}
					switch pnet {
					case "udp4":
						return "127.0.0.1:0", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
					case "udp6":
						return "[::1]:0", &net.UDPAddr{IP: net.IPv6loopback, Port: port}
					}
					return unixgramPath(t, abstract), srv.LocalAddr()
				}

				var peers []*echoPeer
				unconnected := func(name string, pc net.PacketConn, to net.Addr) *echoPeer {
					_ = pc.(interface{ SetReadBuffer(int) error }).SetReadBuffer(1 << 20)
					return &echoPeer{name: name, conn: pc,
						write: func(p []byte) error { _, err := pc.WriteTo(p, to); return err },
						read:  func(p []byte) (int, error) { n, _, err := pc.ReadFrom(p); return n, err }}
				}
				for i := range peersOfEach {
					pnet := k.peerNets[i%len(k.peerNets)]
					laddr, to := local(pnet)
					peers = append(peers,
						unconnected(fmt.Sprintf("stdlib %s %d", pnet, i), listenPacketT(t, stdlibBackend, pnet, laddr), to))
					laddr, to = local(pnet)
					peers = append(peers,
						unconnected(fmt.Sprintf("%s %s %d", b.name, pnet, i), listenPacketT(t, b, pnet, laddr), to))
					if k.network != "unixgram" { // a dialed Unix socket is unnamed: no echo could come back
						c := dialPacketT(t, b, pnet, to.String())
						peers = append(peers, &echoPeer{name: fmt.Sprintf("%s dialed %s %d", b.name, pnet, i), conn: c,
							write: func(p []byte) error { _, err := c.Write(p); return err }, read: c.Read})
					}
				}
				sizes := []int{0, 1, 7, 8, 100, 1200, 1472, 1500, 8192, 32768, k.largest, 0, 512, k.largest - 1, 3}
				var resent atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, len(peers))
				for i, p := range peers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs <- p.roundTrips(i, sizes, &resent)
					}()
				}
				require.True(t, waitTimeout(&wg, 120*time.Second), "peers still running")
				close(errs)
				for err := range errs {
					assert.NoError(t, err)
				}
				t.Logf("%d peers × %d datagrams, %d sent again", len(peers), len(sizes), resent.Load())
			})
		}
	})
}

// TestPacketTruncation reads datagrams larger than the reader's buffer,
// and empty ones, with every read method, beside net: the same bytes, the
// same counts and flags (MSG_TRUNC), and the rest of the datagram gone.
func TestPacketTruncation(t *testing.T) {
	guard(t, 60*time.Second)
	type readResult struct{ n, flags int }
	reads := []struct {
		name string
		read func(c udpAPI, b []byte) (readResult, error)
	}{
		{"Read", func(c udpAPI, b []byte) (readResult, error) { n, err := c.Read(b); return readResult{n, 0}, err }},
		{"ReadFrom", func(c udpAPI, b []byte) (readResult, error) { n, _, err := c.ReadFrom(b); return readResult{n, 0}, err }},
		{"ReadFromUDPAddrPort", func(c udpAPI, b []byte) (readResult, error) {
			n, _, err := c.ReadFromUDPAddrPort(b)
			return readResult{n, 0}, err
		}},
		{"ReadMsgUDP", func(c udpAPI, b []byte) (readResult, error) {
			n, _, flags, _, err := c.ReadMsgUDP(b, nil)
			return readResult{n, flags}, err
		}},
		{"ReadBatch", func(c udpAPI, b []byte) (readResult, error) {
			ms := []ipv4.Message{{Buffers: [][]byte{b}}}
			_, err := batchReader(c).ReadBatch(ms, 0)
			return readResult{ms[0].N, ms[0].Flags}, err
		}},
	}
	sizes := []struct{ datagram, buf int }{{100, 10}, {100, 100}, {100, 0}, {0, 10}, {0, 0}, {65507, 1500}}
	run := func(t *testing.T, b *backend, read int) []string {
		c := listenPacketT(t, b, "udp4", "127.0.0.1:0").(udpAPI)
		peer := udpPeerT(t, "udp4")
		var out []string
		for _, sz := range sizes {
			for _, d := range []int{sz.datagram, 5} { // then a small one: the cut datagram's rest is gone
				_, err := peer.WriteTo(datagram(1, d, d), c.LocalAddr())
				require.NoError(t, err)
			}
			for _, bufSize := range []int{sz.buf, 64} {
				buf := make([]byte, bufSize)
				require.NoError(t, c.SetReadDeadline(time.Now().Add(stepTimeout)))
				r, err := reads[read].read(c, buf)
				require.NoError(t, err)
				out = append(out, fmt.Sprintf("buf %d: n=%d flags=%#x bytes=%x", bufSize, r.n, r.flags, buf[:max(r.n, 0)]))
			}
		}
		return out
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		for i, r := range reads {
			t.Run(r.name, func(t *testing.T) {
				want := run(t, stdlibBackend, i)
				assert.Equal(t, want, run(t, b, i))
			})
		}
	})
}

// batchReader is what ReadBatch is read through: ringnet's UDPConn has
// its own, the standard library's is read through x/net/ipv4.
func batchReader(c udpAPI) interface {
	ReadBatch([]ipv4.Message, int) (int, error)
} {
	if br, ok := c.(interface {
		ReadBatch([]ipv4.Message, int) (int, error)
	}); ok {
		return br
	}
	return ipv4.NewPacketConn(c)
}

// TestPacketICMPErrors sends from a connected socket to a port nobody
// listens on: the ICMP port-unreachable comes back as ECONNREFUSED, to the
// next read or the next write, once, as with net.
func TestPacketICMPErrors(t *testing.T) {
	guard(t, 60*time.Second)
	closedPort := func(t *testing.T) string {
		c := udpPeerT(t, "udp4")
		addr := c.LocalAddr().String()
		c.Close()
		return addr
	}
	seqs := []struct {
		name string
		do   []func(c net.Conn) error
	}{
		{"write, read", []func(net.Conn) error{write1, read1}},
		{"write, write, write", []func(net.Conn) error{write1, pause, write1, write1}},
		{"write, read, read", []func(net.Conn) error{write1, read1, read1}},
	}
	run := func(t *testing.T, b *backend, seq int) []string {
		c := dialPacketT(t, b, "udp4", closedPort(t))
		var out []string
		for _, step := range seqs[seq].do {
			chain := errChain(step(c))
			if len(chain) > 0 {
				chain[len(chain)-1] = describe("%s", chain[len(chain)-1])
			}
			out = append(out, fmt.Sprint(chain))
		}
		return out
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		for i, s := range seqs {
			t.Run(s.name, func(t *testing.T) {
				want := run(t, stdlibBackend, i)
				t.Logf("stdlib: %q", want)
				assert.Equal(t, want, run(t, b, i))
			})
		}
	})
}

// TestPacketErrorThenData has a connected socket meet an ICMP error for a
// port nobody listens on, then the port's new owner answer: the writes,
// the read that finds nothing and the read of the answer go as with net
// (the loop receives on after the error).
func TestPacketErrorThenData(t *testing.T) {
	guard(t, 60*time.Second)
	run := func(t *testing.T, b *backend) []string {
		hold := udpPeerT(t, "udp4")
		port := hold.LocalAddr().String()
		hold.Close()
		c := dialPacketT(t, b, "udp4", port)
		var out []string
		for range 2 {
			out = append(out, fmt.Sprint(errChain(write1(c))))
			time.Sleep(50 * time.Millisecond)
		}
		out = append(out, describe("%v", errChain(read1(c))))
		owner, err := net.ListenPacket("udp4", port)
		require.NoError(t, err)
		defer owner.Close()
		_, err = owner.WriteTo([]byte("hello"), c.LocalAddr())
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(stepTimeout)))
		buf := make([]byte, 10)
		n, err := c.Read(buf)
		out = append(out, fmt.Sprintf("%q %v", buf[:n], err))
		return out
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		want := run(t, stdlibBackend)
		t.Logf("stdlib: %q", want)
		assert.Equal(t, want, run(t, b))
	})
}

func write1(c net.Conn) error { _, err := c.Write([]byte("x")); return err }

func read1(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	return err
}

// pause lets the ICMP message come back.
func pause(net.Conn) error { time.Sleep(50 * time.Millisecond); return nil }

// TestPacketFullSocket blocks a write on a full socket (a connected Unix
// datagram socket whose peer reads nothing) and checks that it waits
// without spinning, ends at its deadline or at Close as net's does, and
// goes out once the peer reads. (An unconnected Unix datagram socket
// would not do: there the kernel wakes a writer waiting for room each
// time its failed send frees its buffer, and net's spins, at 0.4 s of
// CPU per 0.5 s blocked on this machine.)
func TestPacketFullSocket(t *testing.T) {
	guard(t, 120*time.Second)
	// fill writes until a write blocks, and returns that write's result.
	fill := func(t *testing.T, c net.Conn) chan error {
		errc := make(chan error, 1)
		go func() {
			for {
				if _, err := c.Write(make([]byte, 1000)); err != nil {
					errc <- err
					return
				}
			}
		}()
		return errc
	}
	blocked := func(t *testing.T, errc chan error) {
		// Blocked: no result for a while, and the process idle meanwhile.
		select {
		case err := <-errc:
			t.Fatalf("the write returned %v instead of waiting for room", err)
		case <-time.After(200 * time.Millisecond):
		}
		c0 := processCPU()
		time.Sleep(500 * time.Millisecond)
		used := processCPU() - c0
		t.Logf("CPU while blocked for 500ms: %v", used)
		assert.Less(t, used, 100*time.Millisecond, "a write waiting for room spins")
	}
	pair := func(t *testing.T, b *backend) (peer net.PacketConn, c net.Conn) {
		peer = listenPacketT(t, stdlibBackend, "unixgram", unixgramPath(t, false))
		return peer, dialPacketT(t, b, "unixgram", peer.LocalAddr().String())
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		t.Run("room", func(t *testing.T) {
			peer, c := pair(t, b)
			errc := fill(t, c)
			blocked(t, errc)
			// The peer reads: the blocked write goes out, and the writer,
			// which writes on, blocks again.
			require.NoError(t, peer.SetReadDeadline(time.Now().Add(stepTimeout)))
			for range 20 {
				_, _, err := peer.ReadFrom(make([]byte, 2000))
				require.NoError(t, err)
			}
			require.NoError(t, c.SetWriteDeadline(time.Now().Add(300*time.Millisecond)))
			err := <-errc
			assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "blocked again, then the deadline")
		})
		t.Run("deadline", func(t *testing.T) {
			_, c := pair(t, b)
			errc := fill(t, c)
			blocked(t, errc)
			require.NoError(t, c.SetWriteDeadline(time.Now().Add(50*time.Millisecond)))
			err := <-errc
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout())
			assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		})
		t.Run("close", func(t *testing.T) {
			_, c := pair(t, b)
			errc := fill(t, c)
			blocked(t, errc)
			require.NoError(t, c.Close())
			err := waitErr(t, errc, "Write")
			assert.ErrorIs(t, err, net.ErrClosed)
			var oe *net.OpError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, "write", oe.Op)
		})
	})
}

// TestPacketCloseUnblocks checks that Close ends a blocked read with
// net.ErrClosed, as net's does: the same chain of errors.
func TestPacketCloseUnblocks(t *testing.T) {
	guard(t, 60*time.Second)
	reads := []struct {
		name string
		read func(c udpAPI) error
	}{
		{"ReadFrom", func(c udpAPI) error { _, _, err := c.ReadFrom(make([]byte, 10)); return err }},
		{"ReadMsgUDP", func(c udpAPI) error { _, _, _, _, err := c.ReadMsgUDP(make([]byte, 10), nil); return err }},
		{"Read", func(c udpAPI) error { _, err := c.Read(make([]byte, 10)); return err }},
		{"ReadBatch", func(c udpAPI) error {
			_, err := batchReader(c).ReadBatch([]ipv4.Message{{Buffers: [][]byte{make([]byte, 10)}}}, 0)
			return err
		}},
	}
	run := func(t *testing.T, b *backend, i int) []string {
		c := listenPacketT(t, b, "udp4", "127.0.0.1:0").(udpAPI)
		errc := make(chan error, 1)
		go func() { errc <- reads[i].read(c) }()
		time.Sleep(100 * time.Millisecond)
		require.NoError(t, c.Close())
		chain := errChain(waitErr(t, errc, reads[i].name))
		chain[len(chain)-1] = describe("%s", chain[len(chain)-1])
		return chain
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		for i, r := range reads {
			t.Run(r.name, func(t *testing.T) {
				want := run(t, stdlibBackend, i)
				t.Logf("stdlib: %q", want)
				assert.Equal(t, want, run(t, b, i))
			})
		}
	})
}

// TestPacketCloseReadIdle shuts a Unix datagram socket's reading side:
// its poll readiness then stays on for good, which must not make a loop
// (or the kernel, on the loop's behalf) spin, while reads wait as net's
// do and datagrams sent before the shutdown are still read.
func TestPacketCloseReadIdle(t *testing.T) {
	guard(t, 60*time.Second)
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		c := listenPacketT(t, b, "unixgram", unixgramPath(t, false)).(unixgramAPI)
		peer := listenPacketT(t, stdlibBackend, "unixgram", unixgramPath(t, false))
		_, err := peer.WriteTo([]byte("before"), c.LocalAddr())
		require.NoError(t, err)
		time.Sleep(50 * time.Millisecond)
		require.NoError(t, c.CloseRead())
		errc := make(chan error, 1)
		go func() {
			buf := make([]byte, 10)
			n, _, err := c.ReadFrom(buf)
			if err == nil && string(buf[:n]) != "before" {
				err = fmt.Errorf("read %q", buf[:n])
			}
			if err == nil {
				_, _, err = c.ReadFrom(buf) // waits, as net's does
			}
			errc <- err
		}()
		requireIdleCPU(t, 500*time.Millisecond)
		select {
		case err := <-errc:
			t.Fatalf("the read after the shutdown returned: %v", err)
		default:
		}
		require.NoError(t, c.Close())
		assert.ErrorIs(t, waitErr(t, errc, "ReadFrom"), net.ErrClosed)
	})
}
