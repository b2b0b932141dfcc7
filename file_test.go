//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/stream"
)

// writeRandomFile writes n deterministic pseudo-random bytes and returns
// the path and their checksum.
func writeRandomFile(t *testing.T, n int) (string, [32]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data")
	f, err := os.Create(path)
	require.NoError(t, err)
	h := sha256.New()
	buf := make([]byte, 1<<20)
	x := uint32(2463534242)
	for left := n; left > 0; left -= len(buf) {
		for i := range buf {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			buf[i] = byte(x)
		}
		b := buf[:min(left, len(buf))]
		_, err := f.Write(b)
		require.NoError(t, err)
		h.Write(b)
	}
	require.NoError(t, f.Close())
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return path, sum
}

func TestReadFromFile(t *testing.T) {
	const size = 64 << 20
	path, want := writeRandomFile(t, size)
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, limit := range []int64{-1, 10<<20 + 7} {
			t.Run(map[bool]string{true: "whole", false: "limited"}[limit < 0], func(t *testing.T) {
				testReadFromFile(t, backend, path, want, size, limit)
			})
		}
	})
}

func testReadFromFile(t *testing.T, backend, path string, want [32]byte, size, limit int64) {
	server, client, stop := pipe(t, &ListenConfig{Backend: backend})
	defer stop()
	// Bytes written before the file must arrive before it.
	_, err := server.Write([]byte("head"))
	require.NoError(t, err)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var r io.Reader = f
	expect := size
	if limit >= 0 {
		r = io.LimitReader(f, limit)
		expect = limit
	}
	got := make(chan [32]byte, 1)
	go func() {
		h := sha256.New()
		head := make([]byte, 4)
		io.ReadFull(client, head)
		io.CopyN(h, client, expect)
		var s [32]byte
		copy(s[:], h.Sum(nil))
		got <- s
	}()
	before := zeroCopyBytes(backend)
	n, err := io.Copy(server, r)
	require.NoError(t, err)
	assert.Equal(t, expect, n)
	// Every byte went through the ring's splices (io_uring) or sendfile
	// (poll), none through Write.
	assert.Equal(t, uint64(expect), zeroCopyBytes(backend)-before, "the file moves without user-space copies")
	sum := <-got
	if limit < 0 {
		assert.Equal(t, want, sum, "the file arrives intact")
	}
	off, _ := f.Seek(0, io.SeekCurrent)
	assert.Equal(t, expect, off, "the file offset advances past what was sent")
}

// TestReadFromSocket copies from a *net.TCPConn and from another ringnet
// Conn into a ringnet Conn. The TCPConn's bytes are spliced socket to
// socket (on the ring with io_uring, with splice(2) and readiness waits on
// poll); a ringnet source is copied (its bytes arrive through its own
// loop).
func TestReadFromSocket(t *testing.T) {
	const size = 8 << 20
	path, want := writeRandomFile(t, size)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, source := range []string{"net.TCPConn", "ringnet.Conn"} {
			t.Run(source, func(t *testing.T) {
				// dst (ringnet) -> sink; feeder -> src.
				dst, sink, stop := pipe(t, &ListenConfig{Backend: backend})
				defer stop()
				var src net.Conn
				var feeder net.Conn
				if source == "net.TCPConn" {
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					require.NoError(t, err)
					defer ln.Close()
					feeder, err = net.Dial("tcp", ln.Addr().String())
					require.NoError(t, err)
					src, err = ln.Accept()
					require.NoError(t, err)
				} else {
					var stopSrc func()
					var rc *Conn
					rc, feeder, stopSrc = pipe(t, &ListenConfig{Backend: backend})
					defer stopSrc()
					src = rc
				}
				defer src.Close()
				defer feeder.Close()
				go func() {
					feeder.Write(data)
					feeder.Close()
				}()
				got := make(chan [32]byte, 1)
				go func() {
					h := sha256.New()
					io.Copy(h, sink)
					var s [32]byte
					copy(s[:], h.Sum(nil))
					got <- s
				}()
				before := zeroCopyBytes(backend)
				n, err := io.Copy(dst, src)
				require.NoError(t, err)
				assert.Equal(t, int64(size), n)
				if source == "net.TCPConn" {
					assert.Equal(t, uint64(size), zeroCopyBytes(backend)-before, "spliced socket to socket")
				} else {
					assert.Zero(t, zeroCopyBytes(backend)-before, "a ringnet source is copied")
				}
				require.NoError(t, dst.CloseWrite())
				assert.Equal(t, want, <-got, "the bytes arrive intact and in order")
			})
		}
	})
}

