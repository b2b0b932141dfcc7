package leakcheck

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckFDs(t *testing.T) {
	defer func(d time.Duration) { fdWait = d }(fdWait)
	fdWait = 100 * time.Millisecond
	before := CountFDs()
	if before < 0 {
		t.Skip("this system does not list a process's descriptors")
	}
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	err = CheckFDs(before, 0)
	require.Error(t, err, "an open file must show as a leak")
	assert.Contains(t, err.Error(), os.DevNull)
	assert.NoError(t, CheckFDs(before, 1), "within the slack")
	require.NoError(t, f.Close())
	assert.NoError(t, CheckFDs(before, 0))
	assert.NoError(t, CheckFDs(-1, 0), "nothing to compare with")
}

func TestWithin(t *testing.T) {
	calls := 0
	err := Within(time.Second, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	assert.NoError(t, err)
	assert.Equal(t, 3, calls)

	start := time.Now()
	err = Within(60*time.Millisecond, func() error { return errors.New("never") })
	assert.EqualError(t, err, "never")
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
}
