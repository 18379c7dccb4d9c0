package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// The table's columns.
const tableHead = "%-35s %-26s %10s %10s %10s %9s %9s %8s %6s"

// The section titles above each kind of row.
const (
	sectionPeak = "roofline (microkernels, like vkpeak/clpeak)"
	sectionOps  = "ops at VGG19's layer shapes for a %dx%d image, one command buffer each"
	sectionIter = "full iterations: forward to relu5_2, the seed's losses, backward, Keras Adam + clip; one command buffer each"
)

// WriteText writes r as the table Run prints while it runs, less the
// line about the startup that Run prints before the roofline (the
// summary under the table still gives the startup's total).
func (r *Report) WriteText(w io.Writer) error {
	// A report cannot tell -timing wall from an adapter without
	// timestamps, except when the adapter has them.
	forcedWall := r.Timing == "wall-clock" && r.Adapter.Timestamps
	writeHeader(w, r, forcedWall, r.Compare)
	ratios := map[string]*Ratio{}
	threshold := 0.0
	if r.Compare != nil {
		threshold = r.Compare.Threshold
		for i := range r.Compare.Rows {
			ratios[r.Compare.Rows[i].Name] = &r.Compare.Rows[i]
		}
	}
	kind := ""
	for _, row := range r.Rows {
		if row.Kind != kind {
			if kind == "peak" {
				writeRidge(w, r.Peak)
			}
			kind = row.Kind
			switch kind {
			case "peak":
				writeSection(w, sectionPeak)
			case "op":
				writeSection(w, fmt.Sprintf(sectionOps, r.Config.OpSize, r.Config.OpSize))
			case "iteration":
				writeSection(w, sectionIter)
			}
		}
		fmt.Fprintln(w, tableLine(row, ratios[row.Name], threshold))
	}
	if kind == "peak" {
		writeRidge(w, r.Peak)
	}
	writeSummary(w, r)
	return nil
}

// writeHeader prints the adapter, the timing, the weights and the table's
// head. forcedWall says the wall clock was asked for; cmp, when not nil,
// names the report compared with.
func writeHeader(w io.Writer, r *Report, forcedWall bool, cmp *Comparison) {
	a := r.Adapter
	soft := ""
	if a.Software {
		soft = " (software: expect CPU speeds)"
	}
	fmt.Fprintf(w, "stylize bench\n")
	fmt.Fprintf(w, "adapter:  %s\n", a.Name)
	fmt.Fprintf(w, "  driver  %s\n", or(a.Driver, "?"))
	fmt.Fprintf(w, "  backend %s, type %s%s, vendor 0x%04x\n", a.Backend, a.Type, soft, a.Vendor)
	l := a.Limits
	fmt.Fprintf(w, "  limits  max storage binding %d MiB, max buffer %d MiB, workgroup storage %d KiB, %d invocations/workgroup, %d workgroups/dimension\n",
		l["max_storage_buffer_binding_size"]>>20, l["max_buffer_size"]>>20, l["max_compute_workgroup_storage_size"]>>10,
		l["max_compute_invocations_per_workgroup"], l["max_compute_workgroups_per_dimension"])
	clock := "wall clock around submit and wait (no GPU timestamps"
	if r.Timing == "gpu-timestamps" {
		clock = "GPU timestamps (ticks taken as ns"
	}
	if forcedWall {
		clock = "wall clock around submit and wait (-timing wall"
	}
	c := r.Config
	rowTime := time.Duration(math.Round(c.RowTimeS * float64(time.Second)))
	fmt.Fprintf(w, "timing:   %s); median, min, max of up to %d samples after %d warm-up, a row stops sampling after %s\n", clock, c.Reps, c.Warmup, rowTime)
	fmt.Fprintf(w, "weights:  SYNTHETIC VGG19 (He-initialised, seed %d) - not trained; timing does not depend on weight values\n", c.Seed)
	fmt.Fprintf(w, "settings: the seed's: content relu5_2, style relu1_1..relu5_1, Keras Adam, max pool, fp32\n")
	if c.Kernels != "" {
		fmt.Fprintf(w, "kernels:  %s\n", c.Kernels)
	}
	if cmp != nil {
		fmt.Fprintf(w, "compare:  %s (%s on %s); ratio = new time / old time for the same work, >%.2f flagged\n", cmp.File, cmp.Tool, cmp.Adapter, 1+cmp.Threshold)
	}
	fmt.Fprintln(w)
	line := fmt.Sprintf(tableHead, "name", "shape", "ms med", "min", "max", "GFLOP", "TFLOP/s", "GB/s", "%peak")
	if cmp != nil {
		line += "  vs old"
	}
	fmt.Fprintln(w, line)
	fmt.Fprintln(w, strings.Repeat("-", len(line)))
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeSection prints a section's title line.
func writeSection(w io.Writer, title string) {
	fmt.Fprintf(w, "# %s\n", title)
}

// writeRidge prints the roofline's ridge point, when both ceilings were measured.
func writeRidge(w io.Writer, p Peak) {
	if p.FMAGflops != nil && p.BandwidthGBs != nil {
		fmt.Fprintf(w, "  ridge point: %.1f FLOP/byte (rows above it are FLOP-bound, below memory-bound)\n", *p.FMAGflops / *p.BandwidthGBs)
	}
}

// num formats v to prec significant digits, never in exponent form; "-"
// for nil.
func num(v *float64, prec int) string {
	if v == nil {
		return "-"
	}
	x := *v
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return fmt.Sprint(x)
	case x == 0:
		return "0"
	case math.Abs(x) >= 1e5:
		return fmt.Sprintf("%.0f", x)
	}
	digits := prec - 1 - int(math.Floor(math.Log10(math.Abs(x))))
	return fmt.Sprintf("%.*f", max(digits, 0), x)
}

