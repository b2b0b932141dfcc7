//lint:file-ignore SA1019 golang.org/x/net/http2's Server, Transport and h2c are deprecated in favour of net/http's own HTTP/2, but servers and clients built on them are still deployed; ringnet must carry them too.

package ecosystem_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// h2cXNetMode speaks cleartext HTTP/2 with prior knowledge through
// golang.org/x/net/http2: its h2c handler on the server, its Transport on
// the client.
var h2cXNetMode = h2Mode{name: "h2c-xnet", start: func(t *testing.T, b backend, h http.Handler) (string, *http.Client) {
	srv := &http.Server{Handler: h2c.NewHandler(h, &http2.Server{}), ReadHeaderTimeout: 10 * time.Second}
	addr := serveHTTP(t, b, srv)
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return b.dial(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return "http://" + addr, &http.Client{Transport: tr}
}}
