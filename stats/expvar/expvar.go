// Package expvar publishes ringnet's loop counters with the standard
// library's expvar package, under the name "ringnet", when it is imported:
//
//	import _ "github.com/ringnet/ringnet/stats/expvar"
//
// Importing it is the opt-in: expvar itself registers /debug/vars on
// http.DefaultServeMux, so a program that serves the default mux then
// exposes its command line and memory statistics too. ringnet and
// ringnet/stats never import expvar, so a program that does not import
// this package gets no such handler from ringnet.
//
// The published value is a stats.Snapshot, taken whenever expvar reads it.
package expvar

import (
	stdexpvar "expvar"

	"github.com/ringnet/ringnet/stats"
)

func init() {
	stdexpvar.Publish("ringnet", stdexpvar.Func(func() any { return stats.Take() }))
}
