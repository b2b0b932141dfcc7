package nettest_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListenErrors compares the errors of bad Listen calls with those of
// net.Listen: same type, same Op and Net, same wrapped cause, same text.
func TestListenErrors(t *testing.T) {
	guard(t, 30*time.Second)
	// A port in use, held by the standard library.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { held.Close() })

	cases := []struct {
		name, network, address string
		is                     error // the error must wrap this, when set
	}{
		{"unknown network", "udpx", "127.0.0.1:0", nil},
		{"port not a number", "tcp", "127.0.0.1:notaport", nil},
		{"unclosed bracket", "tcp", "[::1", nil},
		{"port out of range", "tcp", "127.0.0.1:99999", nil},
		{"no port", "tcp", "127.0.0.1", nil},
		{"tcp4 with an IPv6 address", "tcp4", "[::1]:0", nil},
		{"address in use", "tcp", held.Addr().String(), syscall.EADDRINUSE},
		{"address in use tcp4", "tcp4", held.Addr().String(), syscall.EADDRINUSE},
	}
	forEachBackend(t, func(t *testing.T, b *backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				want := listenErr(t, net.Listen, tc.network, tc.address)
				got := listenErr(t, b.listen, tc.network, tc.address)
				compareErrors(t, want, got)
				if tc.is != nil {
					assert.ErrorIs(t, got, tc.is)
				}
			})
		}

		// The reverse: the backend holds a port, so neither the standard
		// library nor the backend itself may bind it again (no SO_REUSEPORT).
		t.Run("address in use by the backend", func(t *testing.T) {
			ln := listenT(t, b)
			for _, l := range []struct {
				name   string
				listen func(string, string) (net.Listener, error)
			}{{"net.Listen", net.Listen}, {b.name, b.listen}} {
				err := listenErr(t, l.listen, "tcp", ln.Addr().String())
				assert.ErrorIs(t, err, syscall.EADDRINUSE, "%s on a port the backend holds", l.name)
				assert.IsType(t, &net.OpError{}, err)
			}
		})
	})
}

func listenErr(t *testing.T, listen func(string, string) (net.Listener, error), network, address string) error {
	t.Helper()
	ln, err := listen(network, address)
	if ln != nil {
		ln.Close()
	}
	require.Error(t, err, "Listen(%q, %q) succeeded", network, address)
	require.Nil(t, ln, "Listen returned a listener with its error")
	return err
}

// compareErrors checks that got looks like want, the standard library's.
func compareErrors(t *testing.T, want, got error) {
	t.Helper()
	t.Logf("stdlib: %T %v", want, want)
	t.Logf("got:    %T %v", got, got)
	require.Equal(t, reflect.TypeOf(want), reflect.TypeOf(got), "error type; got %v", got)
	if wo, ok := want.(*net.OpError); ok {
		gotOp := got.(*net.OpError)
		assert.Equal(t, wo.Op, gotOp.Op, "OpError.Op")
		assert.Equal(t, wo.Net, gotOp.Net, "OpError.Net")
		assert.Equal(t, reflect.TypeOf(wo.Err), reflect.TypeOf(gotOp.Err), "OpError.Err type: %v", gotOp.Err)
	}
	var wantErrno, gotErrno syscall.Errno
	if errors.As(want, &wantErrno) {
		assert.True(t, errors.As(got, &gotErrno), "no syscall.Errno in %v", got)
		assert.Equal(t, wantErrno, gotErrno)
	}
	assert.Equal(t, want.Error(), got.Error(), "error text")
}

// requireClosedErr checks err is what *net.TCPConn returns after Close.
func requireClosedErr(t *testing.T, err error, op string) {
	t.Helper()
	require.Error(t, err, "%s after Close", op)
	assert.ErrorIs(t, err, net.ErrClosed, "%s after Close: %v", op, err)
	var oe *net.OpError
	if assert.ErrorAs(t, err, &oe, "%s after Close: %T %v", op, err, err) {
		assert.Equal(t, op, oe.Op)
		assert.Equal(t, "tcp", oe.Net)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		assert.False(t, ne.Timeout(), "%s after Close: Timeout() is true", op)
	}
}

