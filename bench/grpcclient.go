//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// grpcClient is the client subcommand's gRPC load (see client.go): conns
// client connections to addr with callers callers each, every call or
// stream message carrying size bytes.
func grpcClient(addr string, conns, callers, size int, stream bool, d, warm time.Duration) error {
	workers, first, closeAll, err := grpcWorkers(addr, conns, callers, size, stream)
	if err != nil {
		return err
	}
	defer closeAll()
	return drive(workers, first, d, warm)
}

// grpcWorkers connects conns client connections to addr and returns a
// worker for each of their callers, the result of one round trip by each
// (which connects the connections and opens the streams), and what closes
// them all.
func grpcWorkers(addr string, conns, callers, size int, stream bool) (workers []worker, first clientResult, closeAll func(), err error) {
	ctx, cancel := context.WithCancel(context.Background())
	var ccs []*grpc.ClientConn
	var ends []context.CancelFunc
	closeEvery := func() {
		for _, end := range ends {
			end()
		}
		cancel()
		for _, cc := range ccs {
			cc.Close()
		}
	}
	defer func() {
		if err != nil {
			closeEvery()
		}
	}()
	body := bytes.Repeat([]byte{'g'}, size)
	req := &testpb.SimpleRequest{ResponseSize: int32(size), Payload: &testpb.Payload{Body: body}}
	check := func(resp *testpb.SimpleResponse) error {
		if !bytes.Equal(resp.GetPayload().GetBody(), body) {
			return errors.New("reply differs from the payload sent")
		}
		return nil
	}
	for range conns {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, first, nil, err
		}
		ccs = append(ccs, cc)
		client := testpb.NewBenchmarkServiceClient(cc)
		for range callers {
			if !stream {
				// Each call's context ends at the worker's deadline.
				callCtx, endCalls := ctx, context.CancelFunc(func() {})
				ends = append(ends, func() { endCalls() })
				workers = append(workers, worker{
					roundTrip: func() error {
						resp, err := client.UnaryCall(callCtx, req)
						if err != nil {
							return err
						}
						return check(resp)
					},
					deadline: func(t time.Time) {
						endCalls()
						callCtx, endCalls = context.WithDeadline(ctx, t)
					},
				})
				continue
			}
			// The stream lives as long as the client; the harness's
			// timeout bounds a stuck one.
			s, err := client.StreamingCall(ctx)
			if err != nil {
				return nil, first, nil, err
			}
			workers = append(workers, worker{roundTrip: func() error {
				if err := s.Send(req); err != nil {
					return err
				}
				resp, err := s.Recv()
				if err != nil {
					return err
				}
				return check(resp)
			}})
		}
	}
	// One round trip per worker connects every connection and opens every
	// stream before the warm-up; its times are the result of d = 0.
	lat := make([][]time.Duration, len(workers))
	errs := make([]error, len(workers))
	t0 := time.Now()
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			t := time.Now()
			if errs[i] = w.roundTrip(); errs[i] == nil {
				lat[i] = []time.Duration{time.Since(t)}
			}
		})
	}
	wg.Wait()
	first = newClientResult(lat, errs, time.Since(t0))
	if first.Errors > 0 {
		return nil, first, nil, fmt.Errorf("connecting: %d of %d callers failed, first: %s", first.Errors, len(workers), first.FirstError)
	}
	return workers, first, closeEvery, nil
}
