package live

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stylize/stylize/plan"
)

// State is what a capture records beside the frame (NAME.json), for tests
// and for anyone scripting the window.
type State struct {
	Time           float64                  `json:"time"` // Unix seconds
	Iter           int                      `json:"iter"`
	Paused         bool                     `json:"paused"`
	Done           bool                     `json:"done"`
	Help           bool                     `json:"help"`
	OriginalColors bool                     `json:"original_colors"`
	Fullscreen     bool                     `json:"fullscreen"`
	ContentWeight  float64                  `json:"content_weight"`
	StyleWeight    float64                  `json:"style_weight"`
	TVWeight       float64                  `json:"tv_weight"`
	EngineLR       float64                  `json:"engine_lr"` // read from the engine's optimiser
	Losses         [plan.NumScalars]float32 `json:"losses"`    // total, content, style, tv, temporal
	LossIter       int                      `json:"loss_iter"`
	HaveLosses     bool                     `json:"have_losses"`
	StyleSel       int                      `json:"style_sel"`
	Styles         []string                 `json:"styles"`
	Content        string                   `json:"content"`
	ImageW         int                      `json:"image_w"`
	ImageH         int                      `json:"image_h"`
	Framebuffer    [2]int                   `json:"framebuffer"`
	ImageRect      Rect                     `json:"image_rect"`
	ImageArea      Rect                     `json:"image_area"`
	HUDRect        Rect                     `json:"hud_rect"`
	HelpRect       Rect                     `json:"help_rect"`
	ContentThumb   Rect                     `json:"content_thumb"`
	StyleThumbs    []Rect                   `json:"style_thumbs"`
	Zoom           float64                  `json:"zoom"`
	PanX           float64                  `json:"pan_x"`
	PanY           float64                  `json:"pan_y"`
	Message        string                   `json:"message"`
	BuildMS        float64                  `json:"build_ms"`
	Rebuilds       int                      `json:"rebuilds"`
	Changes        int                      `json:"changes"`  // settings applied in place
	ApplyMS        float64                  `json:"apply_ms"` // the last in-place change
	Pieces         int                      `json:"pieces"`   // an iteration goes to the GPU in this many pieces (0: whole)
	FPS            float64                  `json:"fps"`
	ItPerSec       float64                  `json:"it_per_sec"`
	IterMS         float64                  `json:"iter_ms"` // per iteration, from the batches' completions
	DrawGPUMS      float64                  `json:"draw_gpu_ms"`
	PresentMS      float64                  `json:"present_ms"` // CPU time in the swap chain's acquire and present
	Frames         int                      `json:"frames"`
	HUD            []string                 `json:"hud"`
	GPU            string                   `json:"gpu"`
	Snapshots      []string                 `json:"snapshots"`
}

func (a *App) state(now time.Time) State {
	s := a.s
	fps, _ := a.fps(now)
	gpuSec, cpuSec := a.disp.Cost()
	st := State{
		Time: float64(now.UnixNano()) / 1e9,
		Iter: a.run.completed, Paused: a.paused, Done: a.done, Help: a.help, OriginalColors: a.orig, Fullscreen: a.fullscreen,
		ContentWeight: s.cfg.ContentWeight, StyleWeight: s.cfg.StyleWeight, TVWeight: s.cfg.TVWeight, EngineLR: s.engineLR(),
		Losses: a.run.losses, LossIter: a.run.lossIter, HaveLosses: a.run.haveLoss,
		StyleSel: s.sel, Styles: append([]string(nil), s.stylePaths...), Content: s.contentPath,
		ImageW: s.w, ImageH: s.h, Framebuffer: [2]int{int(a.lay.FbW), int(a.lay.FbH)},
		ImageRect: a.view.lastRect, ImageArea: a.lay.Area, ContentThumb: a.lay.Content, StyleThumbs: a.lay.Styles,
		Zoom: a.view.zoom, PanX: a.view.panX, PanY: a.view.panY,
		Message: a.message, BuildMS: float64(s.last.Microseconds()) / 1000, Rebuilds: s.rebuilds,
		Changes: s.changes, ApplyMS: float64(s.applied.Microseconds()) / 1000,
		Pieces: map[bool]int{true: a.pieces()}[a.splitting()],
		FPS:    fps, ItPerSec: a.run.itPerSec(now), IterMS: a.run.tIt * 1000, DrawGPUMS: gpuSec * 1000, PresentMS: cpuSec * 1000,
		Frames: a.frameCount, GPU: s.d.Info.Name, Snapshots: append([]string(nil), a.snapshots...),
	}
	hud, help := a.disp.Rects()
	st.HUDRect = hud
	if a.help {
		st.HelpRect = help
	}
	if math.IsNaN(st.EngineLR) {
		st.EngineLR = -1
	}
	for _, l := range a.hudLines {
		st.HUD = append(st.HUD, l.Text)
	}
	return st
}

// capture draws the current state (to the window and, with the same
// commands, offscreen), reads the frame back and writes NAME.png with
// NAME.json, NAME.image.f32 and NAME.content.f32 beside it. Pending
// changes are applied and the GPU drained first, so that the frame, the
// state and the engine's image agree.
func (a *App) capture(name string) error {
	if !filepath.IsAbs(name) && a.cfg.CaptureDir != "" {
		name = filepath.Join(a.cfg.CaptureDir, name)
	}
	if err := a.settle(); err != nil {
		return err
	}
	if err := a.syncSize(); err != nil {
		return err
	}
	if err := a.run.drain(); err != nil {
		return err
	}
	now := time.Now()
	a.updateHUD(now, true)
	img, err := a.disp.Capture(a.scene())
	if err != nil {
		return err
	}
	a.presented(now)
	a.dirty, a.imageDirty = false, false
	x, err := a.s.image().Read()
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(name, filepath.Ext(name))
	if err := writeFile(name, func(fl *os.File) error { return png.Encode(fl, img) }); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(a.state(now), "", "  ")
	if err := os.WriteFile(base+".json", js, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".image.f32", f32raw(x), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".content.f32", f32raw(a.s.c.Pix), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "{\"event\":\"capture\",\"path\":%q,\"iter\":%d}\n", name, a.run.completed)
	return nil
}

func writeFile(name string, enc func(*os.File) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := enc(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func f32raw(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
