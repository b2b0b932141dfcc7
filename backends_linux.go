package ringnet

import (
	"github.com/ringnet/ringnet/fallback"
	"github.com/ringnet/ringnet/loop"
)

func init() {
	ioURing = &loop.Backend
	pollBackend = &fallback.Backend
}

func probeKernel() error { return loop.Probe() }
