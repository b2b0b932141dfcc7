package nettest_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xnettest "golang.org/x/net/nettest"
)

// TestConn runs golang.org/x/net/nettest.TestConn with the connection
// accepted by the backend's listener as c1 and a standard library client as
// c2 ("server-c1"), and the other way round ("client-c1").
func TestConn(t *testing.T) {
	guard(t, 150*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		t.Run("server-c1", func(t *testing.T) { xnettest.TestConn(t, makePipe(t, b, false)) })
		t.Run("client-c1", func(t *testing.T) { xnettest.TestConn(t, makePipe(t, b, true)) })
	})
}

// pipeWatchdog bounds each nettest subtest well below the minute nettest
// allows itself: a pipe still open then is closed, which must unblock it.
const pipeWatchdog = 20 * time.Second

func makePipe(t *testing.T, b *backend, swap bool) xnettest.MakePipe {
	return func() (c1, c2 net.Conn, stop func(), err error) {
		ln, err := b.listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, nil, err
		}
		cli, err := net.DialTimeout("tcp", ln.Addr().String(), dialTimeout)
		if err != nil {
			ln.Close()
			return nil, nil, nil, err
		}
		srv, err := acceptTimeout(ln, stepTimeout)
		if err != nil {
			cli.Close()
			ln.Close()
			return nil, nil, nil, err
		}
		var once sync.Once
		closeAll := func() {
			once.Do(func() {
				srv.Close()
				cli.Close()
				ln.Close()
			})
		}
		wd := time.AfterFunc(pipeWatchdog, func() {
			t.Errorf("%s: a nettest subtest still ran after %v: closing its pipe", b.name, pipeWatchdog)
			closeAll()
		})
		stop = func() {
			wd.Stop()
			closeAll()
		}
		if swap {
			return cli, srv, stop, nil
		}
		return srv, cli, stop, nil
	}
}

// tcpConnMethods is the part of *net.TCPConn's method set that ringnet's
// Conn promises besides net.Conn.
type tcpConnMethods interface {
	net.Conn
	CloseRead() error
	CloseWrite() error
	SetNoDelay(noDelay bool) error
	SetKeepAlive(keepalive bool) error
	SetKeepAlivePeriod(d time.Duration) error
	SetLinger(sec int) error
	SyscallConn() (syscall.RawConn, error)
}

// sockoptInt reads an integer socket option of c.
func sockoptInt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	require.True(t, ok, "%T is no syscall.Conn", c)
	rc, err := sc.SyscallConn()
	require.NoError(t, err)
	var v int
	var serr error
	require.NoError(t, rc.Control(func(fd uintptr) { v, serr = getsockoptInt(fd, level, opt) }))
	require.NoError(t, serr)
	return v
}

// TestConnAPI checks the accepted connection's type, addresses, TCPConn
// methods and default socket options against the standard library's.
func TestConnAPI(t *testing.T) {
	guard(t, 60*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		ln := listenT(t, b)
		la, ok := ln.Addr().(*net.TCPAddr)
		require.True(t, ok, "Listener.Addr is %T, want *net.TCPAddr", ln.Addr())
		require.True(t, la.IP.Equal(net.IPv4(127, 0, 0, 1)), "listener address %v", la)
		require.NotZero(t, la.Port)

		cli := dialT(t, ln.Addr().String())
		srv := acceptT(t, ln, stepTimeout)
		tc, ok := srv.(tcpConnMethods)
		require.True(t, ok, "accepted %T lacks some of *net.TCPConn's methods", srv)

		assert.IsType(t, &net.TCPAddr{}, srv.LocalAddr())
		assert.IsType(t, &net.TCPAddr{}, srv.RemoteAddr())
		assert.Equal(t, cli.LocalAddr().String(), srv.RemoteAddr().String())
		assert.Equal(t, cli.RemoteAddr().String(), srv.LocalAddr().String())

		// The standard library sets TCP_NODELAY and turns keep-alive on (15 s)
		// on every accepted connection.
		assert.Equal(t, 1, sockoptInt(t, srv, ipprotoTCP, tcpNoDelay), "TCP_NODELAY by default")
		assert.Equal(t, 1, sockoptInt(t, srv, solSocket, soKeepAlive), "SO_KEEPALIVE by default")
		assert.Equal(t, 15, sockoptInt(t, srv, ipprotoTCP, tcpKeepIdle), "keep-alive idle time by default")

		require.NoError(t, tc.SetNoDelay(false))
		assert.Equal(t, 0, sockoptInt(t, srv, ipprotoTCP, tcpNoDelay))
		require.NoError(t, tc.SetKeepAlivePeriod(42*time.Second))
		assert.Equal(t, 42, sockoptInt(t, srv, ipprotoTCP, tcpKeepIdle))
		require.NoError(t, tc.SetKeepAlive(false))
		assert.Equal(t, 0, sockoptInt(t, srv, solSocket, soKeepAlive))
		require.NoError(t, tc.SetLinger(3))

		// Still a working connection after all that.
		go func() { _, _ = cli.Write([]byte("ping")) }()
		buf := make([]byte, 4)
		require.NoError(t, srv.SetReadDeadline(time.Now().Add(stepTimeout)))
		_, err := srv.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "ping", string(buf))
	})
}

