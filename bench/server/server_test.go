//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/ringnet/ringnet/internal/leakcheck"
)

// TestMain fails the package if a test leaves a goroutine behind or a
// descriptor open (internal/leakcheck).
func TestMain(m *testing.M) { leakcheck.Main(m, leakcheck.Config{Name: "bench/server"}) }

// start serves mode on a stdlib listener until the test ends and returns
// its address.
func start(t *testing.T, mode string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- modes[mode](ln) }()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func TestHTTPHandlers(t *testing.T) {
	upload := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	sum := sha256.Sum256(upload)
	tests := []struct {
		name, method, path string
		body               []byte
		status             int
		check              func(t *testing.T, body []byte)
	}{
		{"hello", "GET", "/hello", nil, 200, func(t *testing.T, b []byte) {
			assert.Equal(t, "Hello, World!", string(b))
		}},
		{"json of about 1 KiB", "GET", "/json", nil, 200, func(t *testing.T, b []byte) {
			assert.InDelta(t, 1024, len(b), 100, "size")
			var d document
			require.NoError(t, json.Unmarshal(b, &d))
			assert.Len(t, d.Items, 9)
		}},
		{"16 KiB body", "GET", "/bytes/16384", nil, 200, func(t *testing.T, b []byte) {
			assert.Equal(t, filler[:16384], b)
		}},
		{"256 KiB body", "GET", "/bytes/262144", nil, 200, func(t *testing.T, b []byte) {
			assert.Len(t, b, 256<<10)
		}},
		{"body too large", "GET", "/bytes/1048577", nil, 400, nil},
		{"body size not a number", "GET", "/bytes/x", nil, 400, nil},
		{"upload hashed", "POST", "/upload", upload, 200, func(t *testing.T, b []byte) {
			assert.Equal(t, hex.EncodeToString(sum[:]), string(b))
		}},
		{"upload is POST only", "GET", "/upload", nil, 405, nil},
	}
	for _, mode := range []string{"http", "h2c"} {
		addr := start(t, mode)
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, bytes.NewReader(tt.body))
				require.NoError(t, err)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				assert.Equal(t, tt.status, resp.StatusCode)
				if tt.check != nil {
					tt.check(t, b)
				}
			})
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestProtocols checks that each HTTP mode speaks what the load generators
// ask of it: h2c with prior knowledge, and TLS 1.3 with HTTP/2 or HTTP/1.1
// by ALPN.
func TestProtocols(t *testing.T) {
	h2c := new(http.Protocols)
	h2c.SetUnencryptedHTTP2(true)
	h1 := new(http.Protocols)
	h1.SetHTTP1(true)
	h2 := new(http.Protocols)
	h2.SetHTTP2(true)
	tests := []struct {
		mode, scheme string
		protos       *http.Protocols
		wantProto    string
		wantTLS      uint16
	}{
		{"http", "http", h1, "HTTP/1.1", 0},
		{"h2c", "http", h2c, "HTTP/2.0", 0},
		{"https", "https", h1, "HTTP/1.1", tls.VersionTLS13},
		{"https", "https", h2, "HTTP/2.0", tls.VersionTLS13},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.wantProto, func(t *testing.T) {
			addr := start(t, tt.mode)
			tr := &http.Transport{Protocols: tt.protos, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(tt.scheme + "://" + addr + "/hello")
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, "Hello, World!", string(b))
			assert.Equal(t, tt.wantProto, resp.Proto)
			if tt.wantTLS != 0 {
				require.NotNil(t, resp.TLS)
				assert.Equal(t, tt.wantTLS, resp.TLS.Version)
			}
		})
	}
}

func TestGRPC(t *testing.T) {
	addr := start(t, "grpc")
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()
	client := testpb.NewBenchmarkServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := []byte(strings.Repeat("x", 128))

	resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: body}})
	require.NoError(t, err)
	assert.Equal(t, body, resp.GetPayload().GetBody())

	stream, err := client.StreamingCall(ctx)
	require.NoError(t, err)
	for i := range 3 {
		msg := append([]byte{byte('0' + i)}, body...)
		require.NoError(t, stream.Send(&testpb.SimpleRequest{Payload: &testpb.Payload{Body: msg}}))
		got, err := stream.Recv()
		require.NoError(t, err)
		assert.Equal(t, msg, got.GetPayload().GetBody())
	}
	require.NoError(t, stream.CloseSend())
	_, err = stream.Recv()
	assert.ErrorIs(t, err, io.EOF)
}
