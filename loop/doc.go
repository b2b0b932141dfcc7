// Package loop runs ringnet's io_uring event loops: one goroutine per CPU,
// each owning one ring, one provided-buffer ring and one eventfd.
//
// What it owns: the rings (set up through github.com/godzie44/go-uring,
// whose SQ/CQ code it uses; ops that library lacks — accept with the
// peer's address, receive with buffer select, the buffer ring
// registration — are
// filled into its exported SQEntry or registered with io_uring_register(2)
// directly), the sockets it was handed (it alone closes them), and the
// completion side of every operation. What it must never touch: a user
// goroutine's blocking, deadlines or buffers — those live in
// internal/stream, which the loop feeds through Deliver*/Send* calls — and
// the public API, which lives in the root package.
//
// # Data path
//
// Accept: every loop keeps one accept armed on a listening socket,
// re-armed from its completion, and keeps the connections it accepts,
// with one receive armed for each (see "Accepting" below). Receive
// completions pick a buffer from the loop's provided-buffer ring; the
// bytes are copied into the buffer of a reader that waits for them, or
// else into the connection's queue
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
// Close: queued bytes are sent first (bounded by stream.LingerTimeout; none
// after SetLinger(0)), the armed receive is cancelled, and the fd is
// closed (stream.Stream.CloseFD) only when no operation refers to it, so
// the peer sees a FIN (a reset if received bytes were left unread).
//
// Half-close: CloseWrite returns at once, and the loop shuts the sending
// side down (shutdown(2)) once the send queue is empty. After CloseRead
// the loop arms no more receives for the connection: the receive in
// flight completes (shutdown wakes it: with bytes, or 0), and the loop
// then hands receiving to the reader for good (stream.Stream.StartSolo),
// whose Read calls recv(2) itself. After shutdown(SHUT_RD) a receive
// returns at once, with the bytes a TCP peer sent since (Linux queues
// them) or 0: a loop that kept re-arming one would spin.
//
// user_data carries an op code, a 24-bit generation and a slot index,
// never a Go pointer: completions that arrive after a slot was reused are
// recognised and dropped (their buffers still go back to the ring).
//
// # Accepting, and why (measured)
//
// Each loop arms a single-shot IORING_OP_ACCEPT on every listening socket
// and arms it again from its completion (unless the accept queue is full,
// or the accept failed: then Accept re-arms). Accepts wait for a
// connection exclusively, and the kernel wakes the oldest waiter, whose
// re-armed accept then queues behind the others', so the loops take the
// connections in turn, and each keeps what it accepts: no connection is
// handed between loops. An accept that finds a connection waiting takes
// it at once, in the io_uring_enter that submits it. Its completion
// carries the peer's address, which the accept writes to the listener's
// entry in the loop (acceptAddr): the connection's RemoteAddr then needs
// no getpeername(2), as net's needs none (it keeps accept(2)'s).
//
// It was a multishot accept, armed once per loop when Listen ran, whose
// connections the one loop that got them all (the kernel keeps waking the
// same multishot waiter) handed round-robin to the others through their
// inboxes. But a multishot accept's completions run as task work on the
// thread that armed it, and a goroutine has no thread: that thread was
// usually asleep by then, or parked in the netpoller for other goroutines
// (its epoll_pwait ended in EINTR under strace), and the kernel woke it
// once per connection for that alone. Re-armed by the loop, an accept's
// task work lands on the thread the loop last ran on, as a receive's does
// (above). Measured with wrk -t1 -c50 -d4s -H
// 'Connection: close' against bench/server's /hello, perf stat on the
// server, 6 interleaved repetitions (2026-12-08, the machine shared):
// context switches per request 1.15 with the multishot accept and the
// hand-off, 0.65 with this, 0.63 for the stdlib; system calls per request
// 10.3, 9.2 and 13.3; the server's CPU time per request 1.24×, 1.09× the
// stdlib's (medians of the same-repetition ratios). In-process,
// BenchmarkConnPerRequest counted 0.62 voluntary context switches per
// connection before, 0.21 after (n=6, p=0.002). Both loops took half the
// connections (25,674 and 25,846 of one run). Throughput, with the
// addresses read through package syscall as well (the root package's
// newConn), 10 repetitions of 2 s: 0.84× the stdlib's before (0.68–1.11),
// 1.02× after (0.76–1.28); a 16-repetition run earlier the same day,
// 0.87× and 0.92×: this machine's noise is larger than the change.
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
// completion. While the loop runs, that signalling is switched off with
// IORING_CQ_EVENTFD_DISABLED in the CQ ring's flags word (a store, no
// system call), and the loop re-checks the completion queue after turning
// it back on (see cqView.signalEventfd for why no completion is missed). A
// sleeping loop holds no thread. Blocking a thread in
// io_uring_enter(GETEVENTS) instead measured the same on the
// one-connection ping-pong (BenchmarkPingPong, 25–48 µs per round trip
// either way in one run, against 13–20 µs for the stdlib) and holds a
// thread per loop, so the netpoller won (a later retry, docs/bench.md:
// fewer system calls, less throughput from 50 connections up).
//
// # One connection: its reader receives itself
//
// A loop with a single connection hands the connection's receiving
// to its reader (updateSolo, stream.StartSolo): Read calls read(2) on its
// own goroutine and, when the socket is empty, waits for it in Go's
// netpoller on a dup of the socket, exactly as a reader of a net.Conn
// does. No receive is armed on the ring for that connection meanwhile.
// When a second connection arrives, the loop takes receiving back
// (stream.StopSolo; a reader inside read(2) or its wait is interrupted
// and hands it back first), so the loop and a reader never receive at
// the same time and no byte can be reordered between them. When the
// connections drop to one again, the survivor goes solo. A connection
// goes solo only once stream.SoloAfter receives through the ring have
// delivered it bytes: the reader's dup and its netpoller registration
// cost four system calls over the connection's life, which one that
// carries a single request never recovers. With wrk -t1 -c1 -H
// 'Connection: close' (each connection alone on its loop; perf stat on
// the server, 8 interleaved repetitions, 2026-12-08), system calls per
// request fell from 25.4 to 21.1 (the stdlib: 19.9); the fcntl(2) dups
// alone went from 1.6 per request (handed over at once) through 0.28
// (after one receive) to none; throughput and CPU time did not move
// beyond the noise (1.0× and 1.12× the stdlib's, both ways).
//
// Why: one connection gives the ring nothing to batch, and its receive
// path costs more per message than read(2). Each message through the ring
// means arming a receive (an io_uring_enter; IORING_RECVSEND_POLL_FIRST
// when the last one left the socket empty), a poll wake-up that queues
// task work, the task work running the receive on the submitting thread
// (through the signal path), a completion, and the ring's own wake-up of
// whoever waits for it. Measured with BenchmarkPingPong (go test -run '^$'
// -bench PingPong, 64-byte round trips in one process, benchstat -col
// /server), 2026-11-26: the best ring design, in which the blocked reader
// took over the loop's work and parked on the ring fd itself ("leading",
// four earlier variants in docs/bench.md), stayed at +10 to +14 % over
// the stdlib (13.38 vs 14.99 µs, n=15); solo receiving, in the same run,
// +1.9 % (13.64 µs). It costs one more descriptor per solo connection
// (the dup, closed with the socket).
//
// A bulk transfer into a lone connection goes the other way: the loop
// receiving pays there, since it copies into the queue on one CPU while
// the reader copies out on the other. So a solo reader whose reads keep
// filling its buffer (four in a row, of 4 KiB or more) gives receiving
// back to the loop, and gets it again once it has caught up (four
// deliveries in a row smaller than its waiting buffer; stream/solo.go).
// BenchmarkBulkRecv (1 MiB writes into one connection, 12 alternated runs,
// ±4–18 %): 326 µs per MiB with the loop always receiving, 403 µs solo
// always, 300 µs with this switch, stdlib 317 µs; BenchmarkPingPong
// unchanged. Sends are unchanged: a Write that finds its loop asleep
// already sends with send(2) directly (below).
//
// A pass that delivered bytes to two or more connections yields
// (runtime.Gosched) so that their readers run first: the replies they
// write find the loop awake and go out in one batched io_uring_enter
// instead of one send(2) each. A pass of fewer than 16 yields before it
// submits anything, so the receives it re-armed go out in that same
// enter; a larger one submits them first (submitFirstAfter has the
// numbers). At one connection the loop sleeps at once
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
