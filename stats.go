package ringnet

import "expvar"

func init() {
	expvar.Publish("ringnet", expvar.Func(func() any {
		return map[string]any{"backend": Backend(), "reason": BackendReason(), "loops": Stats()}
	}))
}