func TestReadFromDeadline(t *testing.T) {
	path, _ := writeRandomFile(t, 64<<20)
	forEachBackend(t, func(t *testing.T, backend string) { testReadFromDeadline(t, backend, path) })
}

func testReadFromDeadline(t *testing.T, backend, path string) {
	// stalled returns a connection whose peer never reads, and the file
	// at path open to be sent to it; both end with the test.
	stalled := func(t *testing.T) (*Conn, *os.File) {
		server, _, stop := pipe(t, &ListenConfig{Backend: backend})
		t.Cleanup(stop)
		f, err := os.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return server, f
	}
	t.Run("deadline", func(t *testing.T) {
		server, f := stalled(t)
		require.NoError(t, server.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
		start := time.Now()
		n, err := io.Copy(server, f)
		require.Error(t, err)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		assert.Less(t, time.Since(start), 5*time.Second)
		off, err := f.Seek(0, io.SeekCurrent)
		require.NoError(t, err)
		assert.Equal(t, n, off, "the file offset stands just past the bytes sent")
	})
	t.Run("CloseWrite while ReadFrom waits", func(t *testing.T) {
		// As with net, in the same test: CloseWrite returns at once, and
		// the ReadFrom waiting for room fails with EPIPE, as sendfile(2)
		// does on a socket shut down.
		for _, impl := range []string{"net", backend} {
			t.Run(impl, func(t *testing.T) {
				var server net.Conn
				var f *os.File
				if impl == "net" {
					_, server = netPairT(t)
					var err error
					f, err = os.Open(path)
					require.NoError(t, err)
					t.Cleanup(func() { f.Close() })
				} else {
					server, f = stalled(t)
				}
				copied := make(chan error, 1)
				go func() { _, err := io.Copy(server, f); copied <- err }()
				time.Sleep(200 * time.Millisecond) // the socket is full: ReadFrom waits
				start := time.Now()
				require.NoError(t, server.(interface{ CloseWrite() error }).CloseWrite())
				assert.Less(t, time.Since(start), stream.LingerTimeout/2, "CloseWrite waited")
				select {
				case err := <-copied:
					assert.ErrorIs(t, err, syscall.EPIPE, "ReadFrom after CloseWrite")
				case <-time.After(5 * time.Second):
					t.Error("ReadFrom still waits 5 s after CloseWrite")
				}
			})
		}
	})
	t.Run("close", func(t *testing.T) {
		server, f := stalled(t)
		time.AfterFunc(100*time.Millisecond, func() { server.Close() })
		start := time.Now()
		_, err := io.Copy(server, f)
		assert.ErrorIs(t, err, net.ErrClosed, "Close interrupts ReadFrom")
		assert.Less(t, time.Since(start), 5*time.Second)
	})
}

// zeroCopyBytes sums the bytes ReadFrom moved without user-space copies
// on the running loops of backend.
func zeroCopyBytes(backend string) uint64 {
	return loopStat(backend, func(s LoopStats) uint64 { return s.ZeroCopyBytes })
}

func TestServeFile(t *testing.T) {
	path, want := writeRandomFile(t, 8<<20)
	forEachBackend(t, func(t *testing.T, backend string) { testServeFile(t, backend, path, want) })
}

func testServeFile(t *testing.T, backend, path string, want [32]byte) {
	ln, err := listenOn(backend)("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, path)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}

	t.Run("whole", func(t *testing.T) {
		done := make(chan [32]byte, 8)
		for range 8 { // concurrent clients
			go func() {
				resp, err := client.Get("http://" + ln.Addr().String() + "/")
				if err != nil {
					done <- [32]byte{}
					return
				}
				defer resp.Body.Close()
				h := sha256.New()
				io.Copy(h, resp.Body)
				var s [32]byte
				copy(s[:], h.Sum(nil))
				done <- s
			}()
		}
		for range 8 {
			assert.Equal(t, want, <-done)
		}
	})
	t.Run("range", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
		req.Header.Set("Range", "bytes=100-199")
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		data, _ := os.ReadFile(path)
		assert.Equal(t, data[100:200], body)
	})
}

func TestFileListener(t *testing.T) {
	if os.Getenv("RINGNET_TEST_FILE_LISTENER_CHILD") == "1" {
		f := os.NewFile(3, "inherited")
		ln, err := FileListener(f)
		if err != nil {
			os.Exit(2)
		}
		f.Close()
		http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "from child "+Backend())
		}))
		return
	}
	// The parent makes the socket and passes it, as systemd does.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileListener$")
	cmd.Env = append(os.Environ(), "RINGNET_TEST_FILE_LISTENER_CHILD=1")
	cmd.ExtraFiles = []*os.File{f}
	require.NoError(t, cmd.Start())
	f.Close()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.True(t, strings.HasPrefix(string(body), "from child "), string(body))
}

