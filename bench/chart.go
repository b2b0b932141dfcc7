//go:build linux

package main

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// writeChart draws the throughput ratios to the baseline as a grouped bar
// chart, one group per workload with a throughput and one colour per
// implementation other than the baseline, with a line at 1.0, and saves it
// as a PNG. A failed implementation's bar is left out (drawn at 0).
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

	p := plot.New()
	p.Title.Text = fmt.Sprintf("Throughput relative to %s (median over repetitions)", baseline)
	p.Y.Label.Text = "throughput ÷ " + baseline
	// Headroom above the bars for the legend.
	p.Y.Min, p.Y.Max = 0, top*1.3
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	p.Y.Tick.Marker = ratioTicks(p.Y.Max)
	grid := plotter.NewGrid()
	grid.Vertical.Width = 0
	p.Add(grid)
	p.Legend.Top = true
	p.X.Tick.Label.Rotation = math.Pi / 6
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter

	group := vg.Points(40)
	width := group / vg.Length(len(others))
	for i, name := range others {
		vals := make(plotter.Values, len(names))
		for j, w := range names {
			vals[j] = ratio[[2]string{w, name}]
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = width*vg.Length(i) - group/2 + width/2
		p.Add(bars)
		p.Legend.Add(name, bars)
	}
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.XMin, one.XMax = p.X.Min, p.X.Max
	one.Color = plotutil.Color(len(others))
	one.Width = vg.Points(1.5)
	one.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	p.Add(one)
	p.Legend.Add(baseline+" = 1.0", one)
	p.NominalX(names...)
	return p.Save(vg.Length(len(names))*group*1.3+1.5*vg.Inch, 4.5*vg.Inch, path)
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
