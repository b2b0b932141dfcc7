// Package ringnet is a drop-in replacement for Go's net.Listener and
// net.Conn that moves a server's socket I/O onto io_uring.
//
//	ln, err := ringnet.Listen("tcp", ":8080") // instead of net.Listen
//	...
//	http.Serve(ln, handler)
//
// Every connection belongs to one of a few event loops (one per CPU by
// default, package loop), each owning an io_uring instance: accepts are
// multishot operations; each connection keeps one receive armed, re-armed
// by the loop after each completion (not multishot), whose bytes land in a
// provided-buffer ring and are copied into a waiting reader's buffer or
// the connection's queue (a loop's only connection is read by its reader
// with read(2) instead); and the sends of many connections are submitted
// with one io_uring_enter call. User goroutines hand work to a loop
// through a queue and wake it through an eventfd only when it sleeps
// (package wake). Where io_uring cannot run, readiness loops (package
// fallback: epoll or kqueue) serve the same API; Backend says which does.
//
// Datagram sockets go through the same loops: ListenPacket, ListenUDP,
// DialUDP, ListenUnixgram, ListenConfig.ListenPacket and Dialer.Dial for
// "udp", "udp4", "udp6" and "unixgram" return a *UDPConn or a *UnixConn,
// with the methods and errors of *net.UDPConn and *net.UnixConn. Each
// socket keeps a multishot receive armed on its loop's ring (recvmmsg(2)
// batches on poll), whose datagrams wait for ReadFrom in a bounded queue;
// a write returns once its datagram is sent, as net's does.
//
// Conn behaves as *net.TCPConn does: Read returns a bare io.EOF at the end
// of the stream and every other error as a *net.OpError; deadlines apply
// to Reads and Writes already blocked and time out with an error that
// satisfies errors.Is(err, os.ErrDeadlineExceeded); Close unblocks pending
// calls with net.ErrClosed.
//
// This root package holds the public API only; it never touches a ring.
package ringnet
