//go:build linux

package loop

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProbe(t *testing.T) {
	// This machine (and CI's) has io_uring: the probe must pass here. The
	// refusal paths are tested from the root package under seccomp.
	require.NoError(t, Probe())
}
