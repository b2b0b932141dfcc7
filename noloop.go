//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd

package ringnet

import (
	"context"
	"net"

	"golang.org/x/net/ipv4"

	"github.com/ringnet/ringnet/internal/backend"
)

// Where no loop can run, pickBackend returns nil and the net package
// serves: these are never reached; they keep the package building
// everywhere.

func probeKernel() error { return nil }

func serveListener(sl net.Listener, _ string, _ *backend.Backend, _ config, _ opts) (net.Listener, error) {
	return sl, nil
}

func serveConn(nc net.Conn, _ string, _ *backend.Backend, _ config) (net.Conn, error) {
	return nc, nil
}

func (d *Dialer) dial(ctx context.Context, network, address string, _ *backend.Backend, _ config) (net.Conn, error) {
	return d.netDialer().DialContext(ctx, network, address)
}

func servePacket(nc net.Conn, _ string, _ *backend.Backend, _ config, _ bool) (net.Conn, error) {
	return nc, nil
}

// UDPConn is net's *net.UDPConn where no loop can run, with ReadBatch.
type UDPConn struct{ *net.UDPConn }

// ReadBatch reads datagrams into ms as golang.org/x/net/ipv4's
// PacketConn.ReadBatch does.
func (c *UDPConn) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	return ipv4.NewPacketConn(c.UDPConn).ReadBatch(ms, flags)
}

// UnixConn is net's *net.UnixConn where no loop can run.
type UnixConn struct{ *net.UnixConn }

func udpConnOf(c net.Conn) *UDPConn   { return &UDPConn{c.(*net.UDPConn)} }
func unixConnOf(c net.Conn) *UnixConn { return &UnixConn{c.(*net.UnixConn)} }
