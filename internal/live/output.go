package live

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/cli"
)

// finalImage reads the engine's image, in the content's colours when O is on.
func (a *App) finalImage() (imageio.Image, error) {
	x, err := a.s.image().Read()
	if err != nil {
		return imageio.Image{}, err
	}
	img := imageio.Image{H: a.s.h, W: a.s.w, Pix: x}
	if a.orig {
		return imageio.OriginalColors(cli.FromTransfer(a.s.c), img)
	}
	return img, nil
}

// snapshotName is OUT-YYYYMMDD-HHMMSS.ext beside out, made unique.
func snapshotName(out string, t time.Time) string {
	ext := filepath.Ext(out)
	stem := strings.TrimSuffix(out, ext)
	ts := t.Format("20060102-150405")
	name := fmt.Sprintf("%s-%s%s", stem, ts, ext)
	for i := 2; ; i++ {
		if _, err := os.Stat(name); os.IsNotExist(err) {
			return name
		}
		name = fmt.Sprintf("%s-%s-%d%s", stem, ts, i, ext)
	}
}

// saved reports a written image as a JSON line on stdout.
func (a *App) saved(path string, iter int) {
	fmt.Fprintf(a.stdout, "{\"event\":\"saved\",\"path\":%q,\"iter\":%d}\n", path, iter)
}

// snapshot writes the image as it is now beside -out (S).
func (a *App) snapshot() error {
	img, err := a.finalImage()
	if err != nil {
		return err
	}
	name := snapshotName(a.cfg.Out, time.Now())
	if err := imageio.Save(name, img, a.cfg.OutDepth); err != nil {
		a.setMessage(textBad, "save: %v", err)
		return nil
	}
	a.snapshots = append(a.snapshots, name)
	a.setMessage(textWhite, "saved %s", filepath.Base(name))
	a.saved(name, a.run.completed)
	return nil
}

// periodic writes the -save-every images and the -print-every reports
// for the iterations that finished since the last call.
func (a *App) periodic(before int) error {
	now := a.run.completed
	if n := a.cfg.SaveEvery; n > 0 && now/n > before/n {
		// shouldSubmit queued nothing behind this multiple: the image read
		// is that of iteration now.
		a.savedAt = now
		img, err := a.finalImage()
		if err != nil {
			return err
		}
		name := cli.NumberedName(a.cfg.Out, now)
		if err := imageio.Save(name, img, a.cfg.OutDepth); err != nil {
			a.setMessage(textBad, "save: %v", err)
		} else {
			a.saved(name, now)
		}
	}
	if n := a.cfg.PrintEvery; n > 0 && a.run.haveLoss && now/n > before/n {
		l, it := a.run.losses, a.run.itPerSec(time.Now())
		if a.cfg.JSON {
			fmt.Fprintf(a.stdout, "{\"event\":\"progress\",\"iter\":%d,\"loss_iter\":%d,\"loss\":%g,\"content\":%g,\"style\":%g,\"tv\":%g,\"it_per_s\":%g}\n",
				now, a.run.lossIter, l[0], l[1], l[2], l[3], it)
		} else {
			fmt.Fprintf(a.stderr, "it %d  %.2f it/s  loss %.4g (content %.3g style %.3g tv %.3g)\n", now, it, l[0], l[1], l[2], l[3])
		}
	}
	return nil
}

// saveOut writes the image to -out, after the iterations in flight.
func (a *App) saveOut() error {
	if err := a.run.drain(); err != nil {
		return err
	}
	img, err := a.finalImage()
	if err != nil {
		return err
	}
	if err := imageio.Save(a.cfg.Out, img, a.cfg.OutDepth); err != nil {
		return err
	}
	a.savedOut = true
	return nil
}

// summary prints the run's throughput as one JSON line on stdout.
func (a *App) summary() {
	end := a.run.lastDone
	secs := 0.0
	if !a.firstSub.IsZero() && end.After(a.firstSub) {
		secs = end.Sub(a.firstSub).Seconds()
	}
	frames := 0
	for _, t := range a.frameLog {
		if !a.firstSub.IsZero() && !t.Before(a.firstSub) && !t.After(end) {
			frames++
		}
	}
	gpuSec, _ := a.disp.Cost()
	v := map[string]any{"event": "done", "path": a.cfg.Out, "iters": a.run.total, "seconds": secs,
		"frames": a.frameCount, "interrupted": a.interrupted, "gpu": a.s.d.Info.Name,
		"iter_ms": a.run.tIt * 1000, "draw_gpu_ms": gpuSec * 1000}
	if secs > 0 {
		v["it_per_sec"] = float64(a.run.total) / secs
		v["fps"] = float64(frames) / secs
	}
	b, _ := json.Marshal(v)
	fmt.Fprintln(a.stdout, string(b))
}
