package nettest_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The datagram socket tests: every method of *net.UDPConn and
// *net.UnixConn (unixgram) beside the standard library's, data through
// every kind of socket, and the faults datagram sockets meet. Each runs on
// the standard library as the reference and on every backend that serves
// datagram sockets.

// udpAPI is the *net.UDPConn method set that ringnet's UDPConn shares.
type udpAPI interface {
	net.PacketConn
	net.Conn
	ReadFromUDP(b []byte) (int, *net.UDPAddr, error)
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error)
	ReadMsgUDPAddrPort(b, oob []byte) (n, oobn, flags int, addr netip.AddrPort, err error)
	WriteToUDP(b []byte, addr *net.UDPAddr) (int, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error)
	WriteMsgUDPAddrPort(b, oob []byte, addr netip.AddrPort) (n, oobn int, err error)
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
	SyscallConn() (syscall.RawConn, error)
	File() (*os.File, error)
}

// unixgramAPI is the *net.UnixConn method set that ringnet's UnixConn
// shares.
type unixgramAPI interface {
	net.PacketConn
	net.Conn
	ReadFromUnix(b []byte) (int, *net.UnixAddr, error)
	ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
	WriteToUnix(b []byte, addr *net.UnixAddr) (int, error)
	WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error)
	CloseRead() error
	CloseWrite() error
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
	SyscallConn() (syscall.RawConn, error)
	File() (*os.File, error)
}

// listenPacketT listens on b, closed when the test ends.
func listenPacketT(t *testing.T, b *backend, network, address string) net.PacketConn {
	t.Helper()
	pc, err := b.listenPacket(network, address)
	require.NoError(t, err, "%s: ListenPacket(%q, %q)", b.name, network, address)
	t.Cleanup(func() { pc.Close() })
	return pc
}

// dialPacketT dials on b, closed when the test ends.
func dialPacketT(t *testing.T, b *backend, network, address string) net.Conn {
	t.Helper()
	c, err := b.dialPacket(network, address)
	require.NoError(t, err, "%s: Dial(%q, %q)", b.name, network, address)
	t.Cleanup(func() { c.Close() })
	return c
}

// unixgramPath is a fresh socket path in the test's directory; abstract
// sockets have no file.
func unixgramPath(t *testing.T, abstract bool) string {
	p := filepath.Join(t.TempDir(), "s")
	if abstract {
		return "@ringnet-test" + strings.ReplaceAll(p, "/", "-")
	}
	return p
}

// maskPattern matches what differs between two sockets' results: ports
// and the test's socket paths.
var maskPattern = regexp.MustCompile(`(:\d+\b)|(@?ringnet-test[^ "]*|/tmp/[^ "]*)`)

// describe formats a result with ports and paths blanked, so that a
// backend's results compare with the standard library's.
func describe(format string, args ...any) string {
	return maskPattern.ReplaceAllStringFunc(fmt.Sprintf(format, args...), func(m string) string {
		if m[0] == ':' {
			if m == ":0" {
				return ":0"
			}
			return ":PORT"
		}
		return "PATH"
	})
}

// describeUDPAddr describes an address down to its IP's length.
func describeUDPAddr(a *net.UDPAddr) string {
	if a == nil {
		return "<nil>"
	}
	return describe("%v (IP of %d bytes, zone %q)", a, len(a.IP), a.Zone)
}

// packetOp is one call of the method tests: it returns its results
// (other than the error) described, and its error.
type packetOp[T any] struct {
	name string
	do   func(c T, peer net.Addr) (string, error)
}

// within sets a read deadline 50 ms ahead, for reads that find nothing.
func within[T interface{ SetReadDeadline(time.Time) error }](c T) {
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
}

var pastDeadline = time.Unix(1, 0)

