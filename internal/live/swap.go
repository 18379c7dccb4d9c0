package live

import (
	"fmt"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/cli"
	"github.com/stylize/stylize/transfer"
)

// swapContent makes img the content: the run's size follows its aspect,
// and the current image and Adam's moments are resized to it (as
// transfer.Run carries them between scales). The GPU must be idle. On
// error the session is as it was.
func (s *Session) swapContent(path string, img imageio.Image) error {
	t0 := time.Now()
	old := s.e
	oldW, oldH := s.w, s.h
	x, err := old.X.Read()
	if err != nil {
		return err
	}
	var m, v, st []float32
	if old.Adam != nil {
		for _, r := range []struct {
			b *gpu.Buffer
			p *[]float32
		}{{old.Adam.M, &m}, {old.Adam.V, &v}, {old.Adam.State, &st}} {
			if *r.p, err = r.b.Read(); err != nil {
				return err
			}
		}
	}
	prev := *s
	if err := s.setContent(img); err != nil {
		*s = prev
		return err
	}
	resize := func(p []float32) []float32 {
		return imageio.Resize(imageio.Image{H: oldH, W: oldW, Pix: p}, s.w, s.h).Pix
	}
	xr := transfer.Image{H: s.h, W: s.w, Pix: resize(x)}
	for i, p := range xr.Pix { // the resampling kernel overshoots a little
		xr.Pix[i] = min(max(p, 0), 1)
	}
	e, err := s.newEngine(xr)
	if err != nil {
		*s = prev
		return err
	}
	err = s.install(e, t0, func() error {
		if e.Adam == nil || m == nil {
			return nil
		}
		vr := resize(v)
		for i, p := range vr {
			vr[i] = max(p, 0)
		}
		for _, wr := range []struct {
			b *gpu.Buffer
			p []float32
		}{{e.Adam.M, resize(m)}, {e.Adam.V, vr}, {e.Adam.State, st}} {
			if err := wr.b.Write(wr.p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		*s = prev
		return err
	}
	s.contentPath = path
	return nil
}

// swapStyle replaces style j (0-based), resized to -style-size: in place
// with Adam (its Grams are recomputed), by a rebuild with L-BFGS. The GPU
// must be idle. On error the style stays.
func (s *Session) swapStyle(j int, path string, img imageio.Image) error {
	if j < 0 || j >= len(s.styles) {
		return fmt.Errorf("no style %d", j+1)
	}
	img = s.set.StyleAtSize(img)
	styles := append([]imageio.Image(nil), s.styles...)
	styles[j] = img
	if err := s.fits(s.w, s.h, styles); err != nil {
		return err
	}
	oldImg, oldPath := s.styles[j], s.stylePaths[j]
	s.styles[j], s.stylePaths[j] = img, path
	var err error
	if s.inPlace() {
		t0 := time.Now()
		if err = s.e.SetStyle(j, cli.ToTransfer(img)); err == nil {
			s.changes++
			s.applied = time.Since(t0)
		}
	} else {
		err = s.rebuild()
	}
	if err != nil {
		s.styles[j], s.stylePaths[j] = oldImg, oldPath
	}
	return err
}
