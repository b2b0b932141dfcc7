package ecosystem_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// rawCodec passes messages as raw bytes: a *[]byte on both sides. It spares
// the test generated protobuf code.
type rawCodec struct{}

const rawCodecName = "ecosystem-raw"

func (rawCodec) Name() string { return rawCodecName }

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *[]byte:
		return *m, nil
	case []byte:
		return m, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*m = append([]byte(nil), data...) // data is reused after the call
	return nil
}

func init() { encoding.RegisterCodec(rawCodec{}) }

// rawCall selects the raw codec for one call.
var rawCall = grpc.CallContentSubtype(rawCodecName)

const rawService = "ecosystem.Raw"

// rawServer implements the service ecosystem.Raw:
//
//	Echo(bytes) bytes          unary: the request
//	Deadline(bytes) bytes      unary: the time left before the call's deadline, or "none"
//	Sleep(duration) bytes      unary: sleeps (or until the call ends), reports ctx.Err() on ended
//	Count(n) stream bytes      server streaming: n messages countMsg(0..n-1)
//	Hold(bytes) stream bytes   server streaming: one message, then waits for the call to end; reports ctx.Err() on ended
//	EchoStream(stream bytes) stream bytes   bidi: every message back
type rawServer struct {
	started chan string // the name of every handler that starts
	ended   chan error  // ctx.Err() of Sleep and Hold handlers that end
}

// rawServerAPI is the handler type of the manual ServiceDesc.
type rawServerAPI interface{ isRawServer() }

func (*rawServer) isRawServer() {}

func newRawServer() *rawServer {
	return &rawServer{started: make(chan string, 64), ended: make(chan error, 64)}
}

func (s *rawServer) start(name string) {
	select {
	case s.started <- name:
	default:
	}
}

func (s *rawServer) end(err error) {
	select {
	case s.ended <- err:
	default:
	}
}

func countMsg(i int) []byte {
	return append([]byte(strconv.Itoa(i)+"|"), payload(uint64(i), i%700)...)
}

func rawUnary(name string, f func(s *rawServer, ctx context.Context, req []byte) ([]byte, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			var req []byte
			if err := dec(&req); err != nil {
				return nil, err
			}
			call := func(ctx context.Context, req any) (any, error) {
				out, err := f(srv.(*rawServer), ctx, *req.(*[]byte))
				if err != nil {
					return nil, err
				}
				return &out, nil
			}
			if icpt == nil {
				return call(ctx, &req)
			}
			return icpt(ctx, &req, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + rawService + "/" + name}, call)
		},
	}
}

var rawServiceDesc = grpc.ServiceDesc{
	ServiceName: rawService,
	HandlerType: (*rawServerAPI)(nil),
	Methods: []grpc.MethodDesc{
		rawUnary("Echo", func(_ *rawServer, _ context.Context, req []byte) ([]byte, error) { return req, nil }),
		rawUnary("Deadline", func(_ *rawServer, ctx context.Context, _ []byte) ([]byte, error) {
			dl, ok := ctx.Deadline()
			if !ok {
				return []byte("none"), nil
			}
			return []byte(time.Until(dl).String()), nil
		}),
		rawUnary("Sleep", func(s *rawServer, ctx context.Context, req []byte) ([]byte, error) {
			d, err := time.ParseDuration(string(req))
			if err != nil {
				return nil, status.Error(codes.InvalidArgument, err.Error())
			}
			s.start("Sleep")
			select {
			case <-time.After(d):
				return []byte("slept"), nil
			case <-ctx.Done():
				s.end(ctx.Err())
				return nil, status.FromContextError(ctx.Err()).Err()
			}
		}),
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "Count", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
			var req []byte
			if err := st.RecvMsg(&req); err != nil {
				return err
			}
			n, err := strconv.Atoi(string(req))
			if err != nil {
				return status.Error(codes.InvalidArgument, err.Error())
			}
			for i := range n {
				m := countMsg(i)
				if err := st.SendMsg(&m); err != nil {
					return err
				}
			}
			return nil
		}},
		{StreamName: "Hold", ServerStreams: true, Handler: func(srv any, st grpc.ServerStream) error {
			s := srv.(*rawServer)
			var req []byte
			if err := st.RecvMsg(&req); err != nil {
				return err
			}
			s.start("Hold")
			if err := st.SendMsg(&req); err != nil {
				return err
			}
			select {
			case <-st.Context().Done():
				s.end(st.Context().Err())
				return status.FromContextError(st.Context().Err()).Err()
			case <-time.After(30 * time.Second):
				return status.Error(codes.Internal, "the call did not end within 30s")
			}
		}},
		{StreamName: "EchoStream", ServerStreams: true, ClientStreams: true, Handler: func(srv any, st grpc.ServerStream) error {
			srv.(*rawServer).start("EchoStream")
			for {
				var m []byte
				if err := st.RecvMsg(&m); err == io.EOF {
					return nil
				} else if err != nil {
					return err
				}
				if err := st.SendMsg(&m); err != nil {
					return err
				}
			}
		}},
	},
}

