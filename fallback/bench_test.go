//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
)

// Benchmarks run the poll backend (in both of its ways of sleeping) and
// the standard library side by side in one process, as the root
// package's bench_test.go does:
//
//	go test -run '^$' -bench . -count 6 ./fallback/ | tee out.txt
//	benchstat -col /server out.txt

var benchServers = []struct {
	name   string
	listen func(b *testing.B) net.Listener
}{
	{"stdlib", func(b *testing.B) net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		return ln
	}},
	{"poll", func(b *testing.B) net.Listener { return benchListen(b, waitNetpoll) }},
	{"poll-blocking", func(b *testing.B) net.Listener { return benchListen(b, waitBlocking) }},
}

func benchListen(b *testing.B, mode int) net.Listener {
	old := waitMode
	waitMode = mode
	defer func() { waitMode = old }()
	return listen(b, Config{})
}

// benchEcho serves an echo on every accepted connection until ln closes.
func benchEcho(ln net.Listener) (stop func()) {
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
		WaitStopped()
	}
}

func benchRoundTrip(c net.Conn, msg, buf []byte) error {
	if _, err := c.Write(msg); err != nil {
		return err
	}
	_, err := io.ReadFull(c, buf[:len(msg)])
	return err
}

// BenchmarkPingPong is one connection doing 64-byte request/response
// round trips: the latency path.
func BenchmarkPingPong(b *testing.B) {
	for _, s := range benchServers {
		b.Run("server="+s.name, func(b *testing.B) {
			ln := s.listen(b)
			stop := benchEcho(ln)
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
				if err := benchRoundTrip(c, msg, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEchoParallel is many connections (GOMAXPROCS × 16) echoing
// 128-byte messages at once: the throughput path.
func BenchmarkEchoParallel(b *testing.B) {
	for _, s := range benchServers {
		b.Run("server="+s.name, func(b *testing.B) {
			ln := s.listen(b)
			stop := benchEcho(ln)
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
					if err := benchRoundTrip(c, msg, buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkStream is one connection sending 1 MiB writes one way: the
// bulk-receive path (read scratch buffer, Deliver, pause/resume).
func BenchmarkStream(b *testing.B) {
	for _, s := range benchServers {
		b.Run("server="+s.name, func(b *testing.B) {
			ln := s.listen(b)
			defer WaitStopped()
			defer ln.Close()
			done := make(chan int64, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- 0
					return
				}
				defer c.Close()
				buf := make([]byte, 256<<10)
				var n int64
				for {
					k, err := c.Read(buf)
					n += int64(k)
					if err != nil {
						done <- n
						return
					}
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			msg := make([]byte, 1<<20)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
			}
			c.Close()
			if n := <-done; n != int64(b.N)*int64(len(msg)) {
				b.Fatalf("received %d bytes, sent %d", n, b.N*len(msg))
			}
		})
	}
}
