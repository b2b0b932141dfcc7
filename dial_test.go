//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"
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
	// A port with nothing listening: take one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := ln.Addr().String()
	ln.Close()

	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		ctx     context.Context
		network string
		addr    string
		check   func(t *testing.T, err error)
	}{
		{"refused", context.Background(), "tcp", closedAddr, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, syscall.ECONNREFUSED)
		}},
		{"unknown network", context.Background(), "tcpx", closedAddr, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "unknown network tcpx")
		}},
		{"canceled", canceled, "tcp", closedAddr, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, context.Canceled)
		}},
		{"bad address", context.Background(), "tcp", "127.0.0.1:notaport", func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "unknown port")
		}},
		{"no socket file", context.Background(), "unix", filepath.Join(t.TempDir(), "none"), func(t *testing.T, err error) {
			assert.ErrorIs(t, err, syscall.ENOENT)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DialContext(tt.ctx, tt.network, tt.addr)
			require.Error(t, err)
			assert.Nil(t, c)
			var oe *net.OpError
			require.ErrorAs(t, err, &oe, "got %T: %v", err, err)
			assert.Equal(t, "dial", oe.Op)
			_, stdErr := (&net.Dialer{}).DialContext(tt.ctx, tt.network, tt.addr)
			require.Error(t, stdErr)
			assert.Equal(t, stdErr.Error(), err.Error(), "the error reads as net's")
			tt.check(t, err)
		})
	}
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