// TestListenConfigControl checks that ListenConfig.Control is called before
// bind with the same arguments as the standard library uses, and that a
// Control error fails Listen.
func TestListenConfigControl(t *testing.T) {
	guard(t, 30*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		var calls []string
		ctl := func(network, address string, c syscall.RawConn) error {
			calls = append(calls, network+" "+address)
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = setsockoptInt(fd, solSocket, soRcvBuf, 1<<16)
			})
			return errors.Join(err, serr)
		}
		ln := listenOptsT(t, b, listenOpts{Control: ctl})
		assert.Equal(t, []string{"tcp4 127.0.0.1:0"}, calls)

		boom := errors.New("boom")
		_, err := b.listenConfig(t.Context(), listenOpts{Control: func(string, string, syscall.RawConn) error { return boom }},
			"tcp", "127.0.0.1:0")
		require.Error(t, err)
		assert.ErrorIs(t, err, boom)
		assert.IsType(t, &net.OpError{}, err)

		// The listener from the first call works.
		cli := dialT(t, ln.Addr().String())
		srv := acceptT(t, ln, stepTimeout)
		require.NoError(t, roundTripPair(srv, cli))
	})
}

// roundTripPair sends a message each way.
func roundTripPair(a, b net.Conn) error {
	for _, d := range [][2]net.Conn{{a, b}, {b, a}} {
		msg := []byte(fmt.Sprintf("hello from %v", d[0].LocalAddr()))
		errc := make(chan error, 1)
		go func() {
			_, err := d[0].Write(msg)
			errc <- err
		}()
		got := make([]byte, len(msg))
		if err := d[1].SetReadDeadline(time.Now().Add(stepTimeout)); err != nil {
			return err
		}
		if _, err := io.ReadFull(d[1], got); err != nil {
			return err
		}
		if err := <-errc; err != nil {
			return err
		}
		if string(got) != string(msg) {
			return fmt.Errorf("got %q, want %q", got, msg)
		}
	}
	return nil
}

// TestZeroRead checks that a zero-length Read returns at once, without data
// pending, and that a zero-length Write is harmless.
func TestZeroRead(t *testing.T) {
	guard(t, 30*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		srv, cli := pairT(t, b)
		for _, buf := range [][]byte{nil, {}} {
			done := make(chan error, 1)
			go func() {
				n, err := srv.Read(buf)
				if n != 0 {
					err = errors.Join(err, fmt.Errorf("n = %d", n))
				}
				done <- err
			}()
			select {
			case err := <-done:
				assert.NoError(t, err)
			case <-time.After(2 * time.Second):
				srv.Close()
				<-done
				t.Fatal("a zero-length Read blocked")
			}
		}
		n, err := srv.Write(nil)
		assert.NoError(t, err)
		assert.Zero(t, n)
		require.NoError(t, roundTripPair(srv, cli))
	})
}

// TestListenNetworks listens on the networks and addresses a server uses
// and checks the listener's address against the standard library's and
// that a client on the loopback can reach it.
func TestListenNetworks(t *testing.T) {
	guard(t, 30*time.Second)
	cases := []struct {
		network, address string
		dial             []string // loopback hosts to dial
	}{
		{"tcp", "127.0.0.1:0", []string{"127.0.0.1"}},
		{"tcp4", "127.0.0.1:0", []string{"127.0.0.1"}},
		{"tcp", "localhost:0", []string{"127.0.0.1"}},
		{"tcp", ":0", []string{"127.0.0.1", "::1"}},
		{"tcp4", ":0", []string{"127.0.0.1"}},
		{"tcp", "[::1]:0", []string{"::1"}},
		{"tcp6", "[::1]:0", []string{"::1"}},
		{"tcp6", ":0", []string{"::1"}},
	}
	forEachBackend(t, func(t *testing.T, b *backend) {
		for _, tc := range cases {
			t.Run(tc.network+" "+tc.address, func(t *testing.T) {
				ref, err := net.Listen(tc.network, tc.address)
				if err != nil {
					t.Skipf("the standard library cannot listen there either: %v", err)
				}
				refAddr := ref.Addr().(*net.TCPAddr)
				ref.Close()
				ln, err := b.listen(tc.network, tc.address)
				require.NoError(t, err)
				t.Cleanup(func() { ln.Close() })
				la, ok := ln.Addr().(*net.TCPAddr)
				require.True(t, ok, "Addr is %T", ln.Addr())
				assert.Equal(t, refAddr.IP.String(), la.IP.String(), "listener IP (stdlib: %v)", refAddr)
				assert.Equal(t, refAddr.Zone, la.Zone)
				require.NotZero(t, la.Port)
				assert.Equal(t, "tcp", ln.Addr().Network())
				for _, host := range tc.dial {
					c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(la.Port)), dialTimeout)
					if err != nil && host == "::1" && tc.address == ":0" && tc.network == "tcp" {
						t.Logf("dialing ::1: %v (no dual-stack loopback?)", err)
						continue
					}
					require.NoError(t, err, "dial %s", host)
					t.Cleanup(func() { c.Close() })
					srv := acceptT(t, ln, stepTimeout)
					require.NoError(t, roundTripPair(srv, c))
					assert.Equal(t, c.LocalAddr().String(), srv.RemoteAddr().String())
				}
			})
		}
	})
}
