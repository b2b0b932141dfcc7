//go:build linux

package ringnet

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExecInheritsNoDescriptors: a program that starts a child process
// while ringnet is in use hands the child none of ringnet's descriptors
// (rings, wake eventfds and pipes, pollers, listening and connected
// sockets, a solo reader's duplicate), as with net, whose are all
// close-on-exec: a leaked socket would keep a connection or a port alive in
// the child after the parent closed it.
func TestExecInheritsNoDescriptors(t *testing.T) {
	childFDs := func(t *testing.T) []string {
		out, err := exec.Command("/bin/sh", "-c", "ls /proc/$$/fd").Output()
		require.NoError(t, err)
		return strings.Fields(string(out))
	}
	baseline := childFDs(t)

	forEachBackend(t, func(t *testing.T, backend string) {
		lc := ListenConfig{Backend: backend}
		ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		d := Dialer{Backend: backend}
		dialed, accepted := connectT(t, ln, d.Dial)
		_, err = dialed.Write([]byte("x"))
		require.NoError(t, err)
		_, err = accepted.Read(make([]byte, 1))
		require.NoError(t, err)

		// A loop's only connection, its Read waiting on a duplicate of the
		// socket (solo receiving).
		solo := ListenConfig{Backend: backend, Loops: 1}
		sln, err := solo.Listen(t.Context(), "tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer sln.Close()
		cli, srv := connectT(t, sln, nil)
		primeSolo(t, cli, srv)
		go func() { _, _ = srv.Read(make([]byte, 1)) }() // ends with the test's Close
		require.Eventually(t, srv.(*Conn).s.SoloReading, 5*time.Second, time.Millisecond, "the Read waits solo")

		assert.Equal(t, baseline, childFDs(t), "the child's descriptors, against a child started before any was open")
	})
}