// grpcServer is a gRPC server with the health service and ecosystem.Raw,
// serving a listener of one backend.
type grpcServer struct {
	srv    *grpc.Server
	raw    *rawServer
	health *health.Server
	addr   string
	served chan error
}

func startGRPC(t *testing.T, b backend) *grpcServer {
	ln, err := b.listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &grpcServer{
		srv:    grpc.NewServer(),
		raw:    newRawServer(),
		health: health.NewServer(),
		addr:   ln.Addr().String(),
		served: make(chan error, 1),
	}
	healthpb.RegisterHealthServer(g.srv, g.health)
	g.srv.RegisterService(&rawServiceDesc, g.raw)
	g.health.SetServingStatus(rawService, healthpb.HealthCheckResponse_SERVING)
	go func() { g.served <- g.srv.Serve(ln) }()
	t.Cleanup(func() {
		g.srv.Stop()
		select {
		case err := <-g.served:
			assert.NoError(t, err, "grpc.Server.Serve")
		case <-time.After(5 * time.Second):
			t.Errorf("grpc.Server.Serve did not return within 5s of Stop")
		}
	})
	return g
}

// dialGRPC returns a client connection to addr whose connections b dials.
func dialGRPC(t *testing.T, b backend, addr string) *grpc.ClientConn {
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return b.dial(ctx, "tcp", addr)
		}))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return cc
}

func invoke(ctx context.Context, cc *grpc.ClientConn, method string, req []byte) ([]byte, error) {
	var resp []byte
	err := cc.Invoke(ctx, "/"+rawService+"/"+method, &req, &resp, rawCall)
	return resp, err
}

func newStream(ctx context.Context, cc *grpc.ClientConn, method string, client bool) (grpc.ClientStream, error) {
	desc := &grpc.StreamDesc{StreamName: method, ServerStreams: true, ClientStreams: client}
	return cc.NewStream(ctx, desc, "/"+rawService+"/"+method, rawCall)
}

// waitFor receives from ch within d or fails.
func waitFor[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		require.FailNow(t, "timed out", "waiting %v for %s", d, what)
		panic("unreachable")
	}
}

func TestGRPC(t *testing.T) {
	forEachBackend(t, 60*time.Second, func(t *testing.T, b backend) {
		g := startGRPC(t, b)
		cc := dialGRPC(t, b, g.addr)
		ctx := testContext(t, 45*time.Second)

		t.Run("health-check", func(t *testing.T) {
			hc := healthpb.NewHealthClient(cc)
			for _, svc := range []string{"", rawService} {
				resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
				require.NoError(t, err, "service %q", svc)
				assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus(), "service %q", svc)
			}
			_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
			assert.Equal(t, codes.NotFound, status.Code(err), "%v", err)
		})

		t.Run("health-watch", func(t *testing.T) {
			const svc = "ecosystem.Watched"
			g.health.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			w, err := healthpb.NewHealthClient(cc).Watch(wctx, &healthpb.HealthCheckRequest{Service: svc})
			require.NoError(t, err)
			resp, err := w.Recv()
			require.NoError(t, err)
			assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
			g.health.SetServingStatus(svc, healthpb.HealthCheckResponse_NOT_SERVING)
			resp, err = w.Recv()
			require.NoError(t, err)
			assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, resp.GetStatus())
			cancel()
			_, err = w.Recv()
			assert.Equal(t, codes.Canceled, status.Code(err), "%v", err)
		})

		t.Run("unary", func(t *testing.T) {
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := w; i < 200; i += 8 {
						n := (i * 9973) % 70000
						if i == 100 {
							n = 3 << 20 // under the 4 MiB default limit
						}
						req := payload(uint64(i), n)
						resp, err := invoke(ctx, cc, "Echo", req)
						if !assert.NoError(t, err, "call %d", i) {
							return
						}
						assert.True(t, bytes.Equal(req, resp), "call %d: %d bytes sent, %d back", i, len(req), len(resp))
					}
				})
			}
			wg.Wait()
		})

		t.Run("server-streaming-1000", func(t *testing.T) {
			st, err := newStream(ctx, cc, "Count", false)
			require.NoError(t, err)
			req := []byte("1000")
			require.NoError(t, st.SendMsg(&req))
			require.NoError(t, st.CloseSend())
			for i := range 1000 {
				var m []byte
				require.NoError(t, st.RecvMsg(&m), "message %d", i)
				require.True(t, bytes.Equal(countMsg(i), m), "message %d: %q...", i, m[:min(len(m), 8)])
			}
			var m []byte
			assert.Equal(t, io.EOF, st.RecvMsg(&m), "after 1000 messages")
		})

		t.Run("bidi-echo-1000", func(t *testing.T) {
			st, err := newStream(ctx, cc, "EchoStream", true)
			require.NoError(t, err)
			sent := make(chan error, 1)
			go func() {
				for i := range 1000 {
					m := payload(uint64(i), (i*31)%3000)
					if err := st.SendMsg(&m); err != nil {
						sent <- fmt.Errorf("send %d: %w", i, err)
						return
					}
				}
				sent <- st.CloseSend()
			}()
			for i := range 1000 {
				var m []byte
				require.NoError(t, st.RecvMsg(&m), "echo %d", i)
				want := payload(uint64(i), (i*31)%3000)
				require.True(t, bytes.Equal(want, m), "echo %d: %d bytes, want %d", i, len(m), len(want))
			}
			var m []byte
			assert.Equal(t, io.EOF, st.RecvMsg(&m), "after 1000 echoes")
			assert.NoError(t, waitFor(t, sent, 5*time.Second, "the sender"))
		})

		t.Run("deadline-propagates", func(t *testing.T) {
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			resp, err := invoke(dctx, cc, "Deadline", nil)
			require.NoError(t, err)
			left, err := time.ParseDuration(string(resp))
			require.NoError(t, err, "the server saw no deadline: %q", resp)
			assert.True(t, left > 3*time.Second && left <= 5*time.Second, "the server saw %v left of 5s", left)
			// ctx has the test's deadline; the guard bounds this call.
			resp, err = invoke(context.WithoutCancel(ctx), cc, "Deadline", nil)
			require.NoError(t, err)
			assert.Equal(t, "none", string(resp), "a call without a deadline")
		})

		t.Run("slow-handler-deadline-exceeded", func(t *testing.T) {
			dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := invoke(dctx, cc, "Sleep", []byte("30s"))
			assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
			assert.Less(t, time.Since(start), 2*time.Second)
			// The handler's context ends too.
			herr := waitFor(t, g.raw.ended, 2*time.Second, "the slow handler's context to end")
			assert.True(t, errors.Is(herr, context.DeadlineExceeded) || errors.Is(herr, context.Canceled), "%v", herr)
		})

		t.Run("cancel-propagates", func(t *testing.T) {
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			st, err := newStream(sctx, cc, "Hold", false)
			require.NoError(t, err)
			req := []byte("hold")
			require.NoError(t, st.SendMsg(&req))
			require.NoError(t, st.CloseSend())
			var m []byte
			require.NoError(t, st.RecvMsg(&m))
			require.Equal(t, "hold", string(m))
			cancel()
			assert.Equal(t, codes.Canceled, status.Code(st.RecvMsg(&m)))
			herr := waitFor(t, g.raw.ended, 2*time.Second, "the server's stream context to be cancelled")
			assert.ErrorIs(t, herr, context.Canceled)
		})
	})
}

