//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
)

// Benchmarks run ringnet and the standard library side by side in one
// process, so that their ratio is measured under the same conditions:
//
//	go test -run '^$' -bench . -count 6 | tee out.txt
//	benchstat -col /server out.txt
//
// They take the shapes of go run ./bench's workloads where those fit in
// one process: echo round trips at 64 B (ping-pong) to 256 KiB, bulk
// streams each way, file and socket copies, HTTPS hello round trips on a
// kept-alive connection and with a handshake per request, and plain HTTP
// with a new connection per request.
var servers = []struct {
	name   string
	listen func() (net.Listener, error)
}{
	{"stdlib", func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }},
	{"ringnet", func() (net.Listener, error) { return Listen("tcp", "127.0.0.1:0") }},
}

// echoServer serves an echo on every accepted connection until ln closes.
func echoServer(b *testing.B, ln net.Listener) (stop func()) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close() // also when accepted after stop closed the others
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

func roundTrip(c net.Conn, msg, buf []byte) error {
	if _, err := c.Write(msg); err != nil {
		return err
	}
	_, err := io.ReadFull(c, buf[:len(msg)])
	return err
}

// BenchmarkPingPong is one connection doing 64-byte request/response
// round trips: the latency path.
func BenchmarkPingPong(b *testing.B) {
	for _, s := range servers {
		b.Run("server="+s.name, func(b *testing.B) {
			ln, err := s.listen()
			if err != nil {
				b.Fatal(err)
			}
			stop := echoServer(b, ln)
			defer stop()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg, buf := make([]byte, 64), make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := roundTrip(c, msg, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEchoParallel is many connections (GOMAXPROCS × -cpu
// parallelism × 16) echoing 128-byte messages at once: the throughput path.
func BenchmarkEchoParallel(b *testing.B) {
	for _, s := range servers {
		b.Run("server="+s.name, func(b *testing.B) {
			ln, err := s.listen()
			if err != nil {
				b.Fatal(err)
			}
			stop := echoServer(b, ln)
			defer stop()
			var d net.Dialer
			b.SetParallelism(16)
			b.SetBytes(128)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				msg, buf := make([]byte, 128), make([]byte, 128)
				for pb.Next() {
					if err := roundTrip(c, msg, buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkEchoBulk is BenchmarkEchoParallel's connections echoing larger
// messages, 16 KiB and 256 KiB (the harness's echo-16KiB and echo-256KiB
// rows): the bulk path both ways.
func BenchmarkEchoBulk(b *testing.B) {
	for _, size := range []int{16 << 10, 256 << 10} {
		for _, s := range servers {
			b.Run(fmt.Sprintf("size=%dKiB/server=%s", size>>10, s.name), func(b *testing.B) {
				ln, err := s.listen()
				if err != nil {
					b.Fatal(err)
				}
				stop := echoServer(b, ln)
				defer stop()
				var d net.Dialer
				b.SetParallelism(16)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
					if err != nil {
						b.Error(err)
						return
					}
					defer c.Close()
					msg, buf := make([]byte, size), make([]byte, size)
					for pb.Next() {
						if err := roundTrip(c, msg, buf); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// helloServer serves GET /hello (13 bytes) with net/http on a listener of
// listen, over TLS 1.3 when secure, until b ends, and returns its URL and
// a client for it (its transport trusts the certificate; keep-alive
// unless noKeepAlive).
func helloServer(b *testing.B, listen func() (net.Listener, error), secure, noKeepAlive bool) (string, *http.Client) {
	ln, err := listen()
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "Hello, World!")
	})}
	tr := &http.Transport{DisableKeepAlives: noKeepAlive, MaxIdleConnsPerHost: 64}
	url := "http://" + ln.Addr().String() + "/hello"
	done := make(chan struct{})
	if secure {
		cert, err := selfSignedCert()
		if err != nil {
			b.Fatal(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
		pool := x509.NewCertPool()
		pool.AddCert(cert.Leaf)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
		url = "https://" + ln.Addr().String() + "/hello"
		go func() { defer close(done); srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { defer close(done); srv.Serve(ln) }()
	}
	b.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		<-done
	})
	return url, &http.Client{Transport: tr}
}

// get fetches url with client and reads the whole body.
func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// BenchmarkHTTPS is net/http GET /hello over TLS 1.3 on each server:
// conn=keepalive is one kept-alive connection's round trips (the
// harness's https rows, one at a time); conn=new dials, handshakes and
// closes a connection per request (its https-close rows).
func BenchmarkHTTPS(b *testing.B) {
	for _, conn := range []string{"keepalive", "new"} {
		for _, s := range servers {
			b.Run("conn="+conn+"/server="+s.name, func(b *testing.B) {
				url, client := helloServer(b, s.listen, true, conn == "new")
				if err := get(client, url); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := get(client, url); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkHTTPClose is net/http GET /hello with a new connection per
// request, from GOMAXPROCS × 4 clients at once (the harness's http-close
// rows): accepting, handing over and closing connections.
func BenchmarkHTTPClose(b *testing.B) {
	for _, s := range servers {
		b.Run("server="+s.name, func(b *testing.B) {
			url, client := helloServer(b, s.listen, false, true)
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(client, url); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkBulkRecv streams 1 MiB writes from a net.Dial client into the
// server, which reads them with 32 KiB buffers: the receive path in bulk.
func BenchmarkBulkRecv(b *testing.B) {
	for _, s := range servers {
		b.Run("server="+s.name, func(b *testing.B) {
			ln, err := s.listen()
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			done := make(chan int64, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- -1
					return
				}
				defer c.Close()
				n, _ := io.CopyBuffer(io.Discard, readerOnly{c}, make([]byte, 32<<10))
				done <- n
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			chunk := make([]byte, 1<<20)
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			c.Close()
			if n := <-done; n != int64(b.N)*int64(len(chunk)) {
				b.Fatalf("server read %d bytes, want %d", n, int64(b.N)*int64(len(chunk)))
			}
		})
	}
}

// connPair returns a connection accepted from listen's listener and its
// net.Dial peer; both are closed when b ends.
func connPair(b *testing.B, listen func() (net.Listener, error)) (srv, peer net.Conn) {
	ln, err := listen()
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	peer, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	srv, err = ln.Accept()
	if err != nil {
		peer.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close(); peer.Close() })
	return srv, peer
}

// drain reads c until its end, or n bytes if n >= 0, and then sends how
// many it read.
func drain(c net.Conn, n int64) <-chan int64 {
	done := make(chan int64, 1)
	go func() {
		var r io.Reader = readerOnly{c}
		if n >= 0 {
			r = io.LimitReader(r, n)
		}
		got, _ := io.CopyBuffer(io.Discard, r, make([]byte, 32<<10))
		done <- got
	}()
	return done
}

// BenchmarkBulkSend streams 1 MiB writes from the server to a net.Dial
// client: the send path in bulk.
func BenchmarkBulkSend(b *testing.B) {
	for _, s := range servers {
		b.Run("server="+s.name, func(b *testing.B) {
			srv, c := connPair(b, s.listen)
			done := drain(c, -1)
			chunk := make([]byte, 1<<20)
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			for range b.N {
				if _, err := srv.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			srv.Close()
			if n := <-done; n != int64(b.N)*int64(len(chunk)) {
				b.Fatalf("client read %d bytes, want %d", n, int64(b.N)*int64(len(chunk)))
			}
		})
	}
}

// BenchmarkSendFile has the server send a file with ReadFrom (as
// http.ServeFile does) to a net.Dial client: sendfile(2) on both, ringnet
// waiting for room through its loop. A small file measures the cost per
// call.
func BenchmarkSendFile(b *testing.B) {
	for _, size := range []int{16 << 10, 1 << 20} {
		f, err := os.CreateTemp(b.TempDir(), "src")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(make([]byte, size)); err != nil {
			b.Fatal(err)
		}
		for _, s := range servers {
			b.Run(fmt.Sprintf("size=%dKiB/server=%s", size>>10, s.name), func(b *testing.B) {
				srv, c := connPair(b, s.listen)
				done := drain(c, -1)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for range b.N {
					if _, err := f.Seek(0, io.SeekStart); err != nil {
						b.Fatal(err)
					}
					if n, err := srv.(io.ReaderFrom).ReadFrom(f); err != nil || n != int64(size) {
						b.Fatalf("ReadFrom: %d, %v", n, err)
					}
				}
				srv.Close()
				if n := <-done; n != int64(b.N)*int64(size) {
					b.Fatalf("client read %d bytes, want %d", n, int64(b.N)*int64(size))
				}
			})
		}
		f.Close()
	}
}

// BenchmarkSpliceFrom has the server copy a stream from another TCP
// connection with ReadFrom (as a proxy's io.Copy does) to a net.Dial
// client: splice(2) through a pipe on both, ringnet waiting for room
// through its loop. Each op moves one 64 KiB message that the source's
// peer wrote.
func BenchmarkSpliceFrom(b *testing.B) {
	const size = 64 << 10
	for _, s := range servers {
		b.Run("server="+s.name, func(b *testing.B) {
			srv, c := connPair(b, s.listen)
			// The source: a stdlib TCP connection whose peer feeds it.
			src, feed := connPair(b, func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") })
			go func() {
				msg := make([]byte, size)
				for range b.N {
					if _, err := feed.Write(msg); err != nil {
						return
					}
				}
			}()
			total := int64(b.N) * size
			done := drain(c, total)
			b.SetBytes(size)
			b.ResetTimer()
			if n, err := srv.(io.ReaderFrom).ReadFrom(io.LimitReader(src, total)); err != nil || n != total {
				b.Fatalf("ReadFrom: %d, %v", n, err)
			}
			if n := <-done; n != total {
				b.Fatalf("client read %d bytes, want %d", n, total)
			}
		})
	}
}
