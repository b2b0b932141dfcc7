//go:build !noringnet

package nettest_test

import (
	"context"
	"fmt"
	"net"

	"github.com/ringnet/ringnet"
)

// The ringnet backend: its name is what the library says it runs (io_uring,
// or poll when RINGNET_BACKEND=poll selects the fallback).
func init() {
	allBackends = append(allBackends, &backend{
		name:   ringnet.Backend(),
		listen: ringnet.Listen,
		listenConfig: func(ctx context.Context, o listenOpts, network, address string) (net.Listener, error) {
			lc := ringnet.ListenConfig{
				Control:   o.Control,
				KeepAlive: o.KeepAlive,
				Loops:     o.Loops,
				Buffers:   o.Buffers,
			}
			return lc.Listen(ctx, network, address)
		},
		statsDetail: func() string { return fmt.Sprintf("%+v", ringnet.Stats()) },
		stats: func() loopStats {
			var s loopStats
			for _, l := range ringnet.Stats() {
				s.Loops++
				s.Conns += l.Conns
				s.BuffersInUse += l.BuffersInUse
				s.Buffers += int64(l.Buffers)
				s.RecvPauses += l.RecvPauses
				s.NoBufs += l.NoBufs
			}
			return s
		},
	})
}
