package cli

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/stylize/stylize/bench"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/transfer"
)

// lossLog keeps the losses a run reports (stylize run -plot), by
// iteration over all scales.
type lossLog struct {
	iters []float64
	terms [plan.NumScalars][]float64 // total, content, style, tv, temporal
}

// add records one progress report.
func (l *lossLog) add(p transfer.Progress) {
	l.iters = append(l.iters, float64(p.Done))
	for i, v := range p.Loss {
		l.terms[i] = append(l.terms[i], float64(v))
	}
}

// plot draws the loss terms over the iterations to path (.png or .svg),
// on a log scale; a term that is zero throughout (no TV weight, say) is
// left out.
func (l *lossLog) plot(path, title string) error {
	if len(l.iters) == 0 {
		return fmt.Errorf("-plot %s: no losses were reported (-print-every 0?)", path)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = "loss"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	for i, name := range [plan.NumScalars]string{"total", "content", "style", "tv", "temporal"} {
		var xy plotter.XYs
		for k, v := range l.terms[i] {
			if v > 0 && !math.IsInf(v, 0) { // a log axis shows positive values only
				xy = append(xy, plotter.XY{X: l.iters[k], Y: v})
			}
		}
		if len(xy) == 0 {
			continue
		}
		line, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("-plot: %w", err)
		}
		line.Color = plotColors[i]
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(name, line)
	}
	p.Legend.Top = true
	return bench.SavePlot(p, 8*vg.Inch, 5*vg.Inch, path)
}

// plotColors tell the loss terms apart.
var plotColors = [plan.NumScalars]color.Color{
	color.RGBA{A: 255},
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 255},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 255},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 255},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 255},
}