// udpOps are the calls TestUDPMethodErrors makes, on every kind of UDP
// socket, open and closed.
func udpOps() []packetOp[udpAPI] {
	buf := func() []byte { return make([]byte, 64) }
	ap := func(a net.Addr) netip.AddrPort { return a.(*net.UDPAddr).AddrPort() }
	ops := []packetOp[udpAPI]{
		{"Read empty", func(c udpAPI, _ net.Addr) (string, error) { n, err := c.Read(nil); return describe("%d", n), err }},
		{"Read within 50ms", func(c udpAPI, _ net.Addr) (string, error) {
			within(c)
			n, err := c.Read(buf())
			return describe("%d", n), err
		}},
		{"ReadFrom within 50ms", func(c udpAPI, _ net.Addr) (string, error) {
			within(c)
			n, a, err := c.ReadFrom(buf())
			return describe("%d %v", n, a), err
		}},
		{"ReadFrom past the deadline", func(c udpAPI, _ net.Addr) (string, error) {
			_ = c.SetReadDeadline(pastDeadline)
			n, a, err := c.ReadFrom(buf())
			return describe("%d %v", n, a), err
		}},
		{"ReadFromUDP within 50ms", func(c udpAPI, _ net.Addr) (string, error) {
			within(c)
			n, a, err := c.ReadFromUDP(buf())
			return describe("%d %s", n, describeUDPAddr(a)), err
		}},
		{"ReadFromUDPAddrPort within 50ms", func(c udpAPI, _ net.Addr) (string, error) {
			within(c)
			n, a, err := c.ReadFromUDPAddrPort(buf())
			return describe("%d %v %v", n, a, a.IsValid()), err
		}},
		{"ReadMsgUDP within 50ms", func(c udpAPI, _ net.Addr) (string, error) {
			within(c)
			n, oobn, flags, a, err := c.ReadMsgUDP(buf(), buf())
			return describe("%d %d %#x %s", n, oobn, flags, describeUDPAddr(a)), err
		}},
		{"ReadMsgUDPAddrPort within 50ms", func(c udpAPI, _ net.Addr) (string, error) {
			within(c)
			n, oobn, flags, a, err := c.ReadMsgUDPAddrPort(buf(), buf())
			return describe("%d %d %#x %v %v", n, oobn, flags, a, a.IsValid()), err
		}},
		{"Write", func(c udpAPI, _ net.Addr) (string, error) {
			n, err := c.Write([]byte("x"))
			return describe("%d", n), err
		}},
		{"Write empty", func(c udpAPI, _ net.Addr) (string, error) { n, err := c.Write(nil); return describe("%d", n), err }},
		{"Write past the deadline", func(c udpAPI, _ net.Addr) (string, error) {
			_ = c.SetWriteDeadline(pastDeadline)
			n, err := c.Write([]byte("x"))
			return describe("%d", n), err
		}},
		{"WriteTo the peer", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteTo([]byte("x"), p)
			return describe("%d", n), err
		}},
		{"WriteTo empty", func(c udpAPI, p net.Addr) (string, error) { n, err := c.WriteTo(nil, p); return describe("%d", n), err }},
		{"WriteTo past the deadline", func(c udpAPI, p net.Addr) (string, error) {
			_ = c.SetWriteDeadline(pastDeadline)
			n, err := c.WriteTo([]byte("x"), p)
			return describe("%d", n), err
		}},
		{"WriteTo nil", func(c udpAPI, _ net.Addr) (string, error) {
			n, err := c.WriteTo([]byte("x"), nil)
			return describe("%d", n), err
		}},
		{"WriteTo a nil *UDPAddr", func(c udpAPI, _ net.Addr) (string, error) {
			n, err := c.WriteTo([]byte("x"), (*net.UDPAddr)(nil))
			return describe("%d", n), err
		}},
		{"WriteTo a *TCPAddr", func(c udpAPI, _ net.Addr) (string, error) {
			n, err := c.WriteTo([]byte("x"), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
			return describe("%d", n), err
		}},
		{"WriteTo too big", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteTo(make([]byte, 65536), p)
			return describe("%d", n), err
		}},
		{"WriteTo the largest", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteTo(make([]byte, 65507), p)
			return describe("%d", n), err
		}},
		{"WriteToUDP nil", func(c udpAPI, _ net.Addr) (string, error) {
			n, err := c.WriteToUDP([]byte("x"), nil)
			return describe("%d", n), err
		}},
		{"WriteToUDP an IPv6 address", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUDP([]byte("x"), &net.UDPAddr{IP: net.IPv6loopback, Port: p.(*net.UDPAddr).Port})
			return describe("%d", n), err
		}},
		{"WriteToUDP an IPv4 address", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUDP([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p.(*net.UDPAddr).Port})
			return describe("%d", n), err
		}},
		{"WriteToUDP a malformed IP", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUDP([]byte("x"), &net.UDPAddr{IP: net.IP{1, 2, 3}, Port: 9})
			return describe("%d", n), err
		}},
		{"WriteToUDP an unknown zone", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUDP([]byte("x"), &net.UDPAddr{IP: net.ParseIP("fe80::1"), Port: 9, Zone: "nosuchif0"})
			return describe("%d", n), err
		}},
		{"WriteToUDPAddrPort the peer", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUDPAddrPort([]byte("x"), ap(p))
			return describe("%d", n), err
		}},
		{"WriteToUDPAddrPort zero", func(c udpAPI, _ net.Addr) (string, error) {
			n, err := c.WriteToUDPAddrPort([]byte("x"), netip.AddrPort{})
			return describe("%d", n), err
		}},
		{"WriteToUDPAddrPort IPv6", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(netip.IPv6Loopback(), ap(p).Port()))
			return describe("%d", n), err
		}},
		{"WriteToUDPAddrPort IPv4-mapped", func(c udpAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), ap(p).Port()))
			return describe("%d", n), err
		}},
		{"WriteMsgUDP the peer", func(c udpAPI, p net.Addr) (string, error) {
			n, oobn, err := c.WriteMsgUDP([]byte("x"), nil, p.(*net.UDPAddr))
			return describe("%d %d", n, oobn), err
		}},
		{"WriteMsgUDP nil", func(c udpAPI, _ net.Addr) (string, error) {
			n, oobn, err := c.WriteMsgUDP([]byte("x"), nil, nil)
			return describe("%d %d", n, oobn), err
		}},
		{"WriteMsgUDP malformed control data", func(c udpAPI, p net.Addr) (string, error) {
			n, oobn, err := c.WriteMsgUDP([]byte("x"), []byte("not a control message"), p.(*net.UDPAddr))
			return describe("%d %d", n, oobn), err
		}},
		{"WriteMsgUDPAddrPort the peer", func(c udpAPI, p net.Addr) (string, error) {
			n, oobn, err := c.WriteMsgUDPAddrPort([]byte("x"), nil, ap(p))
			return describe("%d %d", n, oobn), err
		}},
		{"WriteMsgUDPAddrPort zero", func(c udpAPI, _ net.Addr) (string, error) {
			n, oobn, err := c.WriteMsgUDPAddrPort([]byte("x"), nil, netip.AddrPort{})
			return describe("%d %d", n, oobn), err
		}},
		{"LocalAddr and RemoteAddr", func(c udpAPI, _ net.Addr) (string, error) {
			return describe("%T %v %T %v", c.LocalAddr(), c.LocalAddr(), c.RemoteAddr(), c.RemoteAddr()), nil
		}},
	}
	return append(ops, commonPacketOps[udpAPI]()...)
}

