//go:build !noringnet

package nettest_test

import (
	"context"
	"fmt"
	"net"

	"github.com/ringnet/ringnet"
)

// ringnet's backends, each forced through ListenConfig.Backend so that one
// run of the suite covers both: io_uring, and the poll loop that serves
// where io_uring is refused.
func init() {
	for _, name := range []string{"io_uring", "poll"} {
		listenConfig := func(ctx context.Context, o listenOpts, network, address string) (net.Listener, error) {
			lc := ringnet.ListenConfig{
				Control:   o.Control,
				KeepAlive: o.KeepAlive,
				Loops:     o.Loops,
				Buffers:   o.Buffers,
				Backend:   name,
			}
			return lc.Listen(ctx, network, address)
		}
		loops := func() []ringnet.LoopStats {
			var out []ringnet.LoopStats
			for _, l := range ringnet.Stats() {
				if l.Backend == name {
					out = append(out, l)
				}
			}
			return out
		}
		b := &backend{
			name: name,
			listen: func(network, address string) (net.Listener, error) {
				return listenConfig(context.Background(), listenOpts{}, network, address)
			},
			listenConfig: listenConfig,
			statsDetail:  func() string { return fmt.Sprintf("%+v", loops()) },
			stats: func() loopStats {
				var s loopStats
				for _, l := range loops() {
					s.Loops++
					s.Conns += l.Conns
					s.BuffersInUse += l.BuffersInUse
					s.Buffers += int64(l.Buffers)
					s.RecvPauses += l.RecvPauses
					s.NoBufs += l.NoBufs
				}
				return s
			},
		}
		lc := ringnet.ListenConfig{Backend: name}
		d := ringnet.Dialer{Backend: name}
		b.listenPacket = func(network, address string) (net.PacketConn, error) {
			return lc.ListenPacket(context.Background(), network, address)
		}
		b.dialPacket = d.Dial
		allBackends = append(allBackends, b)
	}
}
