//go:build race

package stream

import "sync/atomic"

// ioSync orders, for the race detector, every Read that returns bytes
// after every Write that began before it, as syscall.Read and
// syscall.Write do for net (their ioSync): the bytes went through the
// kernel, which the detector cannot see, and code that relies on a reply
// being read only after its request was written (gRPC's drain, for one)
// must not be reported on ringnet when it is not on net.
var ioSync atomic.Uint64

func raceReleaseIO() { ioSync.Add(1) }

func raceAcquireIO() { ioSync.Load() }
