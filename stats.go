package ringnet

import (
	"expvar"

	"github.com/ringnet/ringnet/loop"
)

// LoopStats are the counters of one event loop at one moment.
type LoopStats = loop.Snapshot

// Stats returns the counters of every running event loop.
func Stats() []LoopStats {
	var out []LoopStats
	for _, g := range loop.Running() {
		for _, l := range g.Loops() {
			out = append(out, l.Stats())
		}
	}
	return out
}

func init() {
	expvar.Publish("ringnet", expvar.Func(func() any {
		return map[string]any{"backend": Backend(), "loops": Stats()}
	}))
}
