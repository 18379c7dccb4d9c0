package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/video"
)

// VideoCommand is stylize video's command line: the shared flags, the
// clip's frames in and out, and the temporal loss's.
type VideoCommand struct {
	*RunFlags
	In, OutDir       string
	Iters, ItersNext int
	TemporalWeight   float64
}

const videoUsage = `Usage: stylize video -in FRAMES -style IMG -out DIR [flags]

Temporally consistent style transfer of a clip (Ruder, Dosovitskiy & Brox,
GCPR 2016). FRAMES is a directory of frames (.png or .jpg, in name order,
all of one size); DIR receives frame_00001.png, ... as each is finished.
Each frame after the first starts from the previous result warped by the
optical flow between the frames, and is held to it by the temporal loss
where the flow is consistent. Run again with the same flags, it continues
from the last finished frame. Reading and writing video files with ffmpeg
is not supported yet: extract the frames first, e.g.
  ffmpeg -i clip.mp4 frames/%05d.png

Flags:
`

// NewVideoCommand registers stylize video's flags on fs, and its help.
func NewVideoCommand(fs *flag.FlagSet) *VideoCommand {
	c := &VideoCommand{RunFlags: Register(fs, Command{Name: "stylize video", PrintEvery: 0, Frames: true,
		Usage: map[string]string{"out": "the directory the stylised frames go to (made if missing)",
			"content": "unused: the frames are the content (-in)"}})}
	fs.StringVar(&c.In, "in", "", "the clip: a directory of frames (.png, .jpg), in name order")
	fs.IntVar(&c.Iters, "iters", 300, "iterations of the first frame")
	fs.IntVar(&c.ItersNext, "iters-next", 100, "iterations of each later frame (they start from the warped previous result)")
	fs.Float64Var(&c.TemporalWeight, "temporal-weight", 1e9, "weight of the temporal loss (0: independent frames)")
	fs.Usage = func() { io.WriteString(fs.Output(), videoUsage); fs.PrintDefaults() }
	return c
}

// VideoJob is a checked stylize video command line.
type VideoJob struct {
	*Settings
	c      *VideoCommand
	frames []string
	w, h   int
}

// Resolve checks the command line and the frames (their list, one size)
// and the output directory, before any GPU work.
func (c *VideoCommand) Resolve(fs *flag.FlagSet) (*VideoJob, error) {
	if c.In == "" {
		return nil, errors.New("no -in frames (see stylize video -h)")
	}
	s, err := c.RunFlags.Resolve(fs)
	if err != nil {
		return nil, err
	}
	if c.Iters < 1 || c.ItersNext < 1 {
		return nil, fmt.Errorf("-iters and -iters-next must be >= 1, got %d and %d", c.Iters, c.ItersNext)
	}
	if err := finiteNonNeg("temporal-weight", c.TemporalWeight); err != nil {
		return nil, err
	}
	j := &VideoJob{Settings: s, c: c}
	st, err := os.Stat(c.In)
	switch {
	case err != nil:
		return nil, fmt.Errorf("-in %s: %w", c.In, err)
	case !st.IsDir():
		return nil, fmt.Errorf("-in %s is a file: reading video files (ffmpeg) is not supported yet; extract its frames into a directory (ffmpeg -i %s DIR/%%05d.png) and give -in DIR", c.In, c.In)
	}
	ents, err := os.ReadDir(c.In)
	if err != nil {
		return nil, fmt.Errorf("-in %s: %w", c.In, err)
	}
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			j.frames = append(j.frames, filepath.Join(c.In, e.Name()))
		}
	}
	slices.Sort(j.frames)
	if len(j.frames) == 0 {
		return nil, fmt.Errorf("-in %s holds no frames (.png, .jpg)", c.In)
	}
	// Every frame's header: one size (decoding the pixels waits for each).
	for i, p := range j.frames {
		fw, fh, err := imageio.Size(p, s.MaxPixels)
		if err != nil {
			return nil, fmt.Errorf("frame %s: %w", p, err)
		}
		if i == 0 {
			j.w, j.h = fw, fh
		} else if fw != j.w || fh != j.h {
			return nil, fmt.Errorf("frame %s is %dx%d, the first %dx%d: a clip's frames must have one size", p, fw, fh, j.w, j.h)
		}
	}
	if s.Out == "" || s.Out == "out.png" {
		return nil, errors.New("no -out directory for the frames (see stylize video -h)")
	}
	if err := os.MkdirAll(s.Out, 0o777); err != nil {
		return nil, fmt.Errorf("-out %s: %w", s.Out, err)
	}
	tmp, err := os.CreateTemp(s.Out, ".stylize-check-*")
	if err != nil {
		return nil, fmt.Errorf("-out %s cannot be written: %w", s.Out, err)
	}
	tmp.Close()
	os.Remove(tmp.Name())
	return j, nil
}