// TestGRPCGracefulStop checks that GracefulStop waits for the calls in
// flight, lets them finish, and returns within 5 s.
func TestGRPCGracefulStop(t *testing.T) {
	forEachBackend(t, 30*time.Second, func(t *testing.T, b backend) {
		g := startGRPC(t, b)
		cc := dialGRPC(t, b, g.addr)
		ctx := testContext(t, 20*time.Second)

		// In flight: three slow unary calls and a bidi stream.
		const sleep = 700 * time.Millisecond
		unary := make(chan error, 3)
		for range 3 {
			go func() {
				resp, err := invoke(ctx, cc, "Sleep", []byte(sleep.String()))
				if err == nil && string(resp) != "slept" {
					err = fmt.Errorf("response %q", resp)
				}
				unary <- err
			}()
		}
		st, err := newStream(ctx, cc, "EchoStream", true)
		require.NoError(t, err)
		echo := func(i int) {
			m := payload(uint64(i), 100+i)
			require.NoError(t, st.SendMsg(&m), "send %d", i)
			var got []byte
			require.NoError(t, st.RecvMsg(&got), "echo %d", i)
			require.True(t, bytes.Equal(m, got), "echo %d", i)
		}
		echo(0)
		started := map[string]int{}
		for range 4 {
			started[waitFor(t, g.raw.started, 5*time.Second, "the calls to start")]++
		}
		require.Equal(t, map[string]int{"Sleep": 3, "EchoStream": 1}, started)

		stopStart := time.Now()
		stopped := make(chan time.Duration, 1)
		go func() {
			g.srv.GracefulStop()
			stopped <- time.Since(stopStart)
		}()

		// The stream goes on after GracefulStop began.
		for i := 1; i <= 10; i++ {
			echo(i)
		}
		select {
		case d := <-stopped:
			t.Fatalf("GracefulStop returned after %v with a stream still open", d)
		default:
		}
		require.NoError(t, st.CloseSend())
		var m []byte
		assert.Equal(t, io.EOF, st.RecvMsg(&m))
		for i := range 3 {
			assert.NoError(t, waitFor(t, unary, 5*time.Second, "the slow calls"), "slow call %d", i)
		}
		d := waitFor(t, stopped, 5*time.Second, "GracefulStop to return")
		t.Logf("GracefulStop returned after %v", d)
		assert.GreaterOrEqual(t, d, sleep/2, "GracefulStop returned before the slow calls could finish")
		assert.Less(t, d, 5*time.Second, "GracefulStop took too long")
		assert.NoError(t, waitFor(t, g.served, 5*time.Second, "Serve to return"), "Serve after GracefulStop")
		g.served <- nil // for the cleanup

		// New calls are refused.
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err = invoke(nctx, cc, "Echo", []byte("late"))
		assert.Equal(t, codes.Unavailable, status.Code(err), "a call after GracefulStop: %v", err)
	})
}