func TestConnParity(t *testing.T) {
	forEachBackend(t, testConnParity)
}

func testConnParity(t *testing.T, backend string) {
	server, client, stop := pipe(t, &ListenConfig{Backend: backend})
	defer stop()
	require.NoError(t, server.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}))
	mp, err := server.MultipathTCP()
	require.NoError(t, err)
	assert.False(t, mp)
	f, err := server.File()
	require.NoError(t, err)
	// The duplicate writes to the same connection.
	_, err = f.Write([]byte("dup"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	buf := make([]byte, 3)
	_, err = io.ReadFull(client, buf)
	require.NoError(t, err)
	assert.Equal(t, "dup", string(buf))
	require.NoError(t, server.SetLinger(0))
	require.NoError(t, server.SetReadBuffer(1<<16))
	require.NoError(t, server.SetWriteBuffer(1<<16))

	require.NoError(t, server.Close())
	_, err = server.File()
	assert.ErrorIs(t, err, net.ErrClosed)
	assert.ErrorIs(t, server.SetNoDelay(true), net.ErrClosed)
}

func TestListenerParity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ln, err := listenOn(backend)("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		rl := ln.(*Listener)

		// Accept times out like net.TCPListener's.
		require.NoError(t, rl.SetDeadline(time.Now().Add(50*time.Millisecond)))
		_, err = ln.Accept()
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		require.NoError(t, rl.SetDeadline(time.Time{}))

		// SyscallConn reaches the listening socket.
		rc, err := rl.SyscallConn()
		require.NoError(t, err)
		var acceptConn int
		require.NoError(t, rc.Control(func(fd uintptr) {
			acceptConn, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		}))
		assert.Equal(t, 1, acceptConn)

		// File is a duplicate the caller owns: closing it leaves the
		// listener serving.
		f, err := rl.File()
		require.NoError(t, err)
		require.NoError(t, f.Close())
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Close()
			}
		}()
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
		require.NoError(t, err)
		c.Close()
	})
}

