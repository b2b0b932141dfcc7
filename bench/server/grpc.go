//go:build linux

package main

import (
	"net"

	"github.com/ringnet/ringnet/bench/internal/grpcbench"
)

// serveGRPC serves gRPC's benchmark service (grpcbench) with a default
// grpc.Server on ln.
func serveGRPC(ln net.Listener) error {
	return grpcbench.NewServer().Serve(ln)
}
