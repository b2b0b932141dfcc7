//go:build linux

package loop_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringnet/ringnet"
	"github.com/ringnet/ringnet/internal/dgram"
	"github.com/ringnet/ringnet/loop"
)

// BenchmarkUDPEchoDesign measures the datagram design choices of the
// package doc, in one run beside the standard library: a one-goroutine
// UDP echo server with 1 or 64 peers (each its own goroutine and socket,
// one datagram in flight), on io_uring with multishot or single-shot
// receives, and its writes sent directly while the loop sleeps (the
// default), always directly, always by the loop, or queued to the loop
// without waiting for the outcome. ns/op is per round trip.
//
//	go test -run '^$' -bench UDPEchoDesign -count 6 ./loop | tee out.txt
//	benchstat -col /design out.txt
func BenchmarkUDPEchoDesign(b *testing.B) {
	designs := []struct {
		name      string
		multishot bool
		send      int
		queue     bool
	}{
		{"multishot", true, loop.SendDirectWhenAsleep, false},
		{"single-shot", false, loop.SendDirectWhenAsleep, false},
		{"send-direct", true, loop.SendAlwaysDirect, false},
		{"send-loop", true, loop.SendAlwaysLoop, false},
		{"send-queued", true, loop.SendAlwaysLoop, true},
	}
	for _, size := range []int{64, 1200} {
		for _, peers := range []int{1, 64} {
			b.Run(fmt.Sprintf("size=%d/peers=%d/design=stdlib", size, peers), func(b *testing.B) {
				echoBench(b, func() (net.PacketConn, error) { return net.ListenPacket("udp4", "127.0.0.1:0") }, size, peers)
			})
			for _, d := range designs {
				b.Run(fmt.Sprintf("size=%d/peers=%d/design=%s", size, peers, d.name), func(b *testing.B) {
					*loop.RecvMultishot, *loop.SendMode, dgram.QueueWrites = d.multishot, d.send, d.queue
					defer func() {
						*loop.RecvMultishot, *loop.SendMode, dgram.QueueWrites = true, loop.SendDirectWhenAsleep, false
					}()
					echoBench(b, func() (net.PacketConn, error) {
						lc := ringnet.ListenConfig{Backend: "io_uring"}
						return lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:0")
					}, size, peers)
				})
			}
		}
	}
}

func echoBench(b *testing.B, listen func() (net.PacketConn, error), size, peers int) {
	pc, err := listen()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, err := pc.WriteTo(buf[:n], from); errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	defer func() {
		pc.Close()
		<-done
	}()
	to := pc.LocalAddr()
	var next, resent atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, peers)
	b.SetBytes(int64(size))
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
					_, _, err := c.ReadFrom(buf)
					if err == nil {
						break
					}
					var ne net.Error
					if !errors.As(err, &ne) || !ne.Timeout() {
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
