package inbox

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDrainOrderAndReuse: functions run before kicked items, each in the
// order posted; what is queued during a Drain waits for the next one.
func TestDrainOrderAndReuse(t *testing.T) {
	var q Inbox[int]
	assert.False(t, q.Pending())
	var got []string
	q.Kick(1)
	q.Post(func() { got = append(got, "f1") })
	q.Kick(2)
	q.Post(func() { got = append(got, "f2") })
	assert.True(t, q.Pending())
	q.Drain(func(c int) {
		got = append(got, map[int]string{1: "c1", 2: "c2"}[c])
		q.Kick(3) // during a Drain: next time
	})
	assert.Equal(t, []string{"f1", "f2", "c1", "c2"}, got)
	assert.True(t, q.Pending())
	var next []int
	q.Drain(func(c int) { next = append(next, c) })
	assert.Equal(t, []int{3, 3}, next)
	assert.False(t, q.Pending())
}

// TestConcurrentKicks: nothing kicked from many goroutines is lost.
func TestConcurrentKicks(t *testing.T) {
	var q Inbox[int]
	var wg sync.WaitGroup
	const producers, each = 8, 1000
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Kick(p*each + i)
			}
		}()
	}
	seen := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		q.Drain(func(int) { seen++ })
		select {
		case <-done:
			q.Drain(func(int) { seen++ })
			assert.Equal(t, producers*each, seen)
			return
		default:
		}
	}
}
