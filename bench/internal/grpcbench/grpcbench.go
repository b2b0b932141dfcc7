// Package grpcbench is the gRPC service the benchmark server serves and
// the benchmark's tests call: gRPC's own benchmark service
// (grpc.testing.BenchmarkService, the one grpc-go's benchmarks drive),
// answering every request with its payload.
package grpcbench

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// Service answers UnaryCall once and StreamingCall once per message of
// the stream, each with the request's payload.
type Service struct {
	testpb.UnimplementedBenchmarkServiceServer
}

// NewServer returns a default grpc.Server with Service registered.
func NewServer() *grpc.Server {
	s := grpc.NewServer()
	testpb.RegisterBenchmarkServiceServer(s, Service{})
	return s
}

// UnaryCall returns the request's payload.
func (Service) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

// StreamingCall sends every request's payload back until the client ends
// the stream.
func (Service) StreamingCall(s grpc.BidiStreamingServer[testpb.SimpleRequest, testpb.SimpleResponse]) error {
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