// frameSource reads the frames at the run's size as they are needed.
type frameSource struct {
	j    *VideoJob
	w, h int
}

func (f frameSource) Len() int { return len(f.j.frames) }

func (f frameSource) Frame(i int) (transfer.Image, error) {
	img, err := imageio.Load(f.j.frames[i], f.j.MaxPixels)
	if err != nil {
		return transfer.Image{}, err
	}
	return ToTransfer(imageio.Resize(img, f.w, f.h)), nil
}

// frameSink writes frame_00001.png, ... atomically into -out, and reads
// back those an earlier run wrote.
type frameSink struct {
	dir  string
	w, h int
}

func (s frameSink) name(i int) string {
	return filepath.Join(s.dir, fmt.Sprintf("frame_%05d.png", i+1))
}

func (s frameSink) Done(i int) (transfer.Image, bool, error) {
	img, err := imageio.Load(s.name(i), 0)
	if errors.Is(err, os.ErrNotExist) {
		return transfer.Image{}, false, nil
	}
	if err != nil {
		return transfer.Image{}, false, fmt.Errorf("an earlier run's %s: %w (remove it to redo the frame)", s.name(i), err)
	}
	if img.W != s.w || img.H != s.h {
		return transfer.Image{}, false, fmt.Errorf("an earlier run's %s is %dx%d, not %dx%d: other flags? (remove it to redo the frame)", s.name(i), img.W, img.H, s.w, s.h)
	}
	return ToTransfer(img), true, nil
}

func (s frameSink) Write(i int, img transfer.Image) error {
	return imageio.Save(s.name(i), FromTransfer(img), 8)
}

// Run stylises the clip, writing each frame as it is finished. Ctrl-C
// stops it between iterations, keeping the frames written (it returns
// ErrInterrupted); running it again continues from there.
func (j *VideoJob) Run(ctx context.Context, stdout, stderr io.Writer) error {
	var styles []transfer.Image
	for _, p := range j.Styles {
		img, err := imageio.Load(p, j.MaxPixels)
		if err != nil {
			return err
		}
		styles = append(styles, ToTransfer(j.StyleAtSize(img)))
	}
	w, h := j.w, j.h
	if j.Size > 0 {
		w, h = imageio.FitLongSide(j.w, j.h, j.Size)
	}
	weights, err := LoadWeights(j.Weights, nil, stderr)
	if err != nil {
		return err
	}
	pre, preMode, err := j.Preprocessing(weights)
	if err != nil {
		return err
	}
	budget, err := j.MaxMemoryBytes()
	if err != nil {
		return err
	}
	d, err := gpu.Open(gpu.Options{Adapter: j.Device, MaxMemory: budget})
	if err != nil {
		return err
	}
	defer d.Close()
	k, _, err := LoadKernels(j.Kernels, d, stderr)
	if err != nil {
		return err
	}
	net, err := vgg.New(d, weights, j.Pooling, preMode)
	if err != nil {
		return err
	}
	defer net.Release()
	if !j.JSON {
		Describe(stderr, d, weights, pre)
	}
	cfg := j.Config
	cfg.Kernels = k
	cfg.TemporalWeight = j.c.TemporalWeight
	o := video.Options{Config: cfg, Iters: j.c.Iters, ItersNext: j.c.ItersNext}
	prog := newProgress(stdout, stderr, j.JSON)
	sink := frameSink{dir: j.Out, w: w, h: h}
	err = video.Run(ctx, net, styles, j.Blend, frameSource{j: j, w: w, h: h}, sink, o, func(r video.Report) {
		if j.JSON {
			prog.event(map[string]any{"event": "frame", "frame": r.Frame + 1, "frames": r.Frames, "path": sink.name(r.Frame),
				"resumed": r.Resumed, "iters": r.Iters, "loss": r.Loss[0], "content": r.Loss[1], "style": r.Loss[2],
				"tv": r.Loss[3], "temporal": r.Loss[4], "masked": r.Masked})
			return
		}
		if r.Resumed {
			prog.line(fmt.Sprintf("frame %d/%d: kept from an earlier run", r.Frame+1, r.Frames))
			return
		}
		prog.line(fmt.Sprintf("frame %d/%d: %d iterations, loss %.4g (content %.3g style %.3g temporal %.3g, %.1f%% of pixels unmasked by the flow check: %.1f%% masked)",
			r.Frame+1, r.Frames, r.Iters, r.Loss[0], r.Loss[1], r.Loss[2], r.Loss[4], 100-100*r.Masked, 100*r.Masked))
	})
	if err != nil && ctx.Err() != nil {
		return ErrInterrupted
	}
	return err
}
