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
	"strconv"
	"strings"

	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/video"
)

// VideoCommand is stylize video's command line: the shared flags, the
// clip's frames in and out, and the temporal loss's.
type VideoCommand struct {
	*RunFlags
	In               string
	Iters, ItersNext int
	TemporalWeight   float64
	TemporalFrames   string
	FPS              string

	back []int // TemporalFrames, parsed
}

const videoUsage = `Usage: stylize video -in CLIP -style IMG -out OUT [flags]

Temporally consistent style transfer of a clip (Ruder, Dosovitskiy & Brox,
GCPR 2016). CLIP is a video file (read with ffmpeg) or a directory of
frames (.png or .jpg, in name order, all of one size). OUT is a video file
(.mp4, .mkv, .mov, .webm, .avi; written with ffmpeg when every frame is
done) or a directory, which receives frame_00001.png, ... as each frame is
finished (a video file's frames go to OUT.work/). Each frame after the
first starts from the previous result warped by the optical flow between
the frames, and is held to it by the temporal loss, where the flow is
consistent (-temporal-frames adds frames further back: the long-term
loss). Run again with the same flags, it continues from the last
finished frame. Without ffmpeg (apt-get install ffmpeg), directories of
frames work.

Flags:
`

// NewVideoCommand registers stylize video's flags on fs, and its help.
func NewVideoCommand(fs *flag.FlagSet) *VideoCommand {
	c := &VideoCommand{RunFlags: Register(fs, Command{Name: "stylize video", PrintEvery: 0, Frames: true,
		Usage: map[string]string{"out": "the directory the stylised frames go to (made if missing)",
			"content":     "unused: the frames are the content (-in)",
			"print-every": "also report the losses every N iterations of a frame, each a readback that waits for the GPU (0: once per frame; a terminal's bar shows every iteration)"}})}
	fs.StringVar(&c.In, "in", "", "the clip: a directory of frames (.png, .jpg), in name order")
	fs.IntVar(&c.Iters, "iters", 300, "iterations of the first frame")
	fs.IntVar(&c.ItersNext, "iters-next", 100, "iterations of each later frame (they start from the warped previous result)")
	fs.Float64Var(&c.TemporalWeight, "temporal-weight", 1e9, "weight of the temporal loss (0: independent frames)")
	fs.StringVar(&c.TemporalFrames, "temporal-frames", "1", "the earlier frames, counted back from each frame, whose results the temporal loss holds it to where the flow is consistent, nearest first: 1 is Ruder et al.'s short-term loss, 1,10,20,40 their long-term one")
	fs.StringVar(&c.FPS, "fps", "25", "frame rate of a video -out made from a directory of frames (a video -in keeps its own)")
	fs.Usage = func() { io.WriteString(fs.Output(), videoUsage); fs.PrintDefaults() }
	return c
}

// VideoJob is a checked stylize video command line.
type VideoJob struct {
	*Settings
	c        *VideoCommand
	frames   []string
	w, h     int
	frameDir string // where the stylised frames go
	video    string // the video file to encode them into, if any
	rate     string // its frame rate
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
	c.back = nil
	for _, f := range strings.Split(c.TemporalFrames, ",") {
		j, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("-temporal-frames %q: %q is not a whole number of frames", c.TemporalFrames, f)
		}
		c.back = append(c.back, j)
	}
	if err := video.CheckBack(c.back); err != nil {
		return nil, fmt.Errorf("-temporal-frames %s: want frames back, 1 or more, nearest first, each once, such as 1,10,20,40", c.TemporalFrames)
	}
	j := &VideoJob{Settings: s, c: c, frameDir: s.Out, rate: c.FPS}
	if s.Out == "" || s.Out == "out.png" {
		return nil, errors.New("no -out directory or video file (see stylize video -h)")
	}
	work := filepath.Join(s.Out, ".input")
	if isVideoFile(s.Out) {
		if _, err := needFFmpeg("-out " + s.Out); err != nil {
			return nil, err
		}
		if st, err := os.Stat(filepath.Dir(s.Out)); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("-out %s: its directory does not exist", s.Out)
		}
		j.video, work = s.Out, s.Out+".work"
		j.frameDir = filepath.Join(work, "styled")
	}
	st, err := os.Stat(c.In)
	switch {
	case err != nil:
		return nil, fmt.Errorf("-in %s: %w", c.In, err)
	case !st.IsDir():
		dir := filepath.Join(work, "input")
		if j.rate, err = extractFrames(c.In, dir); err != nil {
			return nil, err
		}
		c.In = dir
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
	if err := os.MkdirAll(j.frameDir, 0o777); err != nil {
		return nil, fmt.Errorf("-out %s: %w", s.Out, err)
	}
	tmp, err := os.CreateTemp(j.frameDir, ".stylize-check-*")
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
	op, err := j.Open(stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	net, err := vgg.New(op.D, op.Weights, j.Pooling, op.PreMode)
	if err != nil {
		return err
	}
	defer net.Release()
	if !j.JSON {
		Describe(stderr, op.D, op.Weights, op.Pre)
	}
	cfg := j.Config
	cfg.Kernels = op.Kernels
	cfg.TemporalWeight = j.c.TemporalWeight
	prog := newProgress(stdout, stderr, j.JSON)
	clip := newClipProgress(prog, len(j.frames), j.c.Iters, j.c.ItersNext)
	o := video.Options{Config: cfg, Iters: j.c.Iters, ItersNext: j.c.ItersNext, Iteration: clip.iteration, LossEvery: j.PrintEvery, Back: j.c.back}
	sink := frameSink{dir: j.frameDir, w: w, h: h}
	err = video.Run(ctx, net, styles, j.Blend, frameSource{j: j, w: w, h: h}, sink, o, func(r video.Report) {
		clip.frame(r, sink.name(r.Frame))
	})
	prog.done()
	if err != nil && ctx.Err() != nil {
		return ErrInterrupted
	}
	if err != nil || j.video == "" {
		return err
	}
	if err := encodeFrames(j.frameDir, j.rate, j.video); err != nil {
		return err
	}
	if j.JSON {
		prog.event(map[string]any{"event": "saved", "path": j.video, "frames": len(j.frames), "fps": j.rate})
	} else {
		prog.line(fmt.Sprintf("wrote %s (%d frames at %s fps; the frames are in %s)", j.video, len(j.frames), j.rate, j.frameDir))
	}
	return nil
}
