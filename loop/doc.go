// Package loop runs ringnet's io_uring event loops: one goroutine per CPU
// (min(GOMAXPROCS, NumCPU) by default), each owning one ring, one
// provided-buffer ring and one eventfd.
//
// What it owns: the rings (set up through github.com/godzie44/go-uring,
// whose SQ/CQ code it uses; ops that library lacks — accept with the
// peer's address, receive with buffer select, multishot RECVMSG with
// buffer select, SENDMSG from a msghdr the loop keeps, the buffer ring
// registration — are filled into its exported SQEntry (uring.go) or
// registered with io_uring_register(2) directly: go-uring's constructors
// allocate per operation, its opcode list stops near 5.15, and it has no
// operation for RECVMSG or SENDMSG, nor IORING_RECV_MULTISHOT), the
// sockets it was handed (it alone closes them), and the completion side
// of every operation. What it must never touch: a user
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
// # Datagrams
//
// A datagram socket (UDP, Unix datagram; AdoptPacket) keeps one
// IORING_OP_RECVMSG armed with IORING_RECV_MULTISHOT and buffer selection
// from the loop's datagram buffer ring (buffer group 2, registered when
// the loop gets its first datagram socket; Config.Buffers buffers of
// max(BufferSize, 65,535) payload bytes plus a name and 1,280 bytes of
// control data, in whole pages: 68 KiB by default). Each completion's
// buffer holds a struct io_uring_recvmsg_out, the source address and the
// control data in the room the msghdr gave them, then the payload; a
// payloadlen larger than what fit is MSG_TRUNC. The datagram is copied
// into the socket's queue (internal/dgram), or straight into a waiting
// reader's buffers, and the buffer goes back to the ring at once. The
// msghdr given at submission lives in the socket's pconn, which the loop's
// table keeps reachable (Go's collector never moves heap objects) until
// the operation's last completion. The receive is cancelled when the
// queue passes its bounds (the kernel's socket buffer, and its drops, take
// over until the reader drains the queue) and on close; one that runs the
// ring dry (ENOBUFS) ends and is re-armed as completions return buffers.
// A socket error (ECONNREFUSED after an ICMP message on a connected
// socket) ends it too: the next read or write reports the error, and it
// is re-armed.
//
// A write waits for its own datagram's outcome, as net's does: while the
// loop sleeps, the writer sends with one non-blocking sendmsg(2) itself;
// while it runs, or when the socket is full, the datagram becomes an
// IORING_OP_SENDMSG (its msghdr, iovec and address in a sendOp the loop
// keeps until the completion; the payload is the writer's, which waits),
// the sends of every socket going out in one io_uring_enter. A full
// socket parks the SENDMSG in the kernel (no MSG_DONTWAIT), so the loop
// never retries or spins; a writer that gives up (deadline, close) has it
// cancelled with ASYNC_CANCEL, and keeps its outcome if it went out first.
//
// A kernel without multishot RECVMSG (before 6.0; ProbePackets tries one
// once per process) leaves datagram sockets to the poll loops (package
// fallback), which the root package picks for them; streams stay on the
// ring.
//
// Measured (2026-12-08, this machine: 2 CPUs, noisy; a one-goroutine echo
// server, 1 or 64 standard library peers each with one datagram in
// flight; medians of 8–12 runs, ±5–78 %; the design variants were
// switches, since removed, in commit ed41359:
// go test -run '^$' -bench UDPEchoDesign -benchtime 30000x -count 10
// ./loop, benchstat -col /design):
//
//	µs per round trip   stdlib  multishot  single-shot  always   always    queued
//	                                                      direct   the loop  (no wait)
//	64 B, 1 peer         7.4     28.1       13.7         20.7     18.7      30.1
//	64 B, 64 peers       9.5      8.3       16.7         12.3     12.5       9.4
//	1200 B, 1 peer      15.9     18.8       12.4         26.1     22.0      29.0
//	1200 B, 64 peers     7.3      8.2       10.6          8.5     11.5       8.2
//
// Two earlier runs agree: single-shot receives (re-armed after each
// completion, as streams' are) are 29–84 % slower than multishot with 64
// peers and 32–50 % faster with one (where multishot's completions run as
// task work on the thread that armed it, usually asleep, as streams found);
// multishot stays, for the many-peer load datagram servers are for, and a
// lone peer's round trip costs two to four times the standard library's. Who
// sends: the writer always (sendmsg(2) each), the loop always (a wake-up
// and a completion each: the slowest), or the writer only while the loop
// sleeps (the default) measured within noise of each other in time, the
// default batching when the loop is awake. Queueing writes without waiting
// for their outcome (the stream's design) measured no faster, and would
// give up net's errors (EMSGSIZE, EACCES, ECONNREFUSED belong to the
// write that met them), so writes wait. In system calls (perf stat -e
// 'syscalls:sys_enter_*' over 100,000 round trips of BenchmarkUDPEcho,
// 64 B, 64 peers, the peers' own included, 2026-12-08): the standard
// library 5.4 per round trip, io_uring 4.4 (the server's: 0.98 sendmsg,
// 0.02 io_uring_enter; about 2 for net's recvfrom and sendto), poll 4.9.
// Queued writes made 0.04 io_uring_enter per datagram (the same count
// over BenchmarkUDPEchoDesign's 64-peer run): a goal of 0.3 system calls
// per datagram is out of reach for a single writer that waits for each
// of its datagrams, and within reach only of writers that do not.
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
//
// # Memory: how many loops, buffers by load, pages given back when idle
//
// What a loop holds: its ring (1,024 submission and 4,096 completion
// entries, 136 KiB of kernel memory mapped into the process and counted
// in its RSS, all of it touched as the queues wrap), its buffer ring's
// descriptors (4 KiB), a goroutine, and the provided buffers: 256 × 64 KiB
// of address space, of which only the pages receives have written are
// resident. Receives take the provided buffers in turn, so a loop that
// provided all 256 made every one of them resident, at least a page each
// (1 MiB for requests of a few hundred bytes, up to 16 MiB for bulk), and
// kept them. With one loop per P, GOMAXPROCS=64 on this 2-CPU VM (what a
// 64-CPU server gets) peaked at 2.3× the stdlib's RSS under net/http hello
// at c=1000, and held it (140 MB, the stdlib 62 MB). Now:
//
//   - Loops: one per P that has a CPU, min(GOMAXPROCS, NumCPU)
//     (backend.LoopsFor): a loop beyond the CPUs cannot run beside the
//     others, and only splits their connections into smaller batches with
//     sleeps and wake-ups of their own. With GOMAXPROCS=16 and 64 on this
//     VM, net/http hello at c=1000 went from 0.77× and 0.97× the stdlib's
//     throughput to 1.06× and 1.62× (bench/server binaries before and
//     after, wrk -t1 -c1000 -d3s, 8 alternated repetitions; single ones
//     spread from 0.6× to 2× on the loaded VM). An explicit Config.Loops
//     is kept as given.
//   - Buffers by load (bufRing): a loop provides FirstBuffers (16) at
//     first and doubles them, up to 256, whenever receives find none left
//     (ENOBUFS); a buffer that comes back while the ring holds enough is
//     kept spare, and spare buffers are never touched. Under c=1000 with
//     64 loops (16 connections each) every loop stayed at 16; with 2
//     loops they grew to 256 (a start at 4 grew to 16 as well at 64
//     loops). An explicit Config.Buffers provides them all, as before.
//   - Pages given back when idle (idle.go): a loop that has taken no
//     buffer for trimAfter (2 s) cancels its receives, and once none is
//     armed (a cancelled receive may still complete with bytes, delivered
//     as usual) releases every buffer with madvise(MADV_DONTNEED) and arms
//     them again; the next receives fault zeroed pages in. A buffer in the
//     ring may be written by any armed receive at any moment, so nothing
//     cheaper is safe: TestTrimRacesReceives loses bytes to the zeroing
//     without the cancel. The loop notices idleness with a read deadline
//     on the eventfd it sleeps on, set once per trimAfter while it
//     receives, none after a trim: no timer goroutine and no wake-up of an
//     idle loop. BenchmarkTrim: 1.1–4.5 ms to trim a loop with 1,000
//     idle connections (1–4.5 µs each, once per idle period).
//   - MADV_NOHUGEPAGE on the buffers, so that where transparent huge pages
//     are "always" a first receive does not make 2 MiB of them resident.
//
// Measured with a server outside the repository (net/http hello as in
// bench/server, plus a -loops flag for ListenConfig.Loops), GOMAXPROCS=N,
// wrk -t1 -c1000 -d5s, VmHWM after the load, VmRSS 10 s after it, four
// repetitions interleaved with the stdlib, 2026-12-08 (docs/bench.md, "Big
// machines", has the whole table and the poll backend): peak RSS before →
// after, as a ratio to the stdlib's in the same repetition, GOMAXPROCS=2:
// 1.26× → 1.13× (with the 1 KiB queue buffers of internal/stream); 16:
// 1.48× → 1.06× (Loops=16 given: 1.17×); 64: 2.28× → 0.92× (Loops=64
// given: 1.26×). Ten seconds after the load, 64 given loops held 13 MB
// more than the stdlib (0.2 MiB a loop, mostly their rings), against 81 MB
// before.
//
// Not chosen, with the reason:
//
//   - Incremental buffer consumption (IOU_PBUF_RING_INC, Linux 6.12):
//     receives pack into one buffer, so a buffer is written whole before
//     the next is used and the resident memory is the provided count ×
//     BufferSize, against the provided count × the pages one receive
//     writes without it. At 64 loops the provided count is already at 16,
//     whose first pages (64 KiB) are one incremental buffer; at 2 loops it
//     would save at most the 2 MiB of 256 first pages. Measured earlier for
//     speed, 0.94–1.07× (docs/bench.md, design experiments). Not worth a
//     second receive path to keep tested.
//   - A completion queue of 2× the submission queue instead of 4×: 1.25×
//     instead of 1.26× the stdlib's peak at Loops=64 (four repetitions).
//   - Loops started as connections need them: after a trim an idle loop
//     holds about 150 KiB (its ring), while starting loops late would
//     have to arm every listener's accept on them and rebalance the
//     round-robin hand-off.
package loop