// TestUseAfterClose checks Read, Write, Close, deadlines and Accept after
// Close.
func TestUseAfterClose(t *testing.T) {
	guard(t, 30*time.Second)
	forEachBackend(t, func(t *testing.T, b *backend) {
		t.Run("conn", func(t *testing.T) {
			srv, cli := pairT(t, b)
			la, ra := srv.LocalAddr(), srv.RemoteAddr()
			require.NoError(t, srv.Close())
			_, err := srv.Read(make([]byte, 10))
			requireClosedErr(t, err, "read")
			_, err = srv.Write([]byte("x"))
			requireClosedErr(t, err, "write")
			requireClosedErr(t, srv.Close(), "close")
			requireClosedErr(t, srv.SetDeadline(time.Now()), "set")
			requireClosedErr(t, srv.SetReadDeadline(time.Now()), "set")
			requireClosedErr(t, srv.SetWriteDeadline(time.Now()), "set")
			assert.Equal(t, la, srv.LocalAddr(), "LocalAddr after Close")
			assert.Equal(t, ra, srv.RemoteAddr(), "RemoteAddr after Close")
			// The peer sees the FIN.
			require.NoError(t, cli.SetReadDeadline(time.Now().Add(stepTimeout)))
			_, err = cli.Read(make([]byte, 1))
			assert.Equal(t, io.EOF, err)
		})
		t.Run("listener", func(t *testing.T) {
			ln := listenT(t, b)
			require.NoError(t, ln.Close())
			c, err := ln.Accept()
			assert.Nil(t, c)
			requireClosedErr(t, err, "accept")
			requireClosedErr(t, ln.Close(), "close")
			if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
				c.Close()
				t.Errorf("a dial to %v succeeded after the listener was closed", ln.Addr())
			}
		})
	})
}

// TestCloseUnblocks checks that Close from another goroutine makes a pending
// Accept, Read or Write return net.ErrClosed at once.
func TestCloseUnblocks(t *testing.T) {
	guard(t, 60*time.Second)
	blockedFor := 200 * time.Millisecond
	forEachBackend(t, func(t *testing.T, b *backend) {
		t.Run("accept", func(t *testing.T) {
			ln := listenT(t, b)
			errc := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if c != nil {
					c.Close()
				}
				errc <- err
			}()
			time.Sleep(blockedFor)
			require.NoError(t, ln.Close())
			requireClosedErr(t, waitErr(t, errc, "Accept"), "accept")
		})
		t.Run("read", func(t *testing.T) {
			srv, _ := pairT(t, b)
			errc := make(chan error, 1)
			go func() {
				_, err := srv.Read(make([]byte, 10))
				errc <- err
			}()
			time.Sleep(blockedFor)
			require.NoError(t, srv.Close())
			requireClosedErr(t, waitErr(t, errc, "Read"), "read")
		})
		t.Run("write", func(t *testing.T) {
			srv, _ := pairT(t, b) // the client never reads
			errc := make(chan error, 1)
			written := make(chan int64, 1)
			go func() {
				buf := make([]byte, 1<<20)
				var total int64
				for total < 256<<20 {
					n, err := srv.Write(buf)
					total += int64(n)
					if err != nil {
						written <- total
						errc <- err
						return
					}
				}
				written <- total
				errc <- errors.New("wrote 256 MiB to a peer that reads nothing")
			}()
			time.Sleep(time.Second) // long enough to fill the socket buffers
			select {
			case err := <-errc:
				t.Fatalf("Write returned before Close: %v", err)
			default:
			}
			require.NoError(t, srv.Close())
			requireClosedErr(t, waitErr(t, errc, "Write"), "write")
			t.Logf("%d bytes written before Close", <-written)
		})
	})
}

func waitErr(t *testing.T, errc <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still blocked 5s after Close", what)
		return fmt.Errorf("unreachable")
	}
}

// failingIO is a reader and a writer that fail with err.
type failingIO struct{ err error }

func (f failingIO) Read([]byte) (int, error)  { return 0, f.err }
func (f failingIO) Write([]byte) (int, error) { return 0, f.err }

