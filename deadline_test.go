//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"math"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeadlinesOutOfRange: deadlines past what int64 nanoseconds hold are
// taken as net takes them: one in the far future is as good as none, one
// in the far past has passed.
func TestDeadlinesOutOfRange(t *testing.T) {
	tests := []struct {
		name   string
		dl     time.Time
		passed bool
	}{
		{"year 3000", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"now plus the longest duration", time.Now().Add(math.MaxInt64), false},
		{"year 1600", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"the Unix epoch", time.Unix(0, 0), true},
	}
	check := func(t *testing.T, c, peer net.Conn, dl time.Time, passed bool) {
		require.NoError(t, c.SetDeadline(dl))
		go func() { time.Sleep(50 * time.Millisecond); _, _ = peer.Write([]byte("x")) }()
		done := make(chan error, 1)
		go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
		select {
		case err := <-done:
			if passed {
				assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
			} else {
				assert.NoError(t, err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Read neither timed out nor returned the byte")
			require.NoError(t, c.SetDeadline(time.Now())) // ends it
			<-done
		}
		_, err := c.Write([]byte("y"))
		if passed {
			assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		} else {
			assert.NoError(t, err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("net", func(t *testing.T) {
				peer, c := netPairT(t)
				check(t, c, peer, tt.dl, tt.passed)
			})
			forEachBackend(t, func(t *testing.T, backend string) {
				c, peer, stop := pipe(t, &ListenConfig{Backend: backend})
				defer stop()
				check(t, c, peer, tt.dl, tt.passed)
			})
		})
	}
}
