//go:build darwin || dragonfly || freebsd || netbsd

package ringnet

import "github.com/ringnet/ringnet/fallback"

func init() { pollBackend = &fallback.Backend }

func probeKernel() error { return nil }