// packetCommon is what both socket kinds share.
type packetCommon interface {
	net.Conn
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
	SyscallConn() (syscall.RawConn, error)
	File() (*os.File, error)
}

// commonPacketOps are the calls of net's conn type, and the raw
// connection's, for every datagram socket.
func commonPacketOps[T packetCommon]() []packetOp[T] {
	noResult := func(f func(c T) error) func(c T, _ net.Addr) (string, error) {
		return func(c T, _ net.Addr) (string, error) { return "", f(c) }
	}
	ops := []packetOp[T]{
		{"Close", noResult(func(c T) error { return c.Close() })},
		{"SetDeadline", noResult(func(c T) error { return c.SetDeadline(time.Now().Add(time.Hour)) })},
		{"SetReadDeadline", noResult(func(c T) error { return c.SetReadDeadline(time.Now().Add(time.Hour)) })},
		{"SetWriteDeadline", noResult(func(c T) error { return c.SetWriteDeadline(time.Now().Add(time.Hour)) })},
		{"SetReadBuffer", noResult(func(c T) error { return c.SetReadBuffer(1 << 16) })},
		{"SetWriteBuffer", noResult(func(c T) error { return c.SetWriteBuffer(1 << 16) })},
		{"SetReadBuffer negative", noResult(func(c T) error { return c.SetReadBuffer(-1) })},
		{"raw Read past the read deadline", noResult(func(c T) error {
			_ = c.SetReadDeadline(pastDeadline)
			return raw(c, func(rc syscall.RawConn) error { return rc.Read(func(uintptr) bool { return false }) })
		})},
		{"raw Write past the write deadline", noResult(func(c T) error {
			_ = c.SetWriteDeadline(pastDeadline)
			return raw(c, func(rc syscall.RawConn) error { return rc.Write(func(uintptr) bool { return false }) })
		})},
	}
	for _, op := range fdOps[T]() {
		ops = append(ops, packetOp[T]{op.name, noResult(op.do)})
	}
	return ops
}

