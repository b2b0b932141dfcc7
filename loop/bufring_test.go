//go:build linux

package loop

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestBufRing registers a ring of entries buffers of 4 KiB that
// provides provide of them at first; it is freed when the test ends.
func newTestBufRing(t *testing.T, entries uint16, provide int) *bufRing {
	t.Helper()
	ring, err := newRing(8)
	require.NoError(t, err)
	b, err := newBufRing(ring.Fd(), entries, 4096, 1, provide)
	require.NoError(t, err)
	t.Cleanup(func() {
		b.unregister(ring.Fd())
		_ = ring.Close()
		b.unmap()
	})
	return b
}

// cycle has the kernel's part played: n buffers are taken from the ring
// by completions and given back.
func cycle(b *bufRing, n int) {
	bids := make([]uint16, n)
	for i := range bids {
		bids[i] = b.desc(b.tail - uint16(b.out)).bid // the oldest provided, as the kernel takes them
		b.take()
	}
	for _, bid := range bids {
		b.recycle(bid)
	}
	b.commit()
}

// TestBufRingProvidesByLoad: a ring provides its first share of buffers,
// doubles it each time a receive found none left, never beyond its room,
// and after release starts over, keeping back the buffers that come home
// beyond its share. Every buffer is in exactly one place throughout.
func TestBufRingProvidesByLoad(t *testing.T) {
	b := newTestBufRing(t, 16, 2)
	type want struct{ target, out, spare int }
	check := func(step string, w want) {
		t.Helper()
		assert.Equal(t, w, want{b.target, b.out, len(b.spare)}, step)
		assert.Equal(t, int64(b.out), b.provided.Load(), "%s: provided, for Stats", step)
		assert.Equal(t, int(b.entries), b.out+len(b.spare)+int(b.inUse.Load()), "%s: every buffer accounted for", step)
	}
	check("set up", want{2, 2, 14})

	cycle(b, 2)
	check("buffers come back while the ring holds its share", want{2, 2, 14})

	b.grow()
	check("no receive found the ring empty: no growth", want{2, 2, 14})

	steps := []want{{4, 4, 12}, {8, 8, 8}, {16, 16, 0}, {16, 16, 0}}
	for i, w := range steps {
		b.short = true
		b.grow()
		b.commit()
		check("growth "+string(rune('1'+i)), w)
	}
	assert.False(t, b.short, "grow consumed the signal")

	cycle(b, 16)
	check("all taken and given back", want{16, 16, 0})

	require.NoError(t, b.release())
	check("released: the share starts over, the ring keeps what it holds", want{2, 16, 0})
	cycle(b, 10)
	check("buffers beyond the share go to spare as they come back", want{2, 6, 10})
	cycle(b, 6)
	check("back to the first share", want{2, 2, 14})
	assert.Equal(t, uint64(2+16+10+6), b.takes, "takes counted")
}

// TestBufRingAllProvided: a ring told to provide all its buffers (an
// explicit Config.Buffers) keeps them all provided, also after release.
func TestBufRingAllProvided(t *testing.T) {
	b := newTestBufRing(t, 8, 8)
	assert.Equal(t, []int{8, 8, 0}, []int{b.target, b.out, len(b.spare)})
	require.NoError(t, b.release())
	cycle(b, 8)
	assert.Equal(t, []int{8, 8, 0}, []int{b.target, b.out, len(b.spare)})
}

// TestBuffersFromConfig: Config.Buffers, when set, is the number of
// buffers a loop has and provides; zero means room for DefaultBuffers, of
// which FirstBuffers are provided at first.
func TestBuffersFromConfig(t *testing.T) {
	tests := []struct {
		name    string
		buffers uint16
		entries uint16
		provide int
	}{
		{"default: by load", 0, DefaultBuffers, FirstBuffers},
		{"the default count by name: all provided", DefaultBuffers, DefaultBuffers, DefaultBuffers},
		{"few", 4, 4, 4},
		{"many", 4096, 4096, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, provide := buffers(withDefaults(Config{Buffers: tt.buffers}))
			assert.Equal(t, tt.entries, entries)
			assert.Equal(t, tt.provide, provide)
		})
	}
}
