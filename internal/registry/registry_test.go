package registry

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGroup counts Stop calls and has one "loop" that exits when stopped.
type fakeGroup struct {
	refs  Refs[string]
	stops atomic.Int32
	done  chan struct{}
}

func newFake() *fakeGroup { return &fakeGroup{done: make(chan struct{})} }

func (g *fakeGroup) Refs() *Refs[string] { return &g.refs }
func (g *fakeGroup) Stop() {
	if g.stops.Add(1) == 1 {
		close(g.done)
	}
}
func (g *fakeGroup) Done() []<-chan struct{} { return []<-chan struct{}{g.done} }

func TestAcquireSharesAndLastReleaseStops(t *testing.T) {
	var r Registry[string, *fakeGroup]
	starts := 0
	start := func() (*fakeGroup, error) { starts++; return newFake(), nil }

	a, err := r.Acquire("x", start)
	require.NoError(t, err)
	b, err := r.Acquire("x", start)
	require.NoError(t, err)
	c, err := r.Acquire("y", start)
	require.NoError(t, err)
	assert.Same(t, a, b, "one group per key")
	assert.NotSame(t, a, c)
	assert.Equal(t, 2, starts)
	assert.Len(t, r.Running(), 2)

	a.Refs().Add() // a connection of the group
	r.Release(a)
	r.Release(b)
	assert.Zero(t, a.stops.Load(), "still referenced")
	r.Release(a)
	r.WaitStopped()
	assert.Equal(t, int32(1), a.stops.Load())
	assert.Len(t, r.Running(), 1)

	d, err := r.Acquire("x", start)
	require.NoError(t, err)
	assert.NotSame(t, a, d, "a stopped group is never handed out again")
	r.Release(c)
	r.Release(d)
	r.WaitStopped()
	assert.Empty(t, r.Running())
}

func TestStartError(t *testing.T) {
	var r Registry[string, *fakeGroup]
	boom := errors.New("no ring")
	g, err := r.Acquire("x", func() (*fakeGroup, error) { return nil, boom })
	assert.ErrorIs(t, err, boom)
	assert.Nil(t, g)
	assert.Empty(t, r.Running())
}

// TestRacingReleases drops the last references from many goroutines while
// others re-acquire: every group is stopped exactly once, and only after
// its last reference is gone.
func TestRacingReleases(t *testing.T) {
	var r Registry[string, *fakeGroup]
	var all sync.Map
	start := func() (*fakeGroup, error) {
		g := newFake()
		all.Store(g, true)
		return g, nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				g, err := r.Acquire("x", start)
				if err != nil {
					t.Error(err)
					return
				}
				g.Refs().Add()
				r.Release(g)
				r.Release(g)
			}
		}()
	}
	wg.Wait()
	r.WaitStopped()
	assert.Empty(t, r.Running())
	all.Range(func(k, _ any) bool {
		assert.Equal(t, int32(1), k.(*fakeGroup).stops.Load(), "stopped exactly once")
		return true
	})
}
