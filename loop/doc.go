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
// the loop's provided-buffer ring; the bytes are copied into the buffer of
// a reader that waits for them, or else into the connection's queue
// (stream.Deliver), and the buffer goes back to the ring at once, so an
// idle connection holds no receive buffer. A connection whose unread bytes
// pass a high-water mark is not re-armed until its reader drains it; a
// receive that finds the buffer ring empty (ENOBUFS) is re-armed after the
// completions of the same batch have returned their buffers (no more at
// once than there are buffers), never by a timer or an immediate resubmit.
//
// Rings are set up with IORING_SETUP_COOP_TASKRUN: a receive's task work
// then waits for the submitting thread's next entry to the kernel instead
// of interrupting it (see setupCoopTaskrun for the numbers).
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
// for POLLOUT through the ring. SendFile (ReadFrom) calls sendfile(2) (from
// a regular file) or splice(2) (from a stream socket, through a pipe) on
// the caller's goroutine, and waits for POLLOUT through the ring in the
// connection's send slot when the socket is full; the bytes never pass
// through user space. (Splices on the ring were far slower, 154.8 µs
// against sendfile(2)'s 10.6 µs for a 16 KiB file: io_uring hands them to
// its worker threads; see sendfile.go.)
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
// sleep gets a write to its wake eventfd; that eventfd is read through the
// ring, so the write turns into a completion. Every wake-up is therefore a
// completion, and the loop sleeps by waiting for completions: it parks in
// Go's netpoller on a second eventfd, registered with the ring
// (IORING_REGISTER_EVENTFD), which the kernel signals when it posts a
// completion. A sleeping loop holds no thread. Blocking a thread in
// io_uring_enter(GETEVENTS) instead measured the same on the
// one-connection ping-pong (BenchmarkPingPong, 25–48 µs per round trip
// either way in one run, against 13–20 µs for the stdlib) and holds a
// thread per loop, so the netpoller won. The same held for a leading
// reader (below) waiting in io_uring_enter on its own thread: +180 % per
// in-process round trip, two context switches where the netpoller, running
// client and server goroutines on one thread, needs none.
//
// # One connection: the reader does the loop's work
//
// The loop's work (draining the queue, submitting, reaping) is guarded by
// a mutex, the pass, which the loop goroutine holds except while it
// sleeps. A Read that must block on a loop serving one connection takes
// the pass instead of waiting to be woken (stream.Leader): it parks in the
// netpoller on (a dup of) the ring fd, which polls readable when the
// completion queue is not empty, and handles the completions itself — its
// own bytes among them — then returns them. The stdlib's reader is woken
// by the netpoller when its socket has data; this one is woken by the
// netpoller when its ring has a completion: one goroutine, one wake-up,
// as with net. Meanwhile the ring must not wake the sleeping loop
// goroutine: its eventfd's signalling is switched off with
// IORING_CQ_EVENTFD_DISABLED in the CQ ring's flags word (a store, no
// system call) while anyone holds the pass, and on again by whoever gives
// the pass back, who then re-checks the completion queue. That re-check
// closes the race with a completion posted meanwhile: the kernel publishes
// a CQE's tail before it reads the flag, with a full barrier in between
// (see cqView.signalEventfd), and Go's atomic store and load are
// sequentially consistent. A reader that gives the pass back
// with work pending (a completion, a post, a stop) writes the loop's
// eventfd; the steady state writes nothing. Close and SetReadDeadline
// interrupt a leading reader with a past deadline on the ring fd's
// os.File: no system call.
//
// Measured with BenchmarkPingPong (go test -run '^$' -bench PingPong -count
// 8, benchstat -col /server), 2026-11-26: +28 % over the stdlib before (the
// loop goroutine received the bytes and woke the reader, which parked on an
// eventfd of its own that the loop wrote with an IORING_OP_WRITE), +14 %
// with the reader leading. Two more cuts on that path took it to +10.3 %
// (13.44 vs 14.82 µs, n=8, ±1 %; later runs of the same code, noisier:
// +12.9 %, then +7.1 % (n=6) and +14.1 % (n=10) ten minutes apart):
// re-armed receives carry IORING_RECVSEND_POLL_FIRST when the last one left
// the socket empty (IORING_CQE_F_SOCK_NONEMPTY clear), skipping a receive
// attempt that could only fail with EAGAIN (+14.0 % → +11.5 %), and a
// direct write uses send(2) rather than sendmsg(2) (+12.4 % → +10.3 %, in
// internal/stream). Under strace -f -c a round trip then makes 7.05 system
// calls for client and server together, the stdlib 8.2: what remains is
// io_uring's own kernel path (the receive's task work and the
// io_uring_enter that re-arms it) costing more than the stdlib's two
// read(2) calls. A multishot receive, which would need no re-arming, was
// tried again with the reader leading and lost again (+153 %, a context
// switch per round trip; +225 % armed by the leading reader itself): its
// task work stays bound to the thread that armed it. net/http at c=1 (go run ./bench, wrk -c1, 3 repetitions) went
// from 0.79× to 0.90× the stdlib; c=50 and c=256 did not move (0.86× →
// 0.85×, 0.92× → 0.92×): with more than one connection per loop nobody
// leads.
//
// Before sleeping, a pass that delivered bytes to two or more connections
// yields (runtime.Gosched) so that their readers run first: the replies
// they write find the loop awake and go out in one batched io_uring_enter
// instead of one send(2) each. At one connection the loop sleeps at once
// and the reply is sent directly, which measured faster alone (see
// yieldAfter for the numbers). A loop with more than one connection that
// finds nothing to do also yields a few times (idleSpins) before it
// sleeps: handlers readied a moment before often write within
// microseconds, and an awake loop batches their replies.
//
// Writes: a Write that finds nothing queued while its loop sleeps sends
// with one non-blocking send(2) from the writer's goroutine (waking the
// loop would cost an eventfd write, the same one system call, plus two
// wake-ups); while the loop runs, bytes are queued and go out in its next
// batched io_uring_enter. This cut BenchmarkPingPong from ~2.6× to
// ~1.3–1.9× the stdlib's time per round trip.
package loop
