// Package ecosystem holds tests of real servers and clients running on
// ringnet: crypto/tls and net/http over HTTPS, HTTP/2 (over TLS with ALPN,
// and cleartext h2c through net/http and through golang.org/x/net/http2),
// gRPC, WebSocket (github.com/coder/websocket),
// net/http/httputil.ReverseProxy, and on datagram sockets DNS
// (github.com/miekg/dns) and HTTP/3 (github.com/quic-go/quic-go and its
// http3 package). Each test runs on every backend in the table of
// backends_test.go, with the standard library as the reference entry that
// proves the test itself right.
//
// The package owns no library code: everything in it is a _test.go file
// except this one. It is a module of its own
// (github.com/ringnet/ringnet/nettest/ecosystem), so that gRPC, WebSocket,
// HTTP/2, DNS and QUIC stay out of the module graph of programs that
// import ringnet; the go.work at the repository root puts it in the
// workspace, and go test github.com/ringnet/ringnet/... runs it with the
// rest.
package ecosystem