// addrPattern matches the addresses in an OpError's text, which differ
// between two connections.
var addrPattern = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// errChain describes err and the errors it wraps, one line each (type,
// and Op of an OpError), ending with its text with addresses blanked.
func errChain(err error) []string {
	var out []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		line := reflect.TypeOf(e).String()
		if oe, ok := e.(*net.OpError); ok {
			line += " " + oe.Op + " " + oe.Net
		}
		out = append(out, line)
	}
	if err != nil {
		out = append(out, addrPattern.ReplaceAllString(err.Error(), "ADDR"))
	}
	return out
}

// TestReadFromWriteToErrors compares what ReadFrom and WriteTo return on
// every way they can fail with what *net.TCPConn returns in the same
// situation: the same count, the same chain of wrapped errors, the same
// text. ReadFrom takes a plain reader, a file (sendfile's path) or a
// socket (splice's path).
func TestReadFromWriteToErrors(t *testing.T) {
	guard(t, 60*time.Second)
	boom := errors.New("boom")
	file := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(file, []byte("file contents"), 0o644))
	openFile := func(t *testing.T) *os.File {
		f, err := os.Open(file)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	// socketSource returns a *net.TCPConn with "x" ready to read (none
	// when empty), its peer held open.
	socketSource := func(t *testing.T, data bool) *net.TCPConn {
		src, peer := pairT(t, stdlibBackend)
		t.Cleanup(func() { src.Close() })
		if data {
			_, err := peer.Write([]byte("x"))
			require.NoError(t, err)
		}
		return src.(*net.TCPConn)
	}
	closeConn := func(t *testing.T, c net.Conn, _ *net.TCPConn) { require.NoError(t, c.Close()) }
	pastWriteDeadline := func(t *testing.T, c net.Conn, _ *net.TCPConn) {
		require.NoError(t, c.SetWriteDeadline(time.Unix(1, 0)))
	}
	pastReadDeadline := func(t *testing.T, c net.Conn, _ *net.TCPConn) {
		require.NoError(t, c.SetReadDeadline(time.Unix(1, 0)))
	}
	// peerReset has the peer reset the connection and waits until a Read
	// on c reports it.
	peerReset := func(t *testing.T, c net.Conn, peer *net.TCPConn) {
		require.NoError(t, peer.SetLinger(0))
		require.NoError(t, peer.Close())
		require.NoError(t, c.SetReadDeadline(time.Now().Add(stepTimeout)))
		_, err := c.Read(make([]byte, 1))
		require.ErrorIs(t, err, syscall.ECONNRESET)
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, c net.Conn, peer *net.TCPConn) // nil: none
		do    func(t *testing.T, c net.Conn) (int64, error)
	}{
		{"ReadFrom/reader fails", nil, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(failingIO{boom})
		}},
		{"ReadFrom/reader after Close", closeConn, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(strings.NewReader("x"))
		}},
		{"ReadFrom/reader past write deadline", pastWriteDeadline, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(strings.NewReader("x"))
		}},
		{"ReadFrom/file after Close", closeConn, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(openFile(t))
		}},
		{"ReadFrom/limited file after Close", closeConn, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(io.LimitReader(openFile(t), 4))
		}},
		{"ReadFrom/file past write deadline", pastWriteDeadline, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(openFile(t))
		}},
		{"ReadFrom/file after a reset", peerReset, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(openFile(t))
		}},
		{"ReadFrom/socket after a reset", peerReset, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(socketSource(t, true))
		}},
		{"ReadFrom/socket after Close", closeConn, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(socketSource(t, true))
		}},
		{"ReadFrom/socket past write deadline", pastWriteDeadline, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.ReaderFrom).ReadFrom(socketSource(t, true))
		}},
		{"ReadFrom/closed socket", nil, func(t *testing.T, c net.Conn) (int64, error) {
			src := socketSource(t, true)
			require.NoError(t, src.Close())
			return c.(io.ReaderFrom).ReadFrom(src)
		}},
		{"ReadFrom/socket past its read deadline", nil, func(t *testing.T, c net.Conn) (int64, error) {
			src := socketSource(t, false)
			require.NoError(t, src.SetReadDeadline(time.Unix(1, 0)))
			return c.(io.ReaderFrom).ReadFrom(src)
		}},
		{"WriteTo/writer fails", func(t *testing.T, _ net.Conn, peer *net.TCPConn) {
			_, err := peer.Write([]byte("x"))
			require.NoError(t, err)
		}, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.WriterTo).WriteTo(failingIO{boom})
		}},
		{"WriteTo/after Close", closeConn, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.WriterTo).WriteTo(io.Discard)
		}},
		{"WriteTo/past read deadline", pastReadDeadline, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.WriterTo).WriteTo(io.Discard)
		}},
		{"WriteTo/to the end", func(t *testing.T, _ net.Conn, peer *net.TCPConn) {
			_, err := peer.Write([]byte("last bytes"))
			require.NoError(t, err)
			require.NoError(t, peer.Close())
		}, func(t *testing.T, c net.Conn) (int64, error) {
			return c.(io.WriterTo).WriteTo(io.Discard)
		}},
	}
	run := func(t *testing.T, b *backend, tc int) (int64, []string) {
		c, peer := pairT(t, b)
		t.Cleanup(func() { c.Close() })
		if setup := cases[tc].setup; setup != nil {
			setup(t, c, peer)
		}
		n, err := cases[tc].do(t, c)
		return n, errChain(err)
	}
	forEachBackend(t, func(t *testing.T, b *backend) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantN, want := run(t, stdlibBackend, i)
				gotN, got := run(t, b, i)
				t.Logf("stdlib: %d %q", wantN, want)
				assert.Equal(t, wantN, gotN, "count")
				assert.Equal(t, want, got, "errors, outermost first, then the text")
			})
		}
	})
}

