//go:build linux

package ringnet

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestListenerCloseFreesAddress: as with net, the address is free again as
// soon as Close returns: the loops cancel their accepts and close the
// socket before Close returns, not after. The loop is kept busy serving a
// connection whose reader blocks, so that the close cannot win by luck.
func TestListenerCloseFreesAddress(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		lc := &ListenConfig{Backend: backend, Loops: 1}
		srv, cli, done := pipe(t, lc)
		defer done()
		go func() { _, _ = srv.Read(make([]byte, 1)) }()

		tests := []struct{ network, addr string }{
			{"tcp", "127.0.0.1:0"},
			{"unix", filepath.Join(t.TempDir(), "s")},
			// An abstract name has no file to unlink: it is bound exactly as
			// long as the socket is open.
			{"unix", fmt.Sprintf("@ringnet-close-%d-%s", os.Getpid(), backend)},
		}
		for _, tt := range tests {
			t.Run(tt.network+" "+tt.addr, func(t *testing.T) {
				for range 50 {
					ln, err := lc.Listen(context.Background(), tt.network, tt.addr)
					require.NoError(t, err)
					addr := ln.Addr().String()
					require.NoError(t, ln.Close())
					again, err := net.Listen(tt.network, addr)
					require.NoError(t, err, "the address is still bound after Close")
					require.NoError(t, again.Close())
				}
			})
		}
		_ = cli
	})
}

// TestUnlinkOnClose checks when Close removes a Unix listener's socket
// file against net.UnixListener: by default when Listen made it, not for
// a FileListener; SetUnlinkOnClose overrides either way.
func TestUnlinkOnClose(t *testing.T) {
	type listener interface {
		net.Listener
		SetUnlinkOnClose(bool)
	}
	tests := []struct {
		name string
		file bool  // made by FileListener from a net listener's file
		set  *bool // SetUnlinkOnClose's argument, nil: not called
	}{
		{"Listen, default", false, nil},
		{"Listen, SetUnlinkOnClose(false)", false, new(false)},
		{"FileListener, default", true, nil},
		{"FileListener, SetUnlinkOnClose(true)", true, new(true)},
	}
	// removed makes a listener with listen, or with fileListener from a
	// net listener's file, closes it and reports whether the socket file
	// is gone.
	removed := func(t *testing.T, listen func(string, string) (net.Listener, error), fileListener func(*os.File) (net.Listener, error), file bool, set *bool) bool {
		path := filepath.Join(t.TempDir(), "s")
		var ln net.Listener
		var err error
		if file {
			orig, err := net.Listen("unix", path)
			require.NoError(t, err)
			orig.(*net.UnixListener).SetUnlinkOnClose(false)
			f, err := orig.(*net.UnixListener).File()
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, orig.Close())
			ln, err = fileListener(f)
			require.NoError(t, err)
		} else {
			ln, err = listen("unix", path)
			require.NoError(t, err)
		}
		if set != nil {
			ln.(listener).SetUnlinkOnClose(*set)
		}
		require.NoError(t, ln.Close())
		_, err = os.Stat(path)
		return os.IsNotExist(err)
	}
	forEachBackend(t, func(t *testing.T, backend string) {
		t.Setenv(BackendEnv, backend) // for FileListener
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := removed(t, net.Listen, net.FileListener, tt.file, tt.set)
				got := removed(t, listenOn(backend), FileListener, tt.file, tt.set)
				require.Equal(t, want, got, "socket file removed by Close (net: %v)", want)
			})
		}
	})
}
