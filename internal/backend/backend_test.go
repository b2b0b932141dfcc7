package backend

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLoopsFor: one loop per P that has a CPU of its own, never none.
func TestLoopsFor(t *testing.T) {
	tests := []struct {
		name               string
		gomaxprocs, numCPU int
		want               int
	}{
		{"one per CPU", 8, 8, 8},
		{"GOMAXPROCS above the CPUs (set by hand)", 64, 2, 2},
		{"GOMAXPROCS=16 on 2 CPUs", 16, 2, 2},
		{"GOMAXPROCS below the CPUs (a cgroup CPU limit)", 4, 64, 4},
		{"one P", 1, 64, 1},
		{"one CPU", 64, 1, 1},
		{"nonsense counts still give one loop", 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, LoopsFor(tt.gomaxprocs, tt.numCPU))
		})
	}
}