// tcpConnAPI is the *net.TCPConn method set that ringnet's Conn shares.
type tcpConnAPI interface {
	net.Conn
	CloseRead() error
	CloseWrite() error
	SetNoDelay(bool) error
	SetKeepAlive(bool) error
	SetKeepAlivePeriod(time.Duration) error
	SetKeepAliveConfig(net.KeepAliveConfig) error
	SetLinger(int) error
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
	SyscallConn() (syscall.RawConn, error)
	MultipathTCP() (bool, error)
	File() (*os.File, error)
}

// TestConnMethodErrors calls every method of the *net.TCPConn API on an
// open and on a closed connection, and the raw connection's calls past a
// deadline, and compares what each returns with what *net.TCPConn returns
// in the same state: the same chain of errors and the same text (or
// both no error).
func TestConnMethodErrors(t *testing.T) {
	guard(t, 60*time.Second)
	past := time.Unix(1, 0)
	never := func(uintptr) bool { return false }
	ops := append([]namedOp[tcpConnAPI]{
		{"CloseRead", func(c tcpConnAPI) error { return c.CloseRead() }},
		{"CloseWrite", func(c tcpConnAPI) error { return c.CloseWrite() }},
		{"CloseRead twice", func(c tcpConnAPI) error { _ = c.CloseRead(); return c.CloseRead() }},
		{"CloseWrite twice", func(c tcpConnAPI) error { _ = c.CloseWrite(); return c.CloseWrite() }},
		{"Write after CloseWrite", func(c tcpConnAPI) error {
			_ = c.CloseWrite()
			_, err := c.Write([]byte("x"))
			return err
		}},
		{"SetNoDelay", func(c tcpConnAPI) error { return c.SetNoDelay(false) }},
		{"SetKeepAlive", func(c tcpConnAPI) error { return c.SetKeepAlive(true) }},
		{"SetKeepAlivePeriod", func(c tcpConnAPI) error { return c.SetKeepAlivePeriod(time.Second) }},
		{"SetKeepAlivePeriod negative", func(c tcpConnAPI) error { return c.SetKeepAlivePeriod(-time.Second) }},
		{"SetKeepAliveConfig", func(c tcpConnAPI) error {
			return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3})
		}},
		{"SetLinger", func(c tcpConnAPI) error { return c.SetLinger(1) }},
		{"SetReadBuffer", func(c tcpConnAPI) error { return c.SetReadBuffer(1 << 16) }},
		{"SetWriteBuffer", func(c tcpConnAPI) error { return c.SetWriteBuffer(1 << 16) }},
		{"SetDeadline", func(c tcpConnAPI) error { return c.SetDeadline(time.Now().Add(time.Hour)) }},
		{"SetReadDeadline", func(c tcpConnAPI) error { return c.SetReadDeadline(time.Now().Add(time.Hour)) }},
		{"SetWriteDeadline", func(c tcpConnAPI) error { return c.SetWriteDeadline(time.Now().Add(time.Hour)) }},
		{"MultipathTCP", func(c tcpConnAPI) error { _, err := c.MultipathTCP(); return err }},
		{"raw Read past the read deadline", func(c tcpConnAPI) error {
			_ = c.SetReadDeadline(past)
			return raw(c, func(rc syscall.RawConn) error { return rc.Read(never) })
		}},
		{"raw Write past the write deadline", func(c tcpConnAPI) error {
			_ = c.SetWriteDeadline(past)
			return raw(c, func(rc syscall.RawConn) error { return rc.Write(never) })
		}},
		{"raw Read until the read deadline", func(c tcpConnAPI) error {
			_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			return raw(c, func(rc syscall.RawConn) error { return rc.Read(never) })
		}},
	}, fdOps[tcpConnAPI]()...)
	compareOpenClosed(t, ops, func(t *testing.T, b *backend) tcpConnAPI {
		c, _ := pairT(t, b)
		return c.(tcpConnAPI)
	})
}

