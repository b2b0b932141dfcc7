//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"
	"golang.org/x/sys/unix"
)

// listenAny listens on a fresh address of network: a loopback port, or a
// socket file (or abstract name) for "unix".
func listenAny(t *testing.T, listen func(network, address string) (net.Listener, error), network string, abstract bool) net.Listener {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
		if abstract {
			addr = "@ringnet-test-" + filepath.Base(t.TempDir())
		}
	}
	ln, err := listen(network, addr)
	require.NoError(t, err)
	return ln
}

// TestDialConformance runs nettest.TestConn on ringnet's client side,
// against a stdlib server and against a ringnet server, over TCP and Unix
// sockets.
func TestDialConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		d := Dialer{Backend: backend}
		for _, network := range []string{"tcp", "unix"} {
			for _, srv := range []struct {
				name   string
				listen func(network, address string) (net.Listener, error)
			}{{"stdlib", net.Listen}, {"ringnet", listenOn(backend)}} {
				t.Run(network+"/server="+srv.name, func(t *testing.T) {
					nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
						ln := listenAny(t, srv.listen, network, false)
						accepted := make(chan net.Conn, 1)
						go func() {
							c, _ := ln.Accept()
							accepted <- c
						}()
						client, err := d.Dial(network, ln.Addr().String())
						if err != nil {
							ln.Close()
							return nil, nil, nil, err
						}
						server := <-accepted
						if server == nil {
							return nil, nil, nil, errors.New("accept failed")
						}
						return client, server, func() {
							client.Close()
							server.Close()
							ln.Close()
						}, nil
					})
				})
			}
		}
	})
}

func TestDialErrors(t *testing.T) {
	forEachBackend(t, testDialErrors)
}

func testDialErrors(t *testing.T, backend string) {
	// A port with nothing listening: take one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := ln.Addr().String()
	ln.Close()

	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name      string
		ctx       context.Context
		network   string
		addr      string
		localAddr net.Addr
		check     func(t *testing.T, err error)
	}{
		{"refused", context.Background(), "tcp", closedAddr, nil, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, syscall.ECONNREFUSED)
		}},
		{"unknown network", context.Background(), "tcpx", closedAddr, nil, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "unknown network tcpx")
		}},
		{"canceled", canceled, "tcp", closedAddr, nil, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, context.Canceled)
		}},
		{"bad port", context.Background(), "tcp", "127.0.0.1:notaport", nil, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "unknown port")
		}},
		{"missing port", context.Background(), "tcp", "127.0.0.1", nil, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "missing port")
		}},
		{"family mismatch", context.Background(), "tcp6", closedAddr, nil, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "no suitable address")
		}},
		{"local address type", context.Background(), "tcp", closedAddr, &net.UnixAddr{Name: "x", Net: "unix"}, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "mismatched local address type")
		}},
		{"local address in use", context.Background(), "tcp", closedAddr, inUse(t), func(t *testing.T, err error) {
			assert.ErrorIs(t, err, syscall.EADDRINUSE)
		}},
		{"no socket file", context.Background(), "unix", filepath.Join(t.TempDir(), "none"), nil, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, syscall.ENOENT)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Dialer{Backend: backend, LocalAddr: tt.localAddr}
			c, err := d.DialContext(tt.ctx, tt.network, tt.addr)
			require.Error(t, err)
			assert.Nil(t, c)
			var oe *net.OpError
			require.ErrorAs(t, err, &oe, "got %T: %v", err, err)
			assert.Equal(t, "dial", oe.Op)
			_, stdErr := (&net.Dialer{LocalAddr: tt.localAddr}).DialContext(tt.ctx, tt.network, tt.addr)
			require.Error(t, stdErr)
			assert.Equal(t, stdErr.Error(), err.Error(), "the error reads as net's")
			tt.check(t, err)
		})
	}
}

// inUse returns a local address another socket is bound to.
func inUse(t *testing.T) net.Addr {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr()
}

// loopStat sums one counter over the running loops of backend (those of
// another backend may stop between two calls and take their counts with
// them).
func loopStat(backend string, counter func(LoopStats) uint64) uint64 {
	var n uint64
	for _, s := range Stats() {
		if s.Backend == backend {
			n += counter(s)
		}
	}
	return n
}

// loopConnects sums the connects the running loops of backend carried.
func loopConnects(backend string) uint64 {
	return loopStat(backend, func(s LoopStats) uint64 { return s.Connects })
}

