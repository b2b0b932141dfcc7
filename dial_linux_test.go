package ringnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"
)

// fullListener listens on host:port (port 0: any) with a backlog of 0 and
// never accepts, then fills its accept queue, so that further SYNs are
// dropped and a connect to it cannot complete. It returns the port.
func fullListener(t *testing.T, host string, port int) int {
	t.Helper()
	ip := net.ParseIP(host)
	var fd int
	var err error
	if ip4 := ip.To4(); ip4 != nil {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		require.NoError(t, unix.Bind(fd, sa))
	} else {
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		require.NoError(t, unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1))
		sa := &unix.SockaddrInet6{Port: port}
		copy(sa.Addr[:], ip.To16())
		require.NoError(t, unix.Bind(fd, sa))
	}
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Listen(fd, 0))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		port = sa.Port
	case *unix.SockaddrInet6:
		port = sa.Port
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	for range 16 {
		// A dropped SYN is retried after a second: a dial that waits
		// that long means the queue is really full, not the machine slow.
		c, err := net.DialTimeout("tcp", addr, 1500*time.Millisecond)
		if err != nil {
			return port
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return 0
}

// TestDialTimeout dials a listener whose SYNs are dropped: a 100 ms
// timeout ends the in-flight connect with a timeout error, and a context
// cancelled meanwhile ends it with context.Canceled in the chain.
func TestDialTimeout(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(fullListener(t, "127.0.0.1", 0)))
	forEachBackend(t, func(t *testing.T, backend string) {
		t.Run("timeout", func(t *testing.T) {
			d := Dialer{Backend: backend, Timeout: 100 * time.Millisecond}
			start := time.Now()
			c, err := d.Dial("tcp", addr)
			elapsed := time.Since(start)
			require.Error(t, err)
			assert.Nil(t, c)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout(), "want a timeout, got %v", err)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, "dial tcp "+addr+": i/o timeout", err.Error(), "reads as net's")
			assert.GreaterOrEqual(t, elapsed, 100*time.Millisecond)
			assert.Less(t, elapsed, 2*time.Second)
		})
		t.Run("cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			d := Dialer{Backend: backend}
			c, err := d.DialContext(ctx, "tcp", addr)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, "dial tcp "+addr+": operation was canceled", err.Error(), "reads as net's")
		})
		t.Run("DialTimeout", func(t *testing.T) {
			t.Setenv(BackendEnv, backend)
			c, err := DialTimeout("tcp", addr, 100*time.Millisecond)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Equal(t, "dial tcp "+addr+": i/o timeout", err.Error(), "reads as net's")
		})
		t.Run("deprecated Cancel channel", func(t *testing.T) {
			abort := make(chan struct{})
			time.AfterFunc(50*time.Millisecond, func() { close(abort) })
			d := Dialer{Backend: backend, Cancel: abort}
			c, err := d.Dial("tcp", addr)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, "dial tcp "+addr+": operation was canceled", err.Error(), "reads as net's")
		})
	})
}

// TestDialFallback resolves a name with an IPv4 and an IPv6 address
// (through a DNS server of the test's own on loopback). Where only the
// second family listens, the first is refused and the dial goes on to the
// next address; where the first family's SYNs are dropped, the second is
// raced after FallbackDelay (dual-stack fast fallback); a Dialer that
// disables fallback (negative FallbackDelay) waits for its timeout.
func TestDialFallback(t *testing.T) {
	resolver := fakeResolver(t, map[string][]string{"dual.test.": {"127.0.0.1", "::1"}})
	ips, err := resolver.LookupIPAddr(context.Background(), "dual.test")
	require.NoError(t, err)
	require.Len(t, ips, 2)
	first, second := ips[0].IP.String(), ips[1].IP.String()

	forEachBackend(t, func(t *testing.T, backend string) {
		t.Run("refused", func(t *testing.T) {
			ln, err := net.Listen("tcp", net.JoinHostPort(second, "0"))
			require.NoError(t, err)
			defer ln.Close()
			go acceptAll(ln)
			d := Dialer{Backend: backend, Resolver: resolver, Timeout: 5 * time.Second}
			c, err := d.Dial("tcp", net.JoinHostPort("dual.test", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)))
			require.NoError(t, err)
			defer c.Close()
			assert.Equal(t, second, c.RemoteAddr().(*net.TCPAddr).IP.String())
		})
		t.Run("dropped", func(t *testing.T) {
			port := fullListener(t, first, 0)
			ln, err := net.Listen("tcp", net.JoinHostPort(second, strconv.Itoa(port)))
			require.NoError(t, err)
			defer ln.Close()
			go acceptAll(ln)
			addr := net.JoinHostPort("dual.test", strconv.Itoa(port))

			const delay = 100 * time.Millisecond
			d := Dialer{Backend: backend, Resolver: resolver, FallbackDelay: delay, Timeout: 5 * time.Second}
			start := time.Now()
			c, err := d.Dial("tcp", addr)
			elapsed := time.Since(start)
			require.NoError(t, err)
			defer c.Close()
			assert.Equal(t, second, c.RemoteAddr().(*net.TCPAddr).IP.String())
			assert.GreaterOrEqual(t, elapsed, delay, "the fallback waits for FallbackDelay")
			assert.Less(t, elapsed, 3*time.Second, "the fallback does not wait for the first family's timeout")

			// No fallback: the addresses are tried one after another,
			// and the first takes the whole 300 ms (a share is never
			// under 2 s while there is that much time), so the dial
			// times out without reaching the second.
			d = Dialer{Backend: backend, Resolver: resolver, FallbackDelay: -1, Timeout: 300 * time.Millisecond}
			c2, err := d.Dial("tcp", addr)
			require.Error(t, err, "with fallback disabled the dropped family takes the whole timeout")
			assert.Nil(t, c2)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout(), "%v", err)
		})
	})
}