// comparePacketOps runs each operation, on every backend, against an open
// and a closed socket that newT makes on a backend (with a standard
// library peer whose address it returns), and compares the results and
// the error (errChain) with the standard library's, got the same way.
func comparePacketOps[T interface{ Close() error }](t *testing.T, ops []packetOp[T], newT func(t *testing.T, b *backend) (T, net.Addr)) {
	run := func(t *testing.T, b *backend, closed bool, op packetOp[T]) (string, []string) {
		c, peer := newT(t, b)
		if closed {
			require.NoError(t, c.Close())
		}
		res, err := op.do(c, peer)
		chain := errChain(err)
		if len(chain) > 0 {
			chain[len(chain)-1] = describe("%s", chain[len(chain)-1])
		}
		return res, chain
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		for _, closed := range []bool{false, true} {
			state := "open"
			if closed {
				state = "closed"
			}
			t.Run(state, func(t *testing.T) {
				for _, op := range ops {
					t.Run(op.name, func(t *testing.T) {
						wantRes, want := run(t, stdlibBackend, closed, op)
						gotRes, got := run(t, b, closed, op)
						t.Logf("stdlib: %s %q", wantRes, want)
						assert.Equal(t, wantRes, gotRes, "results")
						assert.Equal(t, want, got, "errors, outermost first, then the text")
					})
				}
			})
		}
	})
}

// udpPeerT is a standard library UDP socket on network's loopback.
func udpPeerT(t *testing.T, network string) *net.UDPConn {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "udp6" {
		addr = "[::1]:0"
	}
	c, err := net.ListenPacket(network, addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c.(*net.UDPConn)
}

// TestUDPMethodErrors calls every method of *net.UDPConn on UDP sockets
// of every kind (IPv4, IPv6 and dual-stack, listening and dialed), open
// and closed, and compares what each returns with what *net.UDPConn
// returns in the same state: the same results and the same chain of
// errors, down to their text.
func TestUDPMethodErrors(t *testing.T) {
	guard(t, 300*time.Second)
	kinds := []struct {
		name, network, listen string
		dial                  bool
	}{
		{"udp4 listening", "udp4", "127.0.0.1:0", false},
		{"udp6 listening", "udp6", "[::1]:0", false},
		{"udp dual-stack listening", "udp", ":0", false},
		{"udp4 dialed", "udp4", "", true},
		{"udp6 dialed", "udp6", "", true},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			peerNet := k.network
			if peerNet == "udp" {
				peerNet = "udp4"
			}
			comparePacketOps(t, udpOps(), func(t *testing.T, b *backend) (udpAPI, net.Addr) {
				peer := udpPeerT(t, peerNet)
				if k.dial {
					return dialPacketT(t, b, k.network, peer.LocalAddr().String()).(udpAPI), peer.LocalAddr()
				}
				return listenPacketT(t, b, k.network, k.listen).(udpAPI), peer.LocalAddr()
			})
		})
	}
}