// TestDialThroughLoop checks that the connect is carried by the loop
// (its Connects counter moves), that the Dialer's LocalAddr, Control and
// keep-alive reach the socket, and that the connection serves.
func TestDialThroughLoop(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, network := range []string{"tcp", "unix"} {
			t.Run(network, func(t *testing.T) {
				ln := listenAny(t, net.Listen, network, false)
				defer ln.Close()
				accepted := make(chan net.Conn, 1)
				go func() {
					c, _ := ln.Accept()
					accepted <- c
				}()
				var controlNet, controlAddr string
				d := Dialer{
					Backend: backend,
					Control: func(network, address string, c syscall.RawConn) error {
						controlNet, controlAddr = network, address
						return c.Control(func(uintptr) {})
					},
				}
				if network == "tcp" {
					d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
				}
				// Hold a connection so the loops keep running and the
				// counter is read from the same loops.
				hold, err := d.Dial(network, ln.Addr().String())
				require.NoError(t, err)
				defer hold.Close()
				srvHold := <-accepted
				require.NotNil(t, srvHold)
				defer srvHold.Close()
				go func() {
					c, _ := ln.Accept()
					accepted <- c
				}()

				before := loopConnects(backend)
				c, err := d.Dial(network, ln.Addr().String())
				require.NoError(t, err)
				defer c.Close()
				srv := <-accepted
				require.NotNil(t, srv)
				defer srv.Close()
				if network == "tcp" {
					// io_uring submits the connect to the ring; poll waits
					// for the writable edge (a non-blocking TCP connect is
					// always in progress when connect(2) returns).
					assert.Equal(t, before+1, loopConnects(backend), "the connect went through the loop")
					assert.Equal(t, "tcp4", controlNet)
					assert.Equal(t, ln.Addr().String(), controlAddr)
					assert.Equal(t, "127.0.0.2", srv.RemoteAddr().(*net.TCPAddr).IP.String(), "LocalAddr is bound")
					on, err := unix.GetsockoptInt(fdOf(t, c), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
					require.NoError(t, err)
					assert.Equal(t, 1, on, "keep-alive on by default, as with net")
					nodelay, err := unix.GetsockoptInt(fdOf(t, c), unix.IPPROTO_TCP, unix.TCP_NODELAY)
					require.NoError(t, err)
					assert.Equal(t, 1, nodelay)
				} else {
					assert.Equal(t, "unix", controlNet)
				}
				_, err = c.Write([]byte("ping"))
				require.NoError(t, err)
				buf := make([]byte, 4)
				_, err = io.ReadFull(srv, buf)
				require.NoError(t, err)
				assert.Equal(t, "ping", string(buf))
			})
		}
	})
}

func fdOf(t *testing.T, c net.Conn) int {
	rc, err := c.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	fd := -1
	require.NoError(t, rc.Control(func(s uintptr) { fd = int(s) }))
	return fd
}

func acceptAll(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func TestPartialDeadline(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		deadline time.Time
		left     int
		want     time.Time
		err      bool
	}{
		{"no deadline", time.Time{}, 3, time.Time{}, false},
		{"passed", now.Add(-time.Second), 1, time.Time{}, true},
		{"one address gets it all", now.Add(10 * time.Second), 1, now.Add(10 * time.Second), false},
		{"equal shares", now.Add(10 * time.Second), 2, now.Add(5 * time.Second), false},
		{"at least two seconds", now.Add(10 * time.Second), 10, now.Add(2 * time.Second), false},
		{"all when less than two", now.Add(time.Second), 5, now.Add(time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := partialDeadline(now, tt.deadline, tt.left)
			if tt.err {
				require.Error(t, err)
				var ne net.Error
				require.ErrorAs(t, err, &ne)
				assert.True(t, ne.Timeout())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPartition(t *testing.T) {
	a := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 1} }
	p, f := partition([]net.Addr{a("::1"), a("127.0.0.1"), a("::2"), a("127.0.0.2")})
	assert.Equal(t, []net.Addr{a("::1"), a("::2")}, p)
	assert.Equal(t, []net.Addr{a("127.0.0.1"), a("127.0.0.2")}, f)
}

func TestUnixListener(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) { testUnixListener(t, backend) })
}

func testUnixListener(t *testing.T, backend string) {
	for _, abstract := range []bool{false, true} {
		t.Run(map[bool]string{false: "path", true: "abstract"}[abstract], func(t *testing.T) {
			ln := listenAny(t, listenOn(backend), "unix", abstract)
			addr := ln.Addr()
			assert.IsType(t, &net.UnixAddr{}, addr)
			done := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- err
					return
				}
				defer c.Close()
				buf := make([]byte, 5)
				if _, err := c.Read(buf); err != nil {
					done <- err
					return
				}
				_, err = c.Write(buf)
				done <- err
			}()
			d := Dialer{Backend: backend}
			c, err := d.Dial("unix", addr.String())
			require.NoError(t, err)
			defer c.Close()
			assert.IsType(t, &net.UnixAddr{}, c.RemoteAddr())
			_, err = c.Write([]byte("hello"))
			require.NoError(t, err)
			buf := make([]byte, 5)
			_, err = c.Read(buf)
			require.NoError(t, err)
			assert.Equal(t, "hello", string(buf))
			require.NoError(t, <-done)

			require.NoError(t, ln.Close())
			if !abstract {
				_, err := os.Stat(addr.String())
				assert.ErrorIs(t, err, os.ErrNotExist, "Close removes the socket file, as net.UnixListener does")
			}
		})
	}
}

// TestDialIPv6 dials an IPv6 loopback literal over "tcp" and "tcp6": the
// socket address reaches the loop in IPv6 layout.
func TestDialIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	require.NoError(t, err)
	defer ln.Close()
	go acceptAll(ln)
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, network := range []string{"tcp", "tcp6"} {
			t.Run(network, func(t *testing.T) {
				c, err := (&Dialer{Backend: backend}).Dial(network, ln.Addr().String())
				require.NoError(t, err)
				defer c.Close()
				assert.Equal(t, "::1", c.RemoteAddr().(*net.TCPAddr).IP.String())
				assert.Equal(t, "::1", c.LocalAddr().(*net.TCPAddr).IP.String())
			})
		}
	})
}
