//go:build linux

package main

import (
	"slices"
)

// cell is one metric of one workload × implementation over the
// repetitions.
type cell struct {
	Value    float64 `json:"value"`           // median of the values
	Ratio    float64 `json:"ratio,omitempty"` // median of the ratios to the baseline of the same repetition
	HasRatio bool    `json:"has_ratio"`
}

// summaryRow is one workload × implementation.
type summaryRow struct {
	Workload string          `json:"workload"`
	Impl     string          `json:"impl"`
	Runs     int             `json:"runs"`
	OK       int             `json:"ok"`
	Errors   []string        `json:"errors,omitempty"`   // distinct errors of failed runs
	Warnings []string        `json:"warnings,omitempty"` // distinct warnings
	Cells    map[string]cell `json:"cells"`
}

// summarize reduces runs to one row per workload and implementation, in
// the given orders. A ratio is taken only where the baseline measured the
// same metric in the same repetition.
func summarize(runs []runResult, workloads, impls []string) []summaryRow {
	type key struct {
		workload, impl string
		rep            int
	}
	byKey := map[key]runResult{}
	for _, r := range runs {
		byKey[key{r.Workload, r.Impl, r.Rep}] = r
	}
	var rows []summaryRow
	for _, w := range workloads {
		for _, im := range impls {
			row := summaryRow{Workload: w, Impl: im, Cells: map[string]cell{}}
			values := map[string][]float64{}
			ratios := map[string][]float64{}
			for _, r := range runs {
				if r.Workload != w || r.Impl != im {
					continue
				}
				row.Runs++
				if r.Error != "" {
					row.Errors = appendNew(row.Errors, r.Error)
					continue
				}
				row.OK++
				if r.Warning != "" {
					row.Warnings = appendNew(row.Warnings, r.Warning)
				}
				base := byKey[key{w, baseline, r.Rep}]
				for m, v := range r.Metrics {
					values[m] = append(values[m], v)
					if b, ok := base.Metrics[m]; ok && base.Error == "" && b > 0 {
						ratios[m] = append(ratios[m], v/b)
					}
				}
			}
			for m, vs := range values {
				c := cell{Value: median(vs)}
				if rs := ratios[m]; len(rs) > 0 {
					c.Ratio, c.HasRatio = median(rs), true
				}
				row.Cells[m] = c
			}
			if row.Runs > 0 {
				rows = append(rows, row)
			}
		}
	}
	return rows
}

// median returns the median of xs, the mean of the middle two for an even
// count, and 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// appendNew appends s to list unless it is there already.
func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