// unixgramOps are the calls TestUnixgramMethodErrors makes.
func unixgramOps() []packetOp[unixgramAPI] {
	buf := func() []byte { return make([]byte, 64) }
	ua := func(p net.Addr) *net.UnixAddr { return p.(*net.UnixAddr) }
	ops := []packetOp[unixgramAPI]{
		{"Read empty", func(c unixgramAPI, _ net.Addr) (string, error) { n, err := c.Read(nil); return describe("%d", n), err }},
		{"Read within 50ms", func(c unixgramAPI, _ net.Addr) (string, error) {
			within(c)
			n, err := c.Read(buf())
			return describe("%d", n), err
		}},
		{"ReadFrom within 50ms", func(c unixgramAPI, _ net.Addr) (string, error) {
			within(c)
			n, a, err := c.ReadFrom(buf())
			return describe("%d %v", n, a), err
		}},
		{"ReadFromUnix within 50ms", func(c unixgramAPI, _ net.Addr) (string, error) {
			within(c)
			n, a, err := c.ReadFromUnix(buf())
			return describe("%d %v", n, a), err
		}},
		{"ReadMsgUnix within 50ms", func(c unixgramAPI, _ net.Addr) (string, error) {
			within(c)
			n, oobn, flags, a, err := c.ReadMsgUnix(buf(), buf())
			return describe("%d %d %#x %v", n, oobn, flags, a), err
		}},
		{"Write", func(c unixgramAPI, _ net.Addr) (string, error) {
			n, err := c.Write([]byte("x"))
			return describe("%d", n), err
		}},
		{"WriteTo the peer", func(c unixgramAPI, p net.Addr) (string, error) {
			n, err := c.WriteTo([]byte("x"), p)
			return describe("%d", n), err
		}},
		{"WriteTo nil", func(c unixgramAPI, _ net.Addr) (string, error) {
			n, err := c.WriteTo([]byte("x"), nil)
			return describe("%d", n), err
		}},
		{"WriteTo a *UDPAddr", func(c unixgramAPI, _ net.Addr) (string, error) {
			n, err := c.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
			return describe("%d", n), err
		}},
		{"WriteToUnix nil", func(c unixgramAPI, _ net.Addr) (string, error) {
			n, err := c.WriteToUnix([]byte("x"), nil)
			return describe("%d", n), err
		}},
		{"WriteToUnix a unix (stream) address", func(c unixgramAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUnix([]byte("x"), &net.UnixAddr{Name: ua(p).Name, Net: "unix"})
			return describe("%d", n), err
		}},
		{"WriteToUnix a missing path", func(c unixgramAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUnix([]byte("x"), &net.UnixAddr{Name: "/nonexistent/ringnet-test", Net: "unixgram"})
			return describe("%d", n), err
		}},
		{"WriteToUnix a name too long", func(c unixgramAPI, p net.Addr) (string, error) {
			n, err := c.WriteToUnix([]byte("x"), &net.UnixAddr{Name: "/" + strings.Repeat("x", 200), Net: "unixgram"})
			return describe("%d", n), err
		}},
		{"WriteMsgUnix the peer", func(c unixgramAPI, p net.Addr) (string, error) {
			n, oobn, err := c.WriteMsgUnix([]byte("x"), nil, ua(p))
			return describe("%d %d", n, oobn), err
		}},
		{"WriteMsgUnix nil", func(c unixgramAPI, _ net.Addr) (string, error) {
			n, oobn, err := c.WriteMsgUnix([]byte("x"), nil, nil)
			return describe("%d %d", n, oobn), err
		}},
		{"CloseRead, then Read", func(c unixgramAPI, _ net.Addr) (string, error) {
			if err := c.CloseRead(); err != nil {
				return "", err
			}
			within(c)
			n, a, err := c.ReadFrom(buf())
			return describe("%d %v", n, a), err
		}},
		{"CloseWrite, then WriteTo", func(c unixgramAPI, p net.Addr) (string, error) {
			if err := c.CloseWrite(); err != nil {
				return "", err
			}
			n, err := c.WriteTo([]byte("x"), p)
			return describe("%d", n), err
		}},
		{"LocalAddr and RemoteAddr", func(c unixgramAPI, _ net.Addr) (string, error) {
			return describe("%T %v %T %v", c.LocalAddr(), c.LocalAddr(), c.RemoteAddr(), c.RemoteAddr()), nil
		}},
	}
	return append(ops, commonPacketOps[unixgramAPI]()...)
}

