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
// or one passed to Adopt. It alone closes those, and only after
// stream.Stream.ReleaseFD.
//
// What it must never touch: io_uring rings (package loop), the blocking of
// user goroutines, their deadlines and buffers (package internal/stream,
// which the loop feeds through Deliver*/Send* calls), and the public API
// (the root package).
//
// # Data path
//
// Every loop is one goroutine. Sockets are registered edge-triggered
// (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, or EVFILT_READ and EVFILT_WRITE
// with EV_CLEAR), once, for their lifetime: the loop never re-arms
// interest, so a readiness change costs at most one epoll_ctl per socket
// life time.
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
// until EAGAIN and hands the connections round-robin to the group's loops.
// An accept that fails with anything but EAGAIN, EINTR or ECONNABORTED
// (EMFILE, ENFILE, ENOBUFS...) pushes its errno to the accept queue and the
// loop stops accepting on that socket until Accept is called again, when
// it tries at once (the edge for the waiting connections has been used
// up). A persisting error thus costs one accept per Accept call, never a
// spin.
//
// Close: queued bytes are sent first (unless the stream asks to abort,
// which stream.Close does after stream.LingerTimeout), the socket is
// removed from the poller and closed after ReleaseFD, so the peer sees a
// FIN. CloseWrite shuts the sending side down once the queue is empty.
//
// # How the loop waits, and why
//
// Producers (user goroutines that Close, resume a paused reader, queue
// leftovers, or other loops handing over accepted sockets) post to a
// mutex-guarded queue and wake the loop through wake.Signal, which writes
// the loop's pipe only when the loop announced it is about to sleep.
//
// A sleeping loop parks in Go's netpoller: the poller descriptor is
// itself pollable (it reads ready when it has events), so a non-blocking
// duplicate of it is wrapped in an *os.File and the loop waits in
// SyscallConn().Read with a callback that collects events with a
// zero-timeout epoll_wait/kevent. A sleeping loop thus holds no thread,
// which matters for a fallback that may run with many idle loops. The
// alternative, blocking a thread in epoll_wait(-1)/kevent(NULL) as a
// system call, is kept behind an unexported switch for the benchmarks; on
// the machine this was written on (2 CPUs, Linux 6.18) both measured the
// same within noise on BenchmarkPingPong and BenchmarkEchoParallel (see
// bench_test.go in this directory), so the one that holds no thread won.
//
// # Portability
//
// The loops build on Linux and the BSDs named above. On other Unix systems
// Backend.Acquire returns an error wrapping errors.ErrUnsupported. On
// systems without Unix sockets (windows, plan9, js, wasip1) package
// internal/backend does not build, so the package only declares a stand-in
// Backend whose Acquire fails the same way.
package fallback
