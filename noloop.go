//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd

package ringnet

import (
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
