package ringnet

import (
	"expvar"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/loop"
)

// LoopStats are the counters of one event loop at one moment.
type LoopStats = backend.Stats

// Stats returns the counters of every running event loop.
func Stats() []LoopStats { return loop.Backend.Stats() }

func init() {
	expvar.Publish("ringnet", expvar.Func(func() any {
		return map[string]any{"backend": Backend(), "loops": Stats()}
	}))
}
