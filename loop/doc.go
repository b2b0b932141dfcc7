// Package loop runs ringnet's io_uring event loops: one goroutine per CPU,
// each owning one ring, one provided-buffer ring and one eventfd.
//
// What it owns: the rings (set up through github.com/godzie44/go-uring,
// whose SQ/CQ code it uses; ops that library lacks — multishot accept,
// receive with buffer select, the buffer ring registration — are
// filled into its exported SQEntry or registered with io_uring_register(2)
// directly), the sockets it was handed (it alone closes them), and the
// completion side of every operation. What it must never touch: a user
// goroutine's blocking, deadlines or buffers — those live in
// internal/stream, which the loop feeds through Deliver*/Send* calls — and
// the public API, which lives in the root package.
//
// # Data path
//
// Accept: every loop keeps a multishot accept armed on a listening socket;
// the loop that gets a connection hands it round-robin to a loop, which
// keeps one receive armed for it. Receive completions pick a buffer from
// the loop's provided-buffer ring; the bytes are copied into the
// connection's queue and the buffer goes back to the ring at once, so an
// idle connection holds no receive buffer. A connection whose unread bytes
// pass a high-water mark is not re-armed until its reader drains it; a
// receive that finds the buffer ring empty (ENOBUFS) is re-armed after the
// completions of the same batch have returned their buffers (no more at
// once than there are buffers), never by a timer or an immediate resubmit.
//
// Receives are single-shot, re-armed from the completion handler, not
// multishot: a receive's completion runs as task work on the thread that
// submitted it, and a Go goroutine has no fixed thread. A multishot
// receive armed at accept time sends every later completion to whatever
// thread that was, usually one asleep by then, which the kernel must wake
// first. Re-armed by the loop, the task work lands on the thread the loop
// last ran on, typically the one parked in the netpoller. Measured in one
// run of BenchmarkPingPong (50,000 round trips under perf stat): multishot
// 2.3–2.5 context switches and 30–41 µs per round trip, single-shot
// 1.4–1.6 and 25–26 µs, the stdlib 0.17 and 22–31 µs; wrk -c256 against
// examples/http gave the same throughput either way (28–29 k req/s against
// 15–17 k for the stdlib on a loaded machine), the extra SQEs going out in
// batched io_uring_enter calls (2.4–3.8 k calls for ~100 k requests).
//
// Send: one send is in flight per connection; bytes written meanwhile are
// coalesced into the next one. The memory a send points at is kept by the
// connection until its completion. Short sends are resent; -EAGAIN waits
// for POLLOUT through the ring. SendFile (ReadFrom from a file) uses the
// same send slot for IORING_OP_SPLICE operations, one at a time, file →
// pipe → socket, so file bytes never pass through user space.
//
// Connect (Dial): IORING_OP_CONNECT on a loop picked round-robin; the
// kernel waits for the handshake, a context that ends first cancels the
// operation with ASYNC_CANCEL, and the connected socket is adopted by the
// same loop.
//
// Close: queued bytes are sent first (bounded by stream.LingerTimeout),
// the armed receive is cancelled, and the fd is closed only when no
// operation refers to it, so the peer sees a FIN.
//
// user_data carries an op code, a 24-bit generation and a slot index,
// never a Go pointer: completions that arrive after a slot was reused are
// recognised and dropped (their buffers still go back to the ring).
//
// # How the loop waits, and why (measured)
//
// User goroutines post work to a loop through a mutex-guarded queue and
// wake it through wake.Signal: only a loop that announced it is about to
// sleep gets an eventfd write; the eventfd is read through the ring, so
// the write turns into a completion. The loop sleeps by parking in Go's
// netpoller on (a dup of) the ring fd, which polls readable when the
// completion queue is not empty, so a sleeping loop holds no thread.
// Blocking a thread in io_uring_enter(GETEVENTS) instead measured the
// same on the one-connection ping-pong (BenchmarkPingPong, 25–48 µs per
// round trip either way in one run, against 13–20 µs for the stdlib) and
// holds a thread per loop, so the netpoller won.
//
// On one connection the cost was a thread wake-up: handing the bytes from
// the loop goroutine to a reader blocked on a channel readies a goroutine,
// and runtime.ready wakes an idle P's thread (wakep), which then races the
// loop's thread for the reader. So a reader of a loop that serves one
// connection parks in the netpoller instead, on an eventfd of its stream
// (stream.PollerWaker), and the loop writes it: the reader is then
// picked up by the netpoll check of the thread that runs out of work first,
// the loop's own as it parks, and the round trip stays on one thread as the
// stdlib's does (both goroutines of a ping-pong are found by netpoll(0) on
// the thread whose write made them runnable, since loopback delivery and the
// receive's task work happen inside that write). Measured on
// BenchmarkPingPong (50,000 round trips under perf stat): 1.3 context
// switches per round trip before, 0.01–0.15 after (the stdlib 0.015), 1.7×
// the stdlib's time before, 1.2–1.25× after. Loops with more connections
// keep the channel: there a pass often delivers to several readers, one
// write(2) each would cost more than the wake-ups it saves, and readers in
// the netpoller would not run during the loop's yield (see below).
//
// The loop writes a parked reader's eventfd with an IORING_OP_WRITE in
// the same io_uring_enter that re-arms its receive, not with a write(2):
// under strace -f -c a BenchmarkPingPong round trip then makes as many
// system calls with a ringnet server as with a stdlib one (8.1 for client
// and server together; it was 9.1), though the time per round trip did not
// move measurably (19.1 → 18.2 µs, p=0.24).
//
// The trade is not free. Against a client in another process (the bench
// harness's echo client, and wrk), measured 2026-11-26 13:25 UTC with the
// same server built both ways, 6 interleaved 3 s runs each, medians:
// ping-pong 39.2 k (channel) → 41.0 k (eventfd) round trips per 3 s, the
// stdlib 47.2 k; net/http at c=1 10.15 k → 9.72 k req/s, the stdlib 13.1 k.
// A channel wake lets the reader start on another CPU while the loop
// finishes its pass; the eventfd runs it after the loop parks. On the tiny
// ping-pong that serialisation costs less than the thread wake-up; on a
// net/http request, with more work on both sides, it costs about 4 %.
// Wake-ups from user goroutines (Close, SetReadDeadline, which net/http
// calls on every request to end its background read) set a past deadline
// on the eventfd's os.File instead of writing it: no system call.
//
// What remains of the gap is the hop, not wake-ups or system calls: per
// round trip the loop goroutine runs between the kernel and the reader
// (one more netpoll and a goroutine switch), and its io_uring_enter costs
// more than the stdlib reader's read(2).
// Removing the hop would need the reader to reap the ring itself while the
// loop waits elsewhere, and a way to hand the ring back to the loop with
// no wake-up when the reader leaves (IORING_CQ_EVENTFD_DISABLED toggled on
// an eventfd the loop parks on is one, at the price of a store-load race
// with the kernel); not done.
//
// Before sleeping, a pass that delivered bytes to two or more connections
// yields (runtime.Gosched) so that their readers run first: the replies
// they write find the loop awake and go out in one batched io_uring_enter
// instead of one send(2) each. At one connection the loop sleeps at once
// and the reply is sent directly, which measured faster alone (see
// yieldAfter for the numbers).
//
// Writes: a Write that finds nothing queued while its loop sleeps sends
// with one non-blocking send(2) from the writer's goroutine (waking the
// loop would cost an eventfd write, the same one system call, plus two
// wake-ups); while the loop runs, bytes are queued and go out in its next
// batched io_uring_enter. This cut BenchmarkPingPong from ~2.6× to
// ~1.3–1.9× the stdlib's time per round trip.
package loop
