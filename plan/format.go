package plan

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/vgg"
)

// Format writes the plan for a person to read: the adapter's limits, each
// trunk's layers with their kernel plans and fusions, the losses, every
// buffer with its size and lifetime, and the memory of each stage and at
// the peak. `stylize run -dry-run` prints it.
func (p *Plan) Format(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	l := p.Limits
	fmt.Fprintf(tw, "plan: content %s, %d style image(s), deepest layer %s, optimiser %s\n",
		p.Content, len(p.Styles), vgg.Table[p.Deepest].Name, optimiser(p.Request))
	fmt.Fprintf(tw, "adapter: %s\n", l.Adapter)
	fmt.Fprintf(tw, "limits: binding %s, buffer %s, workgroup memory %d KiB, %d invocations, %d storage buffers per stage, %d workgroups to fill the GPU\n",
		mib(l.MaxBinding), mib(l.MaxBuffer), l.Tile.SharedBytes>>10, l.Tile.Invocations, l.StorageBuffers, l.Tile.MinTiles)
	fmt.Fprintf(tw, "kernels: %s (direct: the implicit GEMM; winograd: F(2x2,3x3), its 16 GEMMs' tile)\n", p.kernels().Name())

	if p.Tiled() {
		_, halo, align, _ := Halo(vgg.Table[p.Deepest].Name)
		t := p.Tiles[0]
		fmt.Fprintf(tw, "tiling: %d tiles of core %d px, each run on a %dx%d crop (a halo of %d px, origins on multiples of %d); the content and iteration trunks run at the crop's size\n",
			len(p.Tiles), p.Request.Tile/align*align+map[bool]int{true: align}[p.Request.Tile%align != 0], t.Crop.W(), t.Crop.H(), halo, align)
	}
	fmt.Fprintf(tw, "\niteration trunk, %s, with its backward pass:\n", SizeOf(p.Iterate))
	fmt.Fprintf(tw, "  layer\toutput\tactivation\tforward\tbackward_input\tReLU mask of dy\tadds the loss gradients of\n")
	for i, lp := range p.Iterate.Layers {
		t := vgg.Table[i]
		fwd, bwd, fused, mask := "", "", "-", "-"
		if t.Pool {
			fwd, bwd = "2x2 pool", "2x2 pool"
		} else {
			fwd, bwd, mask = convPlan(lp.Forward), convPlan(lp.Backward), "on read"
			if lp.MaskedGrad {
				mask = "on write"
			}
		}
		if lp.FuseContent || lp.FuseStyle {
			fused = fmt.Sprintf("%s (%s)", vgg.Table[i-1].Name, terms(lp.FuseContent, lp.FuseStyle))
		}
		fmt.Fprintf(tw, "  %s\t%dx%dx%d\t%s\t%s\t%s\t%s\t%s\n", t.Name, lp.C, lp.H, lp.W, activation(p.Iterate, i), fwd, bwd, mask, fused)
	}
	forward := func(name string, tp vgg.TrunkPlan) {
		fmt.Fprintf(tw, "\n%s, %s, forward only:\n", name, SizeOf(tp))
		same := len(tp.Layers) == len(p.Iterate.Layers)
		for i := range tp.Layers {
			same = same && tp.Layers[i].Forward == p.Iterate.Layers[i].Forward && tp.Layers[i].H == p.Iterate.Layers[i].H && tp.Layers[i].W == p.Iterate.Layers[i].W
		}
		if same {
			var kept []string
			for i, lp := range tp.Layers {
				if !lp.Transient {
					kept = append(kept, vgg.Table[i].Name)
				}
			}
			shared := "; the others take turns in two shared buffers"
			if len(kept) == len(tp.Layers) {
				shared = ""
			}
			fmt.Fprintf(tw, "  the iteration trunk's forward plans; it keeps %s%s\n", strings.Join(kept, ", "), shared)
			return
		}
		fmt.Fprintf(tw, "  layer\toutput\tactivation\tforward\n")
		for i, lp := range tp.Layers {
			fwd := "2x2 pool"
			if !vgg.Table[i].Pool {
				fwd = convPlan(lp.Forward)
			}
			fmt.Fprintf(tw, "  %s\t%dx%dx%d\t%s\t%s\n", vgg.Table[i].Name, lp.C, lp.H, lp.W, activation(tp, i), fwd)
		}
	}
	forward("content trunk", p.ContentTrunk)
	for j, tp := range p.StyleTrunks {
		forward(fmt.Sprintf("style %d trunk", j+1), tp)
	}

	fmt.Fprintf(tw, "\nlosses:\n")
	for _, c := range p.ContentLosses {
		fmt.Fprintf(tw, "  content\t%s\tgradient %s\n", c.Layer, gradient(c))
	}
	for l, s := range p.StyleLosses {
		grams := []string{"iteration " + gramPlan(s.Style.Gram)}
		for j := range p.TargetGrams {
			grams = append(grams, fmt.Sprintf("style %d %s", j+1, gramPlan(p.TargetGrams[j][l])))
		}
		fmt.Fprintf(tw, "  style\t%s\tgradient %s; Gram %s\n", s.Layer, gradient(s), strings.Join(grams, ", "))
	}
	if p.TV {
		fmt.Fprintf(tw, "  tv\timage\tgradient in its own pass\n")
	}

	fmt.Fprintf(tw, "\nbuffers (made at the start of the first stage, freed at the end of the last):\n")
	fmt.Fprintf(tw, "  buffer\tshape\tsize\tstages\towner\n")
	for _, b := range p.Buffers {
		stages := p.Stages[b.First]
		if b.Last != b.First {
			stages += ".." + p.Stages[b.Last]
		}
		kind := b.DType.String()
		if b.Readback {
			kind = "map-read"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\t%s\t%s\t%s\n", b.Name, kind, shape(b.Shape), size(b.Bytes()), stages, b.Owner)
	}
	fmt.Fprintf(tw, "\nmemory:\n")
	for s, name := range p.Stages {
		fmt.Fprintf(tw, "  stage %s\t%s\n", name, size(p.StageBytes(s)))
	}
	peak, at := p.Peak()
	fmt.Fprintf(tw, "  weights\t%s\n", size(p.WeightBytes))
	fmt.Fprintf(tw, "predicted peak GPU memory: %s (%d bytes: %s in stage %s, plus the weights)\n",
		size(peak+p.WeightBytes), peak+p.WeightBytes, size(peak), p.Stages[at])
	return tw.Flush()
}

// SizeOf is a trunk plan's image size.
func SizeOf(tp vgg.TrunkPlan) Size { return Size{W: tp.W, H: tp.H} }

func optimiser(r Request) string {
	if r.Optimizer == "lbfgs" {
		return fmt.Sprintf("L-BFGS (history %d)", r.History)
	}
	return "Adam"
}

func terms(content, style bool) string {
	switch {
	case content && style:
		return "content, style"
	case content:
		return "content"
	}
	return "style"
}

func gradient(l Loss) string {
	if l.Fused {
		return fmt.Sprintf("fused into %s's backward", vgg.Table[l.Pos+1].Name)
	}
	return "in its own pass"
}

func convPlan(c ops.ConvPlan) string {
	switch {
	case c.Algo == ops.Winograd2:
		return fmt.Sprintf("winograd %v", c.Tile)
	case c.Algo == ops.Winograd4:
		return fmt.Sprintf("winograd4 %v", c.Tile)
	case c.Split <= 1:
		return fmt.Sprintf("direct %v", c.Tile)
	}
	return fmt.Sprintf("direct %v, split-K %dx%d", c.Tile, c.Split, c.Chunk)
}

func gramPlan(g ops.GramPlan) string {
	if g.Split <= 1 {
		return g.Tile.String()
	}
	return fmt.Sprintf("%v split-K %dx%d", g.Tile, g.Split, g.Chunk)
}

func shape(s []int) string {
	p := make([]string, len(s))
	for i, v := range s {
		p[i] = fmt.Sprint(v)
	}
	return "(" + strings.Join(p, ",") + ")"
}

// size renders bytes in the largest binary unit that keeps a whole part.
func size(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func mib(n uint64) string { return fmt.Sprintf("%d MiB", n>>20) }

// activation says where layer i's activation lives: its own buffer
// ("kept"), or, transient, the shared buffer it takes turns in.
func activation(tp vgg.TrunkPlan, i int) string {
	if !tp.Layers[i].Transient {
		return "kept"
	}
	return tp.ActivationBuffer(i)
}