// tableLine renders one row; ratio is nil without a comparison.
func tableLine(r Row, ratio *Ratio, threshold float64) string {
	if r.Skipped {
		return fmt.Sprintf("%-35s %-26s skipped: %s", r.Name, r.Shape, r.Reason)
	}
	pct := "-"
	if r.PctPeak != nil {
		pct = fmt.Sprintf("%.1f", *r.PctPeak)
	}
	line := fmt.Sprintf(tableHead, r.Name, r.Shape, num(r.MSMedian, 4), num(r.MSMin, 4), num(r.MSMax, 4),
		num(r.GFlop, 4), num(r.TFlops, 3), num(r.GBs, 3), pct)
	if ratio != nil {
		line += fmt.Sprintf("  %.2fx", ratio.Ratio)
		if ratio.Regression {
			line += fmt.Sprintf(" REGRESSION (>%.0f%% slower)", threshold*100)
		}
	}
	return line
}

// writeSummary prints the lines under the table.
func writeSummary(w io.Writer, r *Report) {
	fmt.Fprintln(w)
	if r.StartupMS != nil {
		fmt.Fprintf(w, "startup: %.0f ms from process start to the first iteration done (device, synthetic weights, pipelines, targets, one iteration)\n", *r.StartupMS)
	}
	fmt.Fprintf(w, "peak GPU memory held by our buffers: %.1f MiB\n", float64(r.PeakMemBytes)/(1<<20))
	if r.Compare == nil {
		return
	}
	c := r.Compare
	fmt.Fprintf(w, "compared with %s (%s on %s): %d rows matched, %d slower by more than %.0f%%",
		c.File, c.Tool, c.Adapter, len(c.Rows), c.Regressions, c.Threshold*100)
	if len(c.Rows) > 0 {
		ratios := make([]float64, len(c.Rows))
		for i, x := range c.Rows {
			ratios[i] = x.Ratio
		}
		sort.Float64s(ratios)
		med := ratios[len(ratios)/2]
		if len(ratios)%2 == 0 {
			med = (ratios[len(ratios)/2-1] + med) / 2
		}
		fmt.Fprintf(w, "; ratio new/old median %.2f (min %.2f, max %.2f)", med, ratios[0], ratios[len(ratios)-1])
	}
	fmt.Fprintln(w)
	if len(c.OnlyOld) > 0 {
		fmt.Fprintf(w, "  %d rows only in the old report (not run now): %s\n", len(c.OnlyOld), strings.Join(first(c.OnlyOld, 6), ", "))
	}
}