// TestUnixgramMethodErrors is TestUDPMethodErrors for Unix datagram
// sockets (path and abstract names, listening and dialed).
func TestUnixgramMethodErrors(t *testing.T) {
	guard(t, 300*time.Second)
	for _, abstract := range []bool{false, true} {
		for _, dial := range []bool{false, true} {
			name := fmt.Sprintf("abstract=%v dialed=%v", abstract, dial)
			t.Run(name, func(t *testing.T) {
				comparePacketOps(t, unixgramOps(), func(t *testing.T, b *backend) (unixgramAPI, net.Addr) {
					peer := listenPacketT(t, stdlibBackend, "unixgram", unixgramPath(t, abstract))
					if dial {
						return dialPacketT(t, b, "unixgram", peer.LocalAddr().String()).(unixgramAPI), peer.LocalAddr()
					}
					return listenPacketT(t, b, "unixgram", unixgramPath(t, abstract)).(unixgramAPI), peer.LocalAddr()
				})
			})
		}
	}
}

// TestPacketUnixAddrs checks the source addresses a Unix datagram reader
// sees, beside net's: a path, an abstract name, and an unnamed sender.
func TestPacketUnixAddrs(t *testing.T) {
	guard(t, 60*time.Second)
	senders := []struct {
		name string
		make func(t *testing.T, to string) net.Conn
	}{
		{"path", func(t *testing.T, to string) net.Conn {
			c, err := net.DialUnix("unixgram", &net.UnixAddr{Name: unixgramPath(t, false), Net: "unixgram"}, &net.UnixAddr{Name: to, Net: "unixgram"})
			require.NoError(t, err)
			return c
		}},
		{"abstract", func(t *testing.T, to string) net.Conn {
			c, err := net.DialUnix("unixgram", &net.UnixAddr{Name: unixgramPath(t, true), Net: "unixgram"}, &net.UnixAddr{Name: to, Net: "unixgram"})
			require.NoError(t, err)
			return c
		}},
		{"unnamed", func(t *testing.T, to string) net.Conn {
			c, err := net.Dial("unixgram", to)
			require.NoError(t, err)
			return c
		}},
	}
	run := func(t *testing.T, b *backend, sender int) []string {
		pc := listenPacketT(t, b, "unixgram", unixgramPath(t, false)).(unixgramAPI)
		s := senders[sender].make(t, pc.LocalAddr().String())
		defer s.Close()
		var out []string
		for _, read := range []func() (int, any, error){
			func() (int, any, error) { return pc.ReadFrom(make([]byte, 8)) },
			func() (int, any, error) { return pc.ReadFromUnix(make([]byte, 8)) },
			func() (int, any, error) {
				n, _, _, a, err := pc.ReadMsgUnix(make([]byte, 8), nil)
				return n, a, err
			},
		} {
			_, err := s.Write([]byte("hi"))
			require.NoError(t, err)
			require.NoError(t, pc.SetReadDeadline(time.Now().Add(stepTimeout)))
			n, a, err := read()
			require.NoError(t, err)
			local := ""
			if s.LocalAddr() != nil {
				local = s.LocalAddr().String()
			}
			out = append(out, fmt.Sprintf("%d %T %v same=%v", n, a, maskPattern.ReplaceAllString(fmt.Sprint(a), "PATH"),
				a != nil && fmt.Sprint(a) == local))
		}
		return out
	}
	forEachPacketBackend(t, func(t *testing.T, b *backend) {
		for i, s := range senders {
			t.Run(s.name, func(t *testing.T) {
				want := run(t, stdlibBackend, i)
				t.Logf("stdlib: %q", want)
				assert.Equal(t, want, run(t, b, i))
			})
		}
	})
}
