// Package nettest holds ringnet's conformance and ecosystem tests. It owns no
// library code: everything lives in its _test.go files.
//
// Every test is written against a table of backends (see backends_test.go).
// The standard library ("stdlib") is always one of them and serves as the
// differential reference that proves each test itself is correct; the other
// entries are ringnet's two backends, io_uring and poll, each forced through
// ListenConfig.Backend, so one run covers both. The tests cover:
//
//   - golang.org/x/net/nettest.TestConn, with the accepted connection as either
//     end of the pipe;
//   - net/http end to end on a listener of the backend (keep-alive, many
//     concurrent clients, large bodies, chunked bodies with trailers,
//     Server.Shutdown, IdleTimeout);
//   - bad input and faults (Listen errors compared with net.Listen, use after
//     Close, peer resets, half-close, a connection nobody reads, a tiny buffer
//     ring, Accept under file descriptor exhaustion in a child process);
//   - leaks: TestMain checks goroutines (goleak), file descriptors and, for
//     ringnet, that its loops hold no connection or buffer afterwards.
//
// Useful flags (after -args): -backends=stdlib,io_uring selects backends by
// name. Build with -tags noringnet to run the suite on the standard library
// alone (for example while the library does not compile).
package nettest
