package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Video files go through Debian's ffmpeg (make deps installs it): its
// frames are extracted into a directory beside the output, which a rerun
// reuses, and the stylised frames are encoded into the output file, which
// appears only when it is complete.

// videoExts are the output names that mean a video file, not a directory.
var videoExts = map[string]bool{".mp4": true, ".mkv": true, ".mov": true, ".webm": true, ".avi": true}

// isVideoFile reports whether path names a video file to write.
func isVideoFile(path string) bool { return videoExts[strings.ToLower(filepath.Ext(path))] }

// needFFmpeg returns ffmpeg's path, or an error that says what to install.
func needFFmpeg(what string) (string, error) {
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		return "", fmt.Errorf("%s needs ffmpeg, which is not installed: apt-get install ffmpeg (make deps does); a directory of frames (.png) works without it", what)
	}
	return p, nil
}

// extractFrames decodes the video file in into dir/%06d.png (once: a
// directory that holds frames already is kept) and returns its frame rate
// as ffmpeg writes it (for example "30000/1001").
func extractFrames(in, dir string) (rate string, err error) {
	ff, err := needFFmpeg("-in " + in)
	if err != nil {
		return "", err
	}
	rate = "25"
	if probe, err := exec.LookPath("ffprobe"); err == nil {
		out, err := exec.Command(probe, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=r_frame_rate", "-of", "csv=p=0", in).Output()
		if err != nil {
			return "", fmt.Errorf("-in %s: not a video ffprobe can read: %w", in, err)
		}
		if r := strings.TrimSpace(string(out)); r != "" && r != "0/0" {
			rate = r
		}
	}
	if done, _ := filepath.Glob(filepath.Join(dir, "*.png")); len(done) > 0 {
		if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
			return rate, nil
		}
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(ff, "-v", "error", "-y", "-i", in, "-vsync", "0", filepath.Join(dir, "%06d.png"))
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("-in %s: ffmpeg could not decode it: %v: %s", in, err, strings.TrimSpace(stderr.String()))
	}
	if done, _ := filepath.Glob(filepath.Join(dir, "*.png")); len(done) == 0 {
		return "", fmt.Errorf("-in %s: the video has no frames", in)
	}
	return rate, os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o666)
}

// encodeFrames encodes dir/frame_%05d.png at rate into out, through a
// temporary file beside it renamed over it when ffmpeg has finished.
func encodeFrames(dir, rate, out string) error {
	ff, err := needFFmpeg("-out " + out)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(out), ".stylize-"+filepath.Base(out))
	args := []string{"-v", "error", "-y", "-framerate", rate, "-i", filepath.Join(dir, "frame_%05d.png")}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".mp4", ".mov", ".mkv", ".avi":
		args = append(args, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(ff, append(args, tmp)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("-out %s: ffmpeg could not encode the frames: %v: %s", out, err, strings.TrimSpace(stderr.String()))
	}
	return os.Rename(tmp, out)
}