// TestDialerFields checks the net.Dialer fields not covered above, on
// both backends, against a live listener.
func TestDialerFields(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go acceptAll(ln)
	addr := ln.Addr().String()
	errHook := errors.New("hook refused")

	tests := []struct {
		name  string
		d     Dialer
		check func(t *testing.T, c net.Conn, err error)
	}{
		{"Deadline passed", Dialer{Deadline: time.Now().Add(-time.Second)}, func(t *testing.T, c net.Conn, err error) {
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout())
		}},
		{"ControlContext sees the context and can refuse", Dialer{
			ControlContext: func(ctx context.Context, network, address string, _ syscall.RawConn) error {
				if ctx == nil || network != "tcp4" || address != addr {
					return errors.New("unexpected arguments")
				}
				return errHook
			},
		}, func(t *testing.T, c net.Conn, err error) {
			assert.ErrorIs(t, err, errHook)
			var oe *net.OpError
			assert.ErrorAs(t, err, &oe)
		}},
		{"KeepAlive negative disables it", Dialer{KeepAlive: -1}, func(t *testing.T, c net.Conn, err error) {
			require.NoError(t, err)
			on, err := unix.GetsockoptInt(fdOf(t, c), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
			require.NoError(t, err)
			assert.Equal(t, 0, on)
		}},
		{"KeepAliveConfig", Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 42 * time.Second, Interval: 7 * time.Second, Count: 3}},
			func(t *testing.T, c net.Conn, err error) {
				require.NoError(t, err)
				fd := fdOf(t, c)
				for opt, want := range map[int]int{unix.TCP_KEEPIDLE: 42, unix.TCP_KEEPINTVL: 7, unix.TCP_KEEPCNT: 3} {
					got, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, opt)
					require.NoError(t, err)
					assert.Equal(t, want, got, "option %d", opt)
				}
			}},
	}
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := tt.d
				d.Backend = backend
				c, err := d.Dial("tcp", addr)
				if c != nil {
					defer c.Close()
				}
				tt.check(t, c, err)
			})
		}
	})
}

// fakeResolver returns a pure-Go resolver whose DNS server is a
// goroutine of the test on 127.0.0.1, answering A and AAAA queries from
// names (fully qualified) and NXDOMAIN otherwise.
func fakeResolver(t *testing.T, names map[string][]string) *net.Resolver {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply, err := dnsAnswer(buf[:n], names); err == nil {
				_, _ = pc.WriteTo(reply, from)
			}
		}
	}()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", pc.LocalAddr().String())
		},
	}
}

func dnsAnswer(query []byte, names map[string][]string) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	h.Response, h.Authoritative = true, true
	ips, ok := names[q.Name.String()]
	if !ok {
		h.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, s := range ips {
		ip := net.ParseIP(s)
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case q.Type == dnsmessage.TypeA && ip.To4() != nil:
			var a dnsmessage.AResource
			copy(a.A[:], ip.To4())
			err = b.AResource(rh, a)
		case q.Type == dnsmessage.TypeAAAA && ip.To4() == nil:
			var a dnsmessage.AAAAResource
			copy(a.AAAA[:], ip.To16())
			err = b.AAAAResource(rh, a)
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// TestDialUnixNameLengths: Unix names at and past the limit of sun_path
// (108 bytes: a path needs its trailing NUL, an abstract name does not)
// dial, or fail, as they do with net.
func TestDialUnixNameLengths(t *testing.T) {
	name := func(prefix string, n int) string { return prefix + strings.Repeat("x", n-len(prefix)) }
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, tt := range []struct {
			name string
			addr string
			ok   bool // net dials it
		}{
			{"abstract, 107 bytes", name("@rn-"+backend, 107), true},
			{"abstract, 108 bytes", name("@rn-"+backend, 108), true},
			{"abstract, 109 bytes", name("@rn-"+backend, 109), false},
			{"path, 108 bytes", name("/tmp/rn-"+backend, 108), false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if ln, err := net.Listen("unix", tt.addr); err == nil {
					defer ln.Close()
					go acceptAll(ln)
				}
				nc, nerr := net.Dial("unix", tt.addr)
				if nerr == nil {
					nc.Close()
				}
				require.Equal(t, tt.ok, nerr == nil, "net: %v", nerr)
				c, err := (&Dialer{Backend: backend}).Dial("unix", tt.addr)
				if err == nil {
					c.Close()
				}
				assert.Equal(t, nerr == nil, err == nil, "net: %v; ringnet: %v", nerr, err)
			})
		}
	})
}

