//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Benchmarks of what a connection costs and of TLS, beside the standard
// library and on both backends (ringnet's rows are named after theirs):
//
//	go test -run '^$' -bench 'ConnPerRequest|TLS' -count 8 | tee out.txt
//	benchstat -col /server out.txt
//
// Besides time per op they report the process's CPU time per op and its
// voluntary context switches per op (client and server together; the
// client's share is the same for every server), which a machine shared
// with other work disturbs far less than the time.

var connServers = []struct {
	name   string
	listen func() (net.Listener, error)
}{
	{"stdlib", func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }},
	{"io_uring", func() (net.Listener, error) { return listenBackend("io_uring") }},
	{"poll", func() (net.Listener, error) { return listenBackend("poll") }},
}

func listenBackend(name string) (net.Listener, error) {
	lc := ListenConfig{Backend: name}
	return lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
}

// Sizes of the benchmarks' request and response, about those of a GET
// /hello and its reply.
const (
	requestSize  = 100
	responseSize = 130
)

// requestServer answers every connection ln accepts: it reads requests
// of requestSize bytes and writes a response of responseSize bytes to
// each, and closes the connection after the first if closeAfter is set.
// wrap, if not nil, wraps each connection (tls.Server).
func requestServer(b *testing.B, ln net.Listener, wrap func(net.Conn) net.Conn, closeAfter bool) (stop func()) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					c.Close()
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
				}()
				rc := c
				if wrap != nil {
					rc = wrap(c)
				}
				req, resp := make([]byte, requestSize), make([]byte, responseSize)
				for {
					if _, err := io.ReadFull(rc, req); err != nil {
						return
					}
					if _, err := rc.Write(resp); err != nil {
						b.Error(err)
						return
					}
					if closeAfter {
						return
					}
				}
			}()
		}
	}()
	return func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// exchange sends one request on c and reads its response.
func exchange(c net.Conn, req, resp []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	_, err := io.ReadFull(c, resp)
	return err
}

// BenchmarkConnPerRequest is net.Dial clients (16 per P) that each open a
// connection, send one request, read the response and the server's close:
// accepting, handing a connection to its loop and closing it, as a
// `Connection: close` HTTP load does.
func BenchmarkConnPerRequest(b *testing.B) {
	benchConnPerRequest(b, nil, nil)
}

// BenchmarkTLSConnPerRequest is BenchmarkConnPerRequest over TLS 1.3: a
// full handshake per connection.
func BenchmarkTLSConnPerRequest(b *testing.B) {
	srvConf, cliConf := tlsConfigs(b)
	benchConnPerRequest(b,
		func(c net.Conn) net.Conn { return tls.Server(c, srvConf) },
		func(c net.Conn) net.Conn { return tls.Client(c, cliConf) })
}

func benchConnPerRequest(b *testing.B, wrapServer, wrapClient func(net.Conn) net.Conn) {
	for _, s := range connServers {
		b.Run("server="+s.name, func(b *testing.B) {
			ln, err := s.listen()
			if err != nil {
				b.Skip(err)
			}
			stop := requestServer(b, ln, wrapServer, true)
			defer stop()
			addr := ln.Addr().String()
			b.SetParallelism(16)
			b.ReportAllocs()
			defer reportUsage(b)()
			b.RunParallel(func(pb *testing.PB) {
				req, resp := make([]byte, requestSize), make([]byte, responseSize)
				for pb.Next() {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						b.Error(err)
						return
					}
					rc := c
					if wrapClient != nil {
						rc = wrapClient(c)
					}
					err = exchange(rc, req, resp)
					if err == nil {
						// The server's close.
						if n, rerr := rc.Read(resp); n != 0 || rerr != io.EOF {
							err = rerr
						}
					}
					c.Close()
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkTLSHello is TLS 1.3 connections (16 per P), each kept open
// for request/response round trips of GET /hello's size: per record,
// crypto/tls Writes and Reads the connection.
func BenchmarkTLSHello(b *testing.B) {
	srvConf, cliConf := tlsConfigs(b)
	for _, s := range connServers {
		b.Run("server="+s.name, func(b *testing.B) {
			ln, err := s.listen()
			if err != nil {
				b.Skip(err)
			}
			stop := requestServer(b, ln, func(c net.Conn) net.Conn { return tls.Server(c, srvConf) }, false)
			defer stop()
			addr := ln.Addr().String()
			b.SetParallelism(16)
			b.ReportAllocs()
			defer reportUsage(b)()
			b.RunParallel(func(pb *testing.PB) {
				c, err := tls.Dial("tcp", addr, cliConf)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				req, resp := make([]byte, requestSize), make([]byte, responseSize)
				for pb.Next() {
					if err := exchange(c, req, resp); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// reportUsage resets b's timer and returns a function that reports the
// process's CPU time and voluntary context switches per op since.
func reportUsage(b *testing.B) (stop func()) {
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	return func() {
		b.StopTimer()
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(ru.Nvcsw-ru0.Nvcsw)/float64(b.N), "vcsw/op")
	}
}

// tlsConfigs returns a TLS 1.3 server configuration with a self-signed
// certificate for 127.0.0.1 and a client configuration that trusts it.
func tlsConfigs(tb testing.TB) (server, client *tls.Config) {
	cert, err := selfSignedCert()
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
}
