package bench

import (
	"fmt"
	"strings"
)

// Comparison is a report's rows matched by name with an earlier report's.
type Comparison struct {
	File        string   `json:"file"`
	Adapter     string   `json:"adapter"`
	Tool        string   `json:"tool"`
	Threshold   float64  `json:"threshold"` // a ratio above 1+threshold is a regression
	Rows        []Ratio  `json:"rows"`
	Regressions int      `json:"regressions"`
	OnlyOld     []string `json:"only_old"` // rows the old report has and this one does not
}

// Ratio compares one row: new time ÷ old time for the same work, so
// above 1 is slower.
type Ratio struct {
	Name       string  `json:"name"`
	Ratio      float64 `json:"ratio"`
	Regression bool    `json:"regression"`
}

// RatioOf compares the new row n with the old row o, reporting false when
// either has no time. Peak rows, whose work is calibrated per device,
// compare throughput; others compare the median ms.
func RatioOf(o, n Row) (float64, bool) {
	if o.Skipped || n.Skipped || o.MSMedian == nil || n.MSMedian == nil || *o.MSMedian <= 0 || *n.MSMedian <= 0 {
		return 0, false
	}
	if n.Kind == "peak" {
		if o.TFlops != nil && n.TFlops != nil && *n.TFlops > 0 {
			return *o.TFlops / *n.TFlops, true
		}
		if o.GBs != nil && n.GBs != nil && *n.GBs > 0 {
			return *o.GBs / *n.GBs, true
		}
	}
	return *n.MSMedian / *o.MSMedian, true
}

// Compare matches cur's rows with old's by name and flags those slower
// than 1+threshold times the old ones; file names old in the result.
func Compare(old, cur *Report, file string, threshold float64) *Comparison {
	c := &Comparison{File: file, Adapter: old.Adapter.Name, Tool: old.Tool, Threshold: threshold, Rows: []Ratio{}, OnlyOld: []string{}}
	have := map[string]bool{}
	byName := map[string]Row{}
	for _, r := range old.Rows {
		byName[r.Name] = r
	}
	for _, r := range cur.Rows {
		have[r.Name] = true
		o, ok := byName[r.Name]
		if !ok {
			continue
		}
		ratio, ok := RatioOf(o, r)
		if !ok {
			continue
		}
		reg := ratio > 1+threshold
		if reg {
			c.Regressions++
		}
		c.Rows = append(c.Rows, Ratio{Name: r.Name, Ratio: ratio, Regression: reg})
	}
	for _, r := range old.Rows {
		if !have[r.Name] {
			c.OnlyOld = append(c.OnlyOld, r.Name)
		}
	}
	return c
}

// ratioWith compares r with the row of the same name in old, if any; nil
// when there is no old report or nothing to compare.
func ratioWith(old *Report, r Row, threshold float64) *Ratio {
	if old == nil {
		return nil
	}
	for _, o := range old.Rows {
		if o.Name == r.Name {
			if v, ok := RatioOf(o, r); ok {
				return &Ratio{Name: r.Name, Ratio: v, Regression: v > 1+threshold}
			}
			return nil
		}
	}
	return nil
}

// Err returns a *RegressionError naming the rows that regressed, or nil
// when none did.
func (c *Comparison) Err() error {
	if c == nil || c.Regressions == 0 {
		return nil
	}
	e := &RegressionError{Threshold: c.Threshold}
	for _, r := range c.Rows {
		if r.Regression {
			e.Names = append(e.Names, r.Name)
		}
	}
	return e
}

// RegressionError says which rows were slower than the compared report
// by more than the threshold.
type RegressionError struct {
	Names     []string
	Threshold float64
}

// Error names the first rows that regressed.
func (e *RegressionError) Error() string {
	return fmt.Sprintf("bench: %d rows are more than %.0f%% slower than the compared report: %s",
		len(e.Names), e.Threshold*100, strings.Join(first(e.Names, 8), ", "))
}

// first returns s, cut to n names and a count of the rest.
func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string(nil), s[:n]...), fmt.Sprintf("... (%d more)", len(s)-n))
}
