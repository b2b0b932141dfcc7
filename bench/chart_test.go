//go:build linux

package main

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteChart(t *testing.T) {
	// Every workload of a full run, a bar for each implementation that
	// runs it: one horizontal group per row, so the chart grows in height.
	var rows []summaryRow
	for i, w := range workloads {
		for _, im := range impls {
			if im.name != baseline && im.runs(w) {
				rows = append(rows, summaryRow{Workload: w.name, Impl: im.name, Runs: 1, OK: 1,
					Cells: map[string]cell{mThroughput: {Value: 1, Ratio: 0.5 + float64(i%10)/10, HasRatio: true}}})
			}
		}
	}
	path := filepath.Join(t.TempDir(), "bench.png")
	require.NoError(t, writeChart(path, rows, workloads, impls))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	assert.Greater(t, b.Dy(), b.Dx(), "a tall chart: %v", b)

	assert.Error(t, writeChart(path, nil, workloads, impls), "nothing to draw")
}
