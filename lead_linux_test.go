//go:build linux

package ringnet

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readerPasses sums the io_uring loops' ReaderPasses counters.
func readerPasses() uint64 {
	var n uint64
	for _, s := range Stats() {
		if s.Backend == "io_uring" {
			n += s.ReaderPasses
		}
	}
	return n
}

// TestReaderLeads: a Read that blocks on a loop serving one connection does
// the loop's work itself (loop.Loop.lead). Whatever happens while it leads —
// its own bytes, a second connection on the same loop, its peer leaving, a
// Close or a deadline from another goroutine, the listener closing — is
// handled, and the loop goroutine takes over again afterwards.
func TestReaderLeads(t *testing.T) {
	tests := []struct {
		name string
		// event runs while the server's Read blocks; it returns what that
		// Read must return.
		event   func(t *testing.T, ln *Listener, srv *Conn, cli net.Conn) (want string, wantErr func(error) bool)
		readsOn bool // the server conn still echoes afterwards
	}{
		{"data", func(t *testing.T, _ *Listener, _ *Conn, cli net.Conn) (string, func(error) bool) {
			_, err := cli.Write([]byte("ping"))
			require.NoError(t, err)
			return "ping", nil
		}, true},
		{"second connection", func(t *testing.T, ln *Listener, _ *Conn, cli net.Conn) (string, func(error) bool) {
			// Accepted on the only loop while the first Read leads it.
			c2, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			defer c2.Close()
			s2, err := ln.AcceptRing()
			require.NoError(t, err)
			defer s2.Close()
			go func() { _, _ = io.Copy(s2, s2) }()
			_, err = c2.Write([]byte("two"))
			require.NoError(t, err)
			buf := make([]byte, 3)
			require.NoError(t, c2.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, err = io.ReadFull(c2, buf)
			require.NoError(t, err)
			assert.Equal(t, "two", string(buf))
			_, err = cli.Write([]byte("one"))
			require.NoError(t, err)
			return "one", nil
		}, true},
		{"peer closes", func(t *testing.T, _ *Listener, _ *Conn, cli net.Conn) (string, func(error) bool) {
			require.NoError(t, cli.Close())
			return "", func(err error) bool { return err == io.EOF }
		}, false},
		{"close", func(t *testing.T, _ *Listener, srv *Conn, _ net.Conn) (string, func(error) bool) {
			require.NoError(t, srv.Close())
			return "", func(err error) bool { return errors.Is(err, net.ErrClosed) }
		}, false},
		{"deadline", func(t *testing.T, _ *Listener, srv *Conn, _ net.Conn) (string, func(error) bool) {
			require.NoError(t, srv.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
			return "", func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
		}, false},
		{"listener closes", func(t *testing.T, ln *Listener, _ *Conn, cli net.Conn) (string, func(error) bool) {
			require.NoError(t, ln.Close())
			_, err := ln.Accept()
			require.ErrorIs(t, err, net.ErrClosed)
			_, err = cli.Write([]byte("still"))
			require.NoError(t, err)
			return "still", nil
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := (&ListenConfig{Backend: "io_uring", Loops: 1}).Listen(t.Context(), "tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			cli, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			defer cli.Close()
			srv, err := ln.(*Listener).AcceptRing()
			require.NoError(t, err)
			defer srv.Close()

			before := readerPasses()
			type result struct {
				b   string
				err error
			}
			done := make(chan result, 1)
			go func() {
				buf := make([]byte, 16)
				n, err := srv.Read(buf)
				done <- result{string(buf[:n]), err}
			}()
			// Let the Read block (and lead) before the event.
			require.Eventually(t, func() bool { return readerPasses() > before }, 5*time.Second, time.Millisecond,
				"the blocked Read never led its loop")
			want, wantErr := tt.event(t, ln.(*Listener), srv, cli)
			var r result
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Read did not return")
			}
			if wantErr != nil {
				assert.True(t, wantErr(r.err), "Read error %v", r.err)
			} else {
				require.NoError(t, r.err)
				assert.Equal(t, want, r.b)
			}
			if !tt.readsOn {
				return
			}
			// The conn still works both ways after the lead.
			go func() { _, _ = io.Copy(srv, srv) }()
			for i := range 50 {
				msg := []byte{byte(i), 'x'}
				_, err := cli.Write(msg)
				require.NoError(t, err)
				buf := make([]byte, 2)
				require.NoError(t, cli.SetReadDeadline(time.Now().Add(5*time.Second)))
				_, err = io.ReadFull(cli, buf)
				require.NoError(t, err)
				require.Equal(t, msg, buf)
			}
		})
	}
}
