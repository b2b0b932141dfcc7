//go:build linux

package main

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writeChart draws the throughput ratios to the baseline as a grouped,
// horizontal bar chart, one group per workload with a throughput (the
// first at the top) and one colour per implementation other than the
// baseline, with a line at 1.0, and saves it as a PNG. A failed or absent
// implementation's bar is left out (drawn at 0).
func writeChart(path string, rows []summaryRow, workloads []workload, impls []impl) error {
	var names []string
	for _, w := range workloads {
		if w.kind != idleLoad {
			names = append(names, w.name)
		}
	}
	var others []string
	for _, im := range impls {
		if im.name != baseline {
			others = append(others, im.name)
		}
	}
	ratio := map[[2]string]float64{}
	top := 1.0
	for _, r := range rows {
		if c, ok := r.Cells[mThroughput]; ok && c.HasRatio && r.Impl != baseline {
			ratio[[2]string{r.Workload, r.Impl}] = c.Ratio
			top = math.Max(top, c.Ratio)
		}
	}
	if len(names) == 0 || len(others) == 0 || len(ratio) == 0 {
		return fmt.Errorf("no throughput ratios to draw")
	}
	n := len(names)
	// The first workload is drawn at the top, at y = n-1.
	labels := make([]string, n)
	for j, w := range names {
		labels[n-1-j] = w
	}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("Throughput relative to %s (median over repetitions)", baseline)
	p.X.Label.Text = "throughput ÷ " + baseline
	// Headroom right of the bars for the legend.
	p.X.Min, p.X.Max = 0, top*1.25
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
	p.X.Tick.Marker = ratioTicks(p.X.Max)
	grid := plotter.NewGrid()
	grid.Horizontal.Width = 0
	p.Add(grid)
	p.Legend.Top = true

	group := vg.Points(16)
	width := group * 0.85 / vg.Length(len(others))
	for i, name := range others {
		vals := make(plotter.Values, n)
		for j, w := range names {
			vals[n-1-j] = ratio[[2]string{w, name}]
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bars.Horizontal = true
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		// The first implementation's bar on top within each group.
		bars.Offset = group*0.85/2 - width/2 - width*vg.Length(i)
		p.Add(bars)
		p.Legend.Add(name, bars)
	}
	one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: p.Y.Min}, {X: 1, Y: p.Y.Max}})
	if err != nil {
		return err
	}
	one.Color = plotutil.Color(len(others))
	one.Width = vg.Points(1.5)
	one.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	p.Add(one)
	p.Legend.Add(baseline+" = 1.0", one)
	p.NominalY(labels...)
	return p.Save(8*vg.Inch, vg.Length(n)*group+1.5*vg.Inch, path)
}

// ratioTicks labels the ratio axis at round steps up to top.
func ratioTicks(top float64) plot.ConstantTicks {
	step := 0.25
	for top/step > 10 {
		step *= 2
	}
	var ticks plot.ConstantTicks
	for v := 0.0; v <= top; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprintf("%.2f", v)})
	}
	return ticks
}