// TestDirectWritesAfterWrites checks that bytes written before File, or
// before a raw Write of SyscallConn, reach the peer before the bytes
// written to the duplicate or the raw fd, as with net (whose Write returns
// only once the kernel holds the bytes): both wait until what Write queued
// has gone out.
func TestDirectWritesAfterWrites(t *testing.T) {
	tail := []byte("tail")
	ways := []struct {
		name  string
		write func(c *Conn) error
	}{
		{"File", func(c *Conn) error {
			f, err := c.File()
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write(tail)
			return err
		}},
		{"raw Write", func(c *Conn) error {
			rc, err := c.SyscallConn()
			if err != nil {
				return err
			}
			var werr error
			err = rc.Write(func(fd uintptr) bool {
				_, werr = unix.Write(int(fd), tail)
				return werr != unix.EAGAIN
			})
			if err != nil {
				return err
			}
			return werr
		}},
	}
	forEachBackend(t, func(t *testing.T, backend string) {
		for _, way := range ways {
			t.Run(way.name, func(t *testing.T) {
				server, client, stop := pipe(t, &ListenConfig{Backend: backend})
				defer stop()
				// More than the (shrunk) socket buffers hold and less than
				// Write queues without blocking, so that some of it waits in
				// the send queue while the peer does not read.
				require.NoError(t, server.SetWriteBuffer(16<<10))
				require.NoError(t, client.(*net.TCPConn).SetReadBuffer(16<<10))
				head := bytes.Repeat([]byte("h"), 200<<10)
				_, err := server.Write(head)
				require.NoError(t, err)
				wrote := make(chan error, 1)
				go func() { wrote <- way.write(server) }()
				time.Sleep(100 * time.Millisecond) // let the direct write go, if nothing waits
				require.NoError(t, client.SetReadDeadline(time.Now().Add(10*time.Second)))
				got := make([]byte, len(head)+len(tail))
				_, err = io.ReadFull(client, got)
				require.NoError(t, err)
				require.NoError(t, <-wrote)
				assert.Equal(t, string(tail), string(got[len(head):]), "the direct write's bytes come last")
				assert.Equal(t, -1, bytes.IndexByte(got[:len(head)], 't'), "nothing of the direct write's inside the bytes written before")
			})
		}
	})
}

// TestListenerCloseLeavesSharedSocket: closing a listener whose socket has
// another descriptor (File's duplicate handed on for a graceful restart,
// or the file a FileListener was made from, as with systemd's socket
// activation) leaves that socket listening, as with net.
func TestListenerCloseLeavesSharedSocket(t *testing.T) {
	type impl struct {
		listen       func() (net.Listener, error)
		fileListener func(*os.File) (net.Listener, error)
	}
	// stillListens checks that the socket behind f accepts a connection.
	stillListens := func(t *testing.T, f *os.File) {
		again, err := net.FileListener(f)
		require.NoError(t, err)
		defer again.Close()
		c, err := net.DialTimeout("tcp", again.Addr().String(), 5*time.Second)
		require.NoError(t, err, "the shared socket no longer listens")
		defer c.Close()
		require.NoError(t, again.(*net.TCPListener).SetDeadline(time.Now().Add(5*time.Second)))
		s, err := again.Accept()
		require.NoError(t, err)
		s.Close()
	}
	check := func(t *testing.T, im impl) {
		t.Run("not shared", func(t *testing.T) {
			// The socket closes with the listener: a connection never
			// accepted ends, and new ones are refused.
			ln, err := im.listen()
			require.NoError(t, err)
			waiting, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			defer waiting.Close()
			require.NoError(t, ln.Close())
			require.NoError(t, waiting.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, err = waiting.Read(make([]byte, 1))
			assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "the unaccepted connection ends: %v", err)
			_, err = net.Dial("tcp", ln.Addr().String())
			assert.ErrorIs(t, err, syscall.ECONNREFUSED)
		})
		t.Run("File, then Close", func(t *testing.T) {
			ln, err := im.listen()
			require.NoError(t, err)
			f, err := ln.(interface{ File() (*os.File, error) }).File()
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, ln.Close())
			stillListens(t, f)
		})
		t.Run("FileListener, then Close", func(t *testing.T) {
			nl, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			f, err := nl.(*net.TCPListener).File()
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, nl.Close())
			ln, err := im.fileListener(f)
			require.NoError(t, err)
			require.NoError(t, ln.Close())
			stillListens(t, f)
		})
	}
	t.Run("net", func(t *testing.T) {
		check(t, impl{func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }, net.FileListener})
	})
	forEachBackend(t, func(t *testing.T, backend string) {
		t.Setenv(BackendEnv, backend) // FileListener's backend
		check(t, impl{func() (net.Listener, error) { return listenOn(backend)("tcp", "127.0.0.1:0") }, FileListener})
	})
}

