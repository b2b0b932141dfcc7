// Package fallback runs ringnet's readiness-polling event loops, the
// backend used where io_uring is refused (old kernels, seccomp filters,
// io_uring_disabled, non-Linux systems). Its backend.Backend is named
// "poll".
//
// What it owns: one poller per loop (an epoll instance on Linux, a kqueue
// on darwin, freebsd, netbsd, openbsd and dragonfly), a duplicate of that
// poller's descriptor that it parks on in Go's netpoller, one wake pipe per
// loop (package wake), a read scratch buffer per loop, and the sockets it
// was handed: a listening socket passed to Listen, a socket it accepted
// or one passed to Adopt. It alone closes those, a connection's through
// stream.Stream.CloseFD.
//
// What it must never touch: io_uring rings (package loop), the blocking of
// user goroutines, their deadlines and buffers (package internal/stream,
// which the loop feeds through Deliver*/Send* calls), and the public API
// (the root package).
//
// # Data path
//
// Every loop is one goroutine. Sockets are registered edge-triggered
// (EPOLLIN|EPOLLPRI|EPOLLOUT|EPOLLRDHUP|EPOLLET, or EVFILT_READ and
// EVFILT_WRITE with EV_CLEAR), once, for their lifetime: the loop never
// re-arms interest, so a socket costs one EPOLL_CTL_ADD when it arrives and
// one EPOLL_CTL_DEL before it is closed, however much it moves. (The one
// exception is a loop's only connection, below.)
//
// Receive: on readable, the loop reads into its scratch buffer
// (Config.BufferSize, 64 KiB by default) and delivers each chunk to the
// stream. A short read ends the burst unless the poller reported the
// peer's FIN or an error (then it reads on until read(2) returns 0 or
// fails): with edge-triggered polling any data arriving after the event
// was collected raises a new event, so the read that would return EAGAIN
// is saved. When the stream's unread bytes pass the high-water mark the
// loop stops reading that socket and reads again as soon as the reader
// drains it (ReqResume): no new edge comes for bytes already waiting. A
// socket keeps the loop for at most a bounded number of reads (or sends,
// or accepts) per turn; the rest is resumed after the other events of the
// batch, so one fast peer cannot starve the loop's other sockets.
//
// Send: stream.Kicker.SendDirect is always true, so a Write that finds
// nothing queued sends with one non-blocking send(2) from the writer's
// goroutine, as the standard library does; only what the socket did not
// take is queued and handed to the loop (ReqFlush). The loop sends it with
// sendmsg(MSG_NOSIGNAL) (SO_NOSIGPIPE on darwin: a Go program ignores
// SIGPIPE on sockets, but a c-shared or c-archive host may not) until the
// queue is empty or the socket returns EAGAIN, and then waits for the
// writable edge.
//
// Accept: a listener is watched by one loop of the group, which accepts
// until EAGAIN and hands the connections round-robin to the group's loops,
// with the peer's address accept(2) reported, as net keeps it. It is
// package syscall's accept4: x/sys/unix's asks the socket's protocol with
// a getsockopt(SO_PROTOCOL) per connection, as do its Getsockname and
// Getpeername, and the root package then asked getpeername(2) as well;
// those four system calls per connection are gone (wrk -t1 -c50 -H
// 'Connection: close', perf stat on the server, 2026-12-08: getsockopt
// 2.74 and getpeername 0.91 per request before, none after).
// An accept that fails with anything but EAGAIN, EINTR or ECONNABORTED
// (EMFILE, ENFILE, ENOBUFS...) pushes its errno to the accept queue and the
// loop stops accepting on that socket until Accept is called again, when
// it tries at once (the edge for the waiting connections has been used
// up). A persisting error thus costs one accept per Accept call, never a
// spin.
//
// Close: queued bytes are sent first (unless the stream asks to abort,
// which stream.Close does after stream.LingerTimeout, or at once after
// SetLinger(0)), the socket is removed from the poller and closed by
// stream.Stream.CloseFD, so the peer sees a FIN (a reset if received
// bytes were left unread).
//
// Half-close: CloseWrite returns at once; the loop shuts the sending side
// down (shutdown(2)) once the send queue is empty. After CloseRead the
// loop reads nothing more from the socket and switches its read events
// off (stream.Stream.StartSolo hands receiving to the reader, whatever the
// loop's other connections): Read calls recv(2) itself, which after
// shutdown(SHUT_RD) returns at once, with the bytes a TCP peer sent since
// or 0, so edges that keep coming cost the loop nothing.
//
// # Datagrams
//
// A datagram socket (UDP, Unix datagram; AdoptPacket) is registered
// edge-triggered like a connection. On readable the loop receives batches
// with recvmmsg(2) (eight datagrams at most per call, into scratch buffers
// of max(BufferSize, 65,535) bytes each, with a name and 1,280 bytes of
// control data, allocated for the loop's first datagram socket: 538 KiB by
// default) until the socket is empty, the socket's queue
// (internal/dgram) passes its bounds — then it stops reading, and reads
// again when the reader drains the queue (ReqResume) — or the per-turn
// budget is spent. A receive error (ECONNREFUSED after an ICMP message on
// a connected socket) goes to the next read or write, and the loop reads
// on. Writes are sent by their writers, one non-blocking sendmsg(2) each,
// as the standard library sends them; a datagram that meets a full socket
// is handed to the loop and its writer waits, and the loop sends those
// with sendmmsg(2) at once (the edge announcing room may have passed) and
// again at each writable edge, completing each writer with its own
// outcome. Darwin has no recvmmsg and the BSDs' is left unused: there the
// loop makes one recvmsg(2) or sendmsg(2) per datagram (cross-compiled and
// vetted only, as the rest of the kqueue code).
//
// A full Unix datagram peer of an unconnected socket wakes a waiting
// writer each time its failed send frees memory: net's writer spins there,
// and so does this loop, retrying at each such edge (0.15–0.4 s and
// 0.33 s of CPU per 0.5 s blocked on this machine, 2026-12-08; the
// io_uring loop, whose send the kernel parks, 0.2 ms). A connected socket
// (Dial) waits quietly on all three (TestPacketFullSocket checks).
//
// # How the loop waits, and why (measured)
//
// Producers (user goroutines that Close, resume a paused reader, queue
// leftovers, or other loops handing over accepted sockets) post to a
// mutex-guarded queue and wake the loop through wake.Signal, which writes
// the loop's pipe only when the loop announced it is about to sleep.
//
// A sleeping loop parks in Go's netpoller, as loop/ does on its ring: the
// epoll fd is itself pollable (it reads ready when it has events), so a
// non-blocking duplicate of it is wrapped in an *os.File and the loop waits
// in SyscallConn().Read with a callback that collects events with a
// zero-timeout epoll_wait. A sleeping loop thus holds no thread. The
// alternative, blocking a thread in epoll_wait(-1) as a system call, is
// kept behind an unexported switch (waitMode) for the tests and benchmarks.
// On the machine this was written on (2 CPUs, Linux 6.18, a noisy shared
// host; medians of 6 interleaved runs of bench_test.go in this directory,
// per operation, netpoller / blocking thread / standard library):
//
//	BenchmarkPingPong       21.5 µs   26.9 µs   17.4 µs
//	BenchmarkEchoParallel   18.7 µs   23.4 µs   15.8 µs
//	BenchmarkStream (1 MiB)  595 µs    925 µs    267 µs
//
// Parking in the netpoller was ahead on all three (likely because a thread
// that wakes from a blocking system call must first get a P back), and it
// holds no thread, so it won.
//
// kqueue cannot be parked on that way: a kqueue accepts only EVFILT_READ
// registrations on another kqueue, and Go's netpoller registers
// EVFILT_WRITE too, so os.NewFile leaves the duplicate unpollable. A loop
// detects this when it starts (SetReadDeadline fails with ErrNoDeadline) and
// then blocks a thread in kevent instead, so on darwin and the BSDs every
// loop is expected to hold a thread while it sleeps (this was written and
// tested on Linux only; the kqueue code is cross-compiled and vetted).
//
// One connection: a loop that serves a single connection hands its
// receiving to the connection's reader (updateSolo, stream.StartSolo), as
// the io_uring loops do, once it has read bytes for it stream.SoloAfter
// times (so that a connection that carries one request never pays for
// the reader's descriptor): Read calls read(2) itself and waits for the
// socket in Go's netpoller, so no goroutine hop separates a message from
// its reader, and the socket's read events are switched off in the loop's
// poller meanwhile (EPOLL_CTL_MOD, or EV_DISABLE) so that its bytes do not
// wake the loop as well. A second connection takes receiving back; the
// loop then reads at once, since an edge may have passed. Measured with
// BenchmarkPingPong in this package (8 runs each, 2026-11-26): the loop
// reading and handing the bytes over was +59 % over the stdlib
// (poll-blocking +231 %); the reader reading but the loop still woken by
// every message +52 % (+47 %; six epoll_pwait per round trip under strace
// -f -c); with the read events off, level with the stdlib (13.86 vs 13.89
// µs; poll-blocking 14.28 µs, +2.8 %, within noise).
//
// Bulk receive through the loop copies each byte twice more than the
// standard library: from the scratch buffer into the stream's receive
// queue, and from there into the reader's buffer.
//
// # Memory per loop
//
// A loop holds its poller, the poller's duplicate, a wake pipe, a
// goroutine and its read scratch buffer (Config.BufferSize, 64 KiB by
// default, on the Go heap): well under the 1 MiB per loop that ringnet
// allows itself once traffic has stopped, and there are as many loops as
// Ps that have a CPU (internal/backend.LoopsFor). Measured as for the
// io_uring loops (package loop's doc, docs/bench.md "Big machines";
// net/http hello at c=1000, four repetitions): peak RSS 1.04× the
// stdlib's with GOMAXPROCS=2, 1.01× with 16 and 0.88× with 64 (two loops
// each on 2 CPUs), and with the loops given, Loops=16 1.07× and Loops=64
// 1.23×, holding 16 MB more than the stdlib 10 s after the load (0.26 MiB
// a loop). Nothing is given back when idle: the scratch buffer is the only
// buffer, and it is small.
//
// # Portability
//
// The loops build on Linux and on the BSDs named above. Everywhere else
// (solaris, illumos, windows, js, wasip1...) Backend.Acquire returns an
// error wrapping errors.ErrUnsupported. On plan9, where package
// internal/backend does not build, the package declares a stand-in Backend
// with the same field names whose Acquire fails the same way.
package fallback
