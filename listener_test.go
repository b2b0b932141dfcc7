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