// TestReadFromSocketSource: ReadFrom from a *net.TCPConn (a proxy's
// io.Copy) against net's, on what happens to the source: a source reset by
// its peer ends the ReadFrom but leaves the destination usable, and a
// source with nothing to read yet leaves the destination's Writes free to
// go out meanwhile (a proxy's heartbeat).
func TestReadFromSocketSource(t *testing.T) {
	// source returns a *net.TCPConn and the conn that feeds it.
	source := func(t *testing.T) (src *net.TCPConn, feeder *net.TCPConn) {
		f, a := netPairT(t)
		return a.(*net.TCPConn), f.(*net.TCPConn)
	}
	// destination returns a connection of impl ("net" or a backend) and
	// its peer.
	destination := func(t *testing.T, impl string) (dst, peer net.Conn) {
		if impl == "net" {
			peer, dst = netPairT(t)
			return dst, peer
		}
		s, c, stop := pipe(t, &ListenConfig{Backend: impl})
		t.Cleanup(stop)
		return s, c
	}
	expect := func(t *testing.T, peer net.Conn, want string) {
		require.NoError(t, peer.SetReadDeadline(time.Now().Add(5*time.Second)))
		got := make([]byte, len(want))
		_, err := io.ReadFull(peer, got)
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
	tests := []struct {
		name string
		run  func(t *testing.T, dst, peer net.Conn, src, feeder *net.TCPConn)
	}{
		{"source reset", func(t *testing.T, dst, peer net.Conn, src, feeder *net.TCPConn) {
			require.NoError(t, feeder.SetLinger(0))
			require.NoError(t, feeder.Close()) // src is reset
			time.Sleep(50 * time.Millisecond)
			_, err := dst.(io.ReaderFrom).ReadFrom(src)
			assert.ErrorIs(t, err, syscall.ECONNRESET, "ReadFrom ends with the source's reset")
			_, err = dst.Write([]byte("after"))
			require.NoError(t, err, "the destination is still usable")
			expect(t, peer, "after")
		}},
		{"Write while the source is idle", func(t *testing.T, dst, peer net.Conn, src, feeder *net.TCPConn) {
			copied := make(chan error, 1)
			go func() { _, err := dst.(io.ReaderFrom).ReadFrom(src); copied <- err }()
			time.Sleep(100 * time.Millisecond) // ReadFrom waits for the source
			wrote := make(chan error, 1)
			go func() { _, err := dst.Write([]byte("ping")); wrote <- err }()
			select {
			case err := <-wrote:
				require.NoError(t, err)
				expect(t, peer, "ping")
			case <-time.After(5 * time.Second):
				t.Error("Write waited for a ReadFrom whose source is idle")
				require.NoError(t, feeder.Close()) // ends the ReadFrom, then the Write
				<-copied
				<-wrote
				return
			}
			_, err := feeder.Write([]byte("data"))
			require.NoError(t, err)
			expect(t, peer, "data")
			require.NoError(t, feeder.Close())
			assert.NoError(t, <-copied)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, impl := range append([]string{"net"}, testBackends...) {
				t.Run(impl, func(t *testing.T) {
					dst, peer := destination(t, impl)
					src, feeder := source(t)
					tt.run(t, dst, peer, src, feeder)
				})
			}
		})
	}
}

// TestAfterCloseAndCloseWrite: what the raw connection and File's
// duplicate see after Close or CloseWrite, against net in the same test.
func TestAfterCloseAndCloseWrite(t *testing.T) {
	// conn returns a connection of impl ("net" or a backend) and its peer;
	// on a backend, the loop (not a solo reader) receives for it.
	conn := func(t *testing.T, impl string) (c net.Conn, peer net.Conn) {
		if impl == "net" {
			peer, c = netPairT(t)
			return c, peer
		}
		lc := ListenConfig{Backend: impl, Loops: 1}
		ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		connectT(t, ln, nil) // a second connection: the loop receives
		peer, c = connectT(t, ln, nil)
		return c, peer
	}
	tests := []struct {
		name string
		run  func(t *testing.T, c, peer net.Conn)
	}{
		{"raw Read after Close, past the read deadline", func(t *testing.T, c, _ net.Conn) {
			rc, err := c.(syscall.Conn).SyscallConn()
			require.NoError(t, err)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(-time.Second)))
			require.NoError(t, c.Close())
			assert.ErrorIs(t, rc.Read(func(uintptr) bool { return true }), net.ErrClosed)
		}},
		{"raw Write after CloseWrite with bytes queued", func(t *testing.T, c, peer net.Conn) {
			// CloseWrite returns with bytes still queued (net: in the
			// kernel, its Write still blocked); a raw write must not land
			// among them.
			require.NoError(t, c.(interface{ SetWriteBuffer(int) error }).SetWriteBuffer(4096))
			require.NoError(t, peer.(*net.TCPConn).SetReadBuffer(4096))
			written := make(chan struct{})
			go func() { _, _ = c.Write(bytes.Repeat([]byte("a"), 200<<10)); close(written) }()
			time.Sleep(100 * time.Millisecond)
			_ = c.(interface{ CloseWrite() error }).CloseWrite()
			rc, err := c.(syscall.Conn).SyscallConn()
			require.NoError(t, err)
			raw := make(chan error, 1)
			go func() {
				raw <- rc.Write(func(fd uintptr) bool {
					_, err := unix.Write(int(fd), []byte("XXXX"))
					return err != unix.EAGAIN
				})
			}()
			require.NoError(t, peer.SetReadDeadline(time.Now().Add(10*time.Second)))
			got, _ := io.ReadAll(peer)
			<-raw
			<-written
			assert.Equal(t, -1, bytes.IndexByte(got, 'X'), "a raw write after CloseWrite reached the peer")
		}},
		{"File's duplicate outlives Close", func(t *testing.T, c, peer net.Conn) {
			// Unread bytes make Close reset a connection, but not one
			// that a duplicate keeps open: its reply arrives whole.
			_, err := peer.Write([]byte("hi"))
			require.NoError(t, err)
			time.Sleep(100 * time.Millisecond) // received (by the loop, on a backend)
			f, err := c.(interface{ File() (*os.File, error) }).File()
			require.NoError(t, err)
			require.NoError(t, c.Close())
			time.Sleep(100 * time.Millisecond) // the loop closes its descriptor
			reply := bytes.Repeat([]byte("r"), 1<<20)
			go func() {
				// The duplicate's holder reads what the kernel still has
				// (net: "hi"; ringnet's loop has taken it), replies and
				// closes.
				_, _ = unix.Read(int(f.Fd()), make([]byte, 16))
				_ = unix.SetNonblock(int(f.Fd()), false)
				_, _ = f.Write(reply)
				_ = f.Close()
			}()
			require.NoError(t, peer.SetReadDeadline(time.Now().Add(10*time.Second)))
			n, err := io.Copy(io.Discard, peer)
			assert.NoError(t, err, "the duplicate's close ends the connection cleanly")
			assert.Equal(t, int64(len(reply)), n)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, impl := range append([]string{"net"}, testBackends...) {
				t.Run(impl, func(t *testing.T) {
					c, peer := conn(t, impl)
					tt.run(t, c, peer)
				})
			}
		})
	}
}
