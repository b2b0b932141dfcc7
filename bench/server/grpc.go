//go:build linux

package main

import (
	"context"
	"errors"
	"io"
	"net"

	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// benchService is gRPC's own benchmark service (grpc.testing.BenchmarkService,
// the one grpc-go's benchmarks drive), answering every request with its
// payload: UnaryCall once, StreamingCall once per message of the stream.
type benchService struct {
	testpb.UnimplementedBenchmarkServiceServer
}

// UnaryCall returns the request's payload.
func (benchService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

// StreamingCall sends every request's payload back until the client ends
// the stream.
func (benchService) StreamingCall(s grpc.BidiStreamingServer[testpb.SimpleRequest, testpb.SimpleResponse]) error {
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&testpb.SimpleResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// serveGRPC serves benchService with a default grpc.Server on ln.
func serveGRPC(ln net.Listener) error {
	s := grpc.NewServer()
	testpb.RegisterBenchmarkServiceServer(s, benchService{})
	return s.Serve(ln)
}