// listenerAPI is the *net.TCPListener method set that ringnet's Listener
// shares.
type listenerAPI interface {
	net.Listener
	SetDeadline(time.Time) error
	File() (*os.File, error)
	SyscallConn() (syscall.RawConn, error)
}

// TestListenerMethodErrors is TestConnMethodErrors for listeners: every
// method on an open and on a closed listener, compared with
// *net.TCPListener's results.
func TestListenerMethodErrors(t *testing.T) {
	guard(t, 60*time.Second)
	ops := append([]namedOp[listenerAPI]{
		{"Accept past the deadline", func(l listenerAPI) error {
			_ = l.SetDeadline(time.Unix(1, 0))
			_, err := l.Accept()
			return err
		}},
		{"Accept until the deadline", func(l listenerAPI) error {
			_ = l.SetDeadline(time.Now().Add(50 * time.Millisecond))
			_, err := l.Accept()
			return err
		}},
		{"Close", func(l listenerAPI) error { return l.Close() }},
		{"SetDeadline", func(l listenerAPI) error { return l.SetDeadline(time.Now().Add(time.Hour)) }},
	}, fdOps[listenerAPI]()...)
	compareOpenClosed(t, ops, func(t *testing.T, b *backend) listenerAPI { return listenT(t, b).(listenerAPI) })
}

// TestReadWriteErrors compares Read and Write, empty and not, with
// *net.TCPConn's in every state a connection can be in: open, closed,
// past its deadlines, after the peer's FIN or reset, after CloseRead or
// CloseWrite: the same count, the same chain of errors, the same text.
func TestReadWriteErrors(t *testing.T) {
	guard(t, 60*time.Second)
	// awaitPeerEnd reads until the peer's end shows, then clears the
	// read deadline.
	awaitPeerEnd := func(t *testing.T, c net.Conn, want error) {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(stepTimeout)))
		_, err := c.Read(make([]byte, 1))
		require.ErrorIs(t, err, want)
		require.NoError(t, c.SetReadDeadline(time.Time{}))
	}
	states := []struct {
		name string
		set  func(t *testing.T, c net.Conn, peer *net.TCPConn)
	}{
		{"open", func(*testing.T, net.Conn, *net.TCPConn) {}},
		{"closed", func(t *testing.T, c net.Conn, _ *net.TCPConn) { require.NoError(t, c.Close()) }},
		{"past the deadlines", func(t *testing.T, c net.Conn, _ *net.TCPConn) {
			require.NoError(t, c.SetDeadline(time.Unix(1, 0)))
		}},
		{"after the peer's FIN", func(t *testing.T, c net.Conn, peer *net.TCPConn) {
			require.NoError(t, peer.Close())
			awaitPeerEnd(t, c, io.EOF)
		}},
		{"after the peer's reset", func(t *testing.T, c net.Conn, peer *net.TCPConn) {
			require.NoError(t, peer.SetLinger(0))
			require.NoError(t, peer.Close())
			awaitPeerEnd(t, c, syscall.ECONNRESET)
		}},
		{"after CloseRead", func(t *testing.T, c net.Conn, _ *net.TCPConn) {
			require.NoError(t, c.(tcpConnAPI).CloseRead())
		}},
		{"after CloseWrite", func(t *testing.T, c net.Conn, _ *net.TCPConn) {
			require.NoError(t, c.(tcpConnAPI).CloseWrite())
		}},
	}
	ops := []struct {
		name string
		do   func(c net.Conn) (int, error)
	}{
		{"Read empty", func(c net.Conn) (int, error) { return c.Read(nil) }},
		{"Write empty", func(c net.Conn) (int, error) { return c.Write(nil) }},
		{"Read within 100ms", func(c net.Conn) (int, error) {
			if err := c.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
				return 0, err
			}
			return c.Read(make([]byte, 1))
		}},
		{"Write a byte", func(c net.Conn) (int, error) { return c.Write([]byte("x")) }},
	}
	run := func(t *testing.T, b *backend, state, op int) (int, []string) {
		c, peer := pairT(t, b)
		t.Cleanup(func() { c.Close() })
		states[state].set(t, c, peer)
		n, err := ops[op].do(c)
		return n, errChain(err)
	}
	forEachBackend(t, func(t *testing.T, b *backend) {
		for si, s := range states {
			t.Run(s.name, func(t *testing.T) {
				for oi, op := range ops {
					t.Run(op.name, func(t *testing.T) {
						wantN, want := run(t, stdlibBackend, si, oi)
						gotN, got := run(t, b, si, oi)
						t.Logf("stdlib: %d %q", wantN, want)
						assert.Equal(t, wantN, gotN, "count")
						assert.Equal(t, want, got, "errors, outermost first, then the text")
					})
				}
			})
		}
	})
}

