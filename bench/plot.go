package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/stylize/stylize/imageio"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// PlotRoofline draws report r's roofline (Williams, Waterman & Patterson
// 2009) to path, a .png or .svg: the measured FMA peak and bandwidth as
// the roof, min(peak, bandwidth × intensity), and each timed op row as a
// point at its arithmetic intensity (FLOP per byte moved) and its
// GFLOP/s, labelled, on log axes, with the adapter in the title. It needs
// a report with the roofline measured (-only peak,...).
func PlotRoofline(r *Report, path string) error {
	if err := CheckPlotPath(path); err != nil {
		return err
	}
	if r.Peak.FMAGflops == nil || r.Peak.BandwidthGBs == nil {
		return errors.New("bench: -plot needs the roofline: run with -only peak,ops")
	}
	peak, bw := *r.Peak.FMAGflops, *r.Peak.BandwidthGBs
	var pts plotter.XYs
	var labels []string
	for _, row := range r.Rows {
		if row.Skipped || row.Kind == "peak" || row.TFlops == nil || row.GBs == nil || *row.GBs <= 0 || *row.TFlops <= 0 {
			continue
		}
		gflops := *row.TFlops * 1000
		pts = append(pts, plotter.XY{X: gflops / *row.GBs, Y: gflops})
		labels = append(labels, shortName(row.Name))
	}
	if len(pts) == 0 {
		return errors.New("bench: -plot: no timed op row with FLOPs and bytes (run with -only peak,ops)")
	}
	lo, hi := pts[0].X, pts[0].X
	for _, p := range pts {
		lo, hi = math.Min(lo, p.X), math.Max(hi, p.X)
	}
	lo, hi = math.Min(lo, peak/bw)/4, math.Max(hi, peak/bw)*4

	p := plot.New()
	p.Title.Text = fmt.Sprintf("roofline: %s (%s)", r.Adapter.Name, r.Adapter.Backend)
	p.X.Label.Text = "arithmetic intensity (FLOP/byte)"
	p.Y.Label.Text = "GFLOP/s (conv: the direct conv's FLOPs)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}

	var roof plotter.XYs
	for i := 0; i <= 64; i++ {
		x := lo * math.Pow(hi/lo, float64(i)/64)
		roof = append(roof, plotter.XY{X: x, Y: math.Min(peak, bw*x)})
	}
	line, err := plotter.NewLine(roof)
	if err != nil {
		return fmt.Errorf("bench: -plot: %w", err)
	}
	line.Width = vg.Points(2)
	p.Add(line)
	p.Legend.Add(fmt.Sprintf("roof: %.3g GFLOP/s, %.3g GB/s", peak, bw), line)

	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return fmt.Errorf("bench: -plot: %w", err)
	}
	p.Add(sc)
	p.Legend.Add("op rows", sc)
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
	if err != nil {
		return fmt.Errorf("bench: -plot: %w", err)
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Font.Size = vg.Points(6)
	}
	p.Add(lb)
	p.Legend.Top, p.Legend.Left = true, true
	return SavePlot(p, 10*vg.Inch, 7*vg.Inch, path)
}

// CheckPlotPath checks a -plot file name: a .png or .svg.
func CheckPlotPath(path string) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".png" && ext != ".svg" {
		return fmt.Errorf("-plot %s: want a .png or .svg file", path)
	}
	return nil
}

// SavePlot writes p, w×h, to path (CheckPlotPath's), atomically as every
// output is (imageio.WriteAtomic).
func SavePlot(p *plot.Plot, w, h vg.Length, path string) error {
	wt, err := p.WriterTo(w, h, strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), "."))
	if err != nil {
		return fmt.Errorf("-plot %s: %w", path, err)
	}
	return imageio.WriteAtomic(path, func(out io.Writer) error {
		_, err := wt.WriteTo(out)
		return err
	})
}

// shortName is a row's name without its size: "conv3x3.forward/relu2_2".
func shortName(name string) string {
	if i := strings.LastIndex(name, "/"); i > 0 {
		return name[:i]
	}
	return name
}
