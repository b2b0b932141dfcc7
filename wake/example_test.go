//go:build linux

package wake_test

import (
	"fmt"
	"sync/atomic"

	"github.com/ringnet/ringnet/wake"
)

// ExampleSignal walks through the wake-coalescing protocol between a
// producer goroutine and an event loop, one step at a time.
func ExampleSignal() {
	h, err := wake.New(wake.Eventfd)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()

	var (
		sig   wake.Signal
		queue atomic.Int64 // stands in for the loop's work queue
		c     = h.Carrier()
	)

	// Loop: nothing to do, announce the sleep, then re-check the queue.
	sig.PrepareSleep()
	if queue.Load() == 0 {
		// The loop would now block on h.ReadFd() (poll, or a read
		// through its ring).
		fmt.Println("loop sleeping:", sig.Sleeping())
	}

	// Producer: enqueue, then notify. The loop is asleep, so Notify
	// writes the wake descriptor.
	queue.Add(1)
	fmt.Println("notify wrote:", sig.Notify(c))

	// Loop: woken up; consume the wake, clear the flag, run the work.
	n, _ := h.Drain()
	sig.Woke()
	fmt.Println("pending wakes:", n, "work items:", queue.Swap(0))

	// Producer: the loop is awake, so this Notify is coalesced: no write.
	queue.Add(1)
	fmt.Println("notify wrote:", sig.Notify(c))

	// Loop: about to sleep again, but the re-check finds work.
	sig.PrepareSleep()
	if queue.Load() > 0 {
		sig.CancelSleep()
		fmt.Println("work items:", queue.Swap(0))
	}

	fmt.Printf("%+v\n", sig.Stats())
	// Output:
	// loop sleeping: true
	// notify wrote: true
	// pending wakes: 1 work items: 1
	// notify wrote: false
	// work items: 1
	// {Written:1 Coalesced:1}
}