// compareOpenClosed runs each operation, on every backend, against an
// open and a closed connection or listener, which newT makes on a
// backend, and compares the error (errChain) with the standard library's,
// got the same way.
func compareOpenClosed[T io.Closer](t *testing.T, ops []namedOp[T], newT func(t *testing.T, b *backend) T) {
	run := func(t *testing.T, b *backend, closed bool, op namedOp[T]) []string {
		x := newT(t, b)
		t.Cleanup(func() { x.Close() })
		if closed {
			require.NoError(t, x.Close())
		}
		return errChain(op.do(x))
	}
	forEachBackend(t, func(t *testing.T, b *backend) {
		for _, closed := range []bool{false, true} {
			state := "open"
			if closed {
				state = "closed"
			}
			t.Run(state, func(t *testing.T) {
				for _, op := range ops {
					t.Run(op.name, func(t *testing.T) {
						want := run(t, stdlibBackend, closed, op)
						got := run(t, b, closed, op)
						t.Logf("stdlib: %q", want)
						assert.Equal(t, want, got, "errors, outermost first, then the text")
					})
				}
			})
		}
	})
}

// namedOp is one call of TestConnMethodErrors or TestListenerMethodErrors.
type namedOp[T any] struct {
	name string
	do   func(T) error
}

// fileAndRaw is what listeners and connections share: File and a raw
// connection.
type fileAndRaw interface {
	File() (*os.File, error)
	syscall.Conn
}

// raw calls call with x's raw connection.
func raw(x syscall.Conn, call func(syscall.RawConn) error) error {
	rc, err := x.SyscallConn()
	if err != nil {
		return err
	}
	return call(rc)
}

// fdOps are the calls of fileAndRaw, for both method tests.
func fdOps[T fileAndRaw]() []namedOp[T] {
	return []namedOp[T]{
		{"File", func(x T) error {
			f, err := x.File()
			if f != nil {
				f.Close()
			}
			return err
		}},
		{"SyscallConn", func(x T) error { _, err := x.SyscallConn(); return err }},
		{"raw Control", func(x T) error {
			return raw(x, func(rc syscall.RawConn) error { return rc.Control(func(uintptr) {}) })
		}},
		{"raw Read", func(x T) error {
			return raw(x, func(rc syscall.RawConn) error { return rc.Read(func(uintptr) bool { return true }) })
		}},
		{"raw Write", func(x T) error {
			return raw(x, func(rc syscall.RawConn) error { return rc.Write(func(uintptr) bool { return true }) })
		}},
	}
}
