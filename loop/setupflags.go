//go:build linux

package loop

import (
	"errors"
	"reflect"
	"syscall"

	"github.com/godzie44/go-uring/uring"
)

// setupCoopTaskrun is IORING_SETUP_COOP_TASKRUN (Linux 5.19), which
// go-uring has no option for.
//
// Without it, a completion that needs task work (every socket receive
// armed with a poll) interrupts the thread that submitted the request with
// an inter-processor interrupt if that thread is running, so that it runs
// the task work at once. In Go that thread is any M, usually busy with
// other goroutines. With it, a running thread runs the task work at its
// next entry to or exit from the kernel (a system call, a timer tick) and
// a sleeping one is woken as before. perf on the bench server pinned to
// one CPU under wrk -c50 put 21 % of its CPU in the return path of those
// interrupts (irqentry_exit_to_user_mode from asm_sysvec_reschedule_ipi).
// Measured with go run ./bench -reps 3, with and without it in the same
// run (2026-11-26): net/http c=50 0.89x -> 1.05x the stdlib, c=256 1.00x
// -> 1.06x, pinned c=50 0.93x -> 1.28x, pinned c=256 1.06x -> 1.35x
// (server CPU per request 17.4 -> 12.9 µs), pinned ping-pong 0.97x ->
// 1.01x; BenchmarkPingPong unchanged within its noise. The cost: a
// completion for a thread that runs user code without a system call waits
// for its next timer tick.
//
// IORING_SETUP_DEFER_TASKRUN, which batches that task work until the
// ring's owner enters it to reap, was measured and not kept (docs/bench.md,
// 2026-11-27): it needs SINGLE_ISSUER, so the loop goroutine must be
// locked to one thread, and every yield and wake-up of a locked goroutine
// is a thread hand-off. It gained 9 % at net/http c=1000 (free), lost
// 4-8 % at c=50, and moved c=1000 pinned by less than the noise.
const setupCoopTaskrun = 1 << 8

// newRing sets up a ring with COOP_TASKRUN, or without it on kernels that
// refuse the flag.
func newRing(entries uint32) (*uring.Ring, error) {
	r, err := uring.New(entries, uring.WithCQSize(entries*4), withSetupFlags(setupCoopTaskrun))
	if errors.Is(err, syscall.EINVAL) {
		r, err = uring.New(entries, uring.WithCQSize(entries*4))
	}
	return r, err
}

// withSetupFlags returns a go-uring SetupOption that ORs flags into
// io_uring_params.flags. go-uring's options take a pointer to its
// unexported params struct, so the option is built with reflect and the
// struct reached through ioUringParams, which mirrors its layout (that of
// struct io_uring_params).
func withSetupFlags(flags uint32) uring.SetupOption {
	typ := reflect.TypeOf(uring.SetupOption(nil))
	fn := reflect.MakeFunc(typ, func(args []reflect.Value) []reflect.Value {
		p := (*ioUringParams)(args[0].UnsafePointer())
		p.flags |= flags
		return nil
	})
	return fn.Interface().(uring.SetupOption)
}