// TestDialLocalAddrFamily: the socket family follows the local address as
// well as the remote one, as with net: an IPv6 LocalAddr (the wildcard
// included) dialing an IPv4 host makes an IPv6 socket that reaches it by
// its IPv4-mapped address.
func TestDialLocalAddrFamily(t *testing.T) {
	ln4, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln4.Close()
	go acceptAll(ln4)
	ln6, err := net.Listen("tcp", "[::1]:0")
	require.NoError(t, err)
	defer ln6.Close()
	go acceptAll(ln6)
	tcp := func(s string) *net.TCPAddr { a, err := net.ResolveTCPAddr("tcp", s); require.NoError(t, err); return a }
	tests := []struct {
		name    string
		network string
		local   *net.TCPAddr
		remote  string
	}{
		{"v6 wildcard to v4", "tcp", tcp("[::]:0"), ln4.Addr().String()},
		{"v4 wildcard to v4", "tcp", tcp("0.0.0.0:0"), ln4.Addr().String()},
		{"v4 loopback to v4", "tcp", tcp("127.0.0.1:0"), ln4.Addr().String()},
		{"v4 wildcard to v6", "tcp", tcp("0.0.0.0:0"), ln6.Addr().String()},
		{"v6 loopback to v6", "tcp", tcp("[::1]:0"), ln6.Addr().String()},
		{"v6 wildcard to v4 over tcp4", "tcp4", tcp("[::]:0"), ln4.Addr().String()},
		{"v6 wildcard to v4 over tcp6", "tcp6", tcp("[::]:0"), ln4.Addr().String()},
	}
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				nc, nerr := (&net.Dialer{LocalAddr: tt.local}).Dial(tt.network, tt.remote)
				c, err := (&Dialer{Backend: backend, LocalAddr: tt.local}).Dial(tt.network, tt.remote)
				assert.Equal(t, nerr == nil, err == nil, "net: %v; ringnet: %v", nerr, err)
				if nerr == nil && err == nil {
					assert.Equal(t, nc.LocalAddr().(*net.TCPAddr).IP.To4() == nil, c.LocalAddr().(*net.TCPAddr).IP.To4() == nil,
						"local address family: net %v, ringnet %v", nc.LocalAddr(), c.LocalAddr())
				}
				for _, c := range []net.Conn{nc, c} {
					if c != nil {
						c.Close()
					}
				}
			})
		}
	})
}

// TestDialAddressChecksLikeNet: a missing address and Unix local addresses
// that net refuses or ignores get the same treatment, on both backends.
func TestDialAddressChecksLikeNet(t *testing.T) {
	dir := t.TempDir()
	server := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", server)
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	tests := []struct {
		name    string
		network string
		address string
		local   net.Addr
	}{
		{"tcp, no address", "tcp", "", nil},
		{"unix, no address", "unix", "", nil},
		{"unix, unnamed local address", "unix", server, &net.UnixAddr{Name: "", Net: "unix"}},
		{"unix, local address of another network", "unix", server, &net.UnixAddr{Name: filepath.Join(dir, "l1"), Net: "unixgram"}},
		{"unix, local address without a network", "unix", server, &net.UnixAddr{Name: filepath.Join(dir, "l2")}},
	}
	// result is what a dial shows: its error's text and kind, or the
	// addresses both ends see.
	result := func(c net.Conn, err error) string {
		if err != nil {
			var ae *net.AddrError
			return fmt.Sprintf("error %q (AddrError %v)", err, errors.As(err, &ae))
		}
		defer c.Close()
		s := <-accepted
		defer s.Close()
		return fmt.Sprintf("local %q, server sees %q", c.LocalAddr(), s.RemoteAddr())
	}
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				nd := net.Dialer{}
				d := Dialer{Backend: backend}
				if tt.local != nil {
					nd.LocalAddr, d.LocalAddr = tt.local, tt.local
				}
				want := result(nd.Dial(tt.network, tt.address))
				got := result(d.Dial(tt.network, tt.address))
				assert.Equal(t, want, got)
			})
		}
	})
}
