//go:build linux

package ringnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The datagram benchmarks run a UDP echo server on the standard library
// and on each backend in one process, so that their ratios are measured
// under the same conditions:
//
//	go test -run '^$' -bench UDPEcho -count 6 | tee out.txt
//	benchstat -col /server out.txt

var packetServers = []struct {
	name   string
	listen func() (net.PacketConn, error)
}{
	{"stdlib", func() (net.PacketConn, error) { return net.ListenPacket("udp4", "127.0.0.1:0") }},
	{"io_uring", func() (net.PacketConn, error) {
		lc := ListenConfig{Backend: "io_uring"}
		return lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:0")
	}},
	{"poll", func() (net.PacketConn, error) {
		lc := ListenConfig{Backend: "poll"}
		return lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:0")
	}},
}

// packetEcho echoes every datagram pc receives, from one goroutine (as a
// DNS server's read loop does), until pc closes.
func packetEcho(pc net.PacketConn) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, err := pc.WriteTo(buf[:n], from); err != nil && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	return func() {
		pc.Close()
		<-done
	}
}

// BenchmarkUDPEcho is request/response UDP echo: peers (1 or 64
// goroutines, each with its own standard library socket) send a datagram
// and wait for its echo, resending after 100 ms if it was dropped. ns/op
// is per round trip of all peers together: peers=64 measures throughput.
func BenchmarkUDPEcho(b *testing.B) {
	for _, size := range []int{64, 1200} {
		for _, peers := range []int{1, 64} {
			for _, s := range packetServers {
				b.Run(fmt.Sprintf("size=%d/peers=%d/server=%s", size, peers, s.name), func(b *testing.B) {
					benchUDPEcho(b, s.listen, size, peers)
				})
			}
		}
	}
}

func benchUDPEcho(b *testing.B, listen func() (net.PacketConn, error), size, peers int) {
	pc, err := listen()
	if err != nil {
		b.Fatal(err)
	}
	stop := packetEcho(pc)
	defer stop()
	to := pc.LocalAddr()
	var next atomic.Int64
	var resent atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, peers)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				errc <- err
				return
			}
			defer c.Close()
			msg, buf := make([]byte, size), make([]byte, size+1)
			for next.Add(1) <= int64(b.N) {
				for {
					if _, err := c.WriteTo(msg, to); err != nil {
						errc <- err
						return
					}
					_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
					if _, _, err := c.ReadFrom(buf); err == nil {
						break
					} else if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
						errc <- err
						return
					}
					resent.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
	b.ReportMetric(float64(resent.Load())/float64(b.N), "resent/op")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
