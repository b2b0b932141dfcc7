//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd

package ringnet

import (
	"context"
	"net"

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
