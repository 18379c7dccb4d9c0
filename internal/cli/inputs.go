package cli

import (
	"errors"
	"fmt"

	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/transfer"
)

// Inputs are the images a command line names, decoded.
type Inputs struct {
	Content imageio.Image
	Styles  []imageio.Image // at -style-size
	// Init is the start image's kind: content, random, style, or file
	// (InitImage, read from -init's path).
	Init      string
	InitImage *imageio.Image
}

// LoadInputs reads the content, the style images (resized to -style-size)
// and an -init image. Their headers are checked before anything is
// decoded. With hud, the errors are LoadImage's, which name the flag;
// else imageio's own.
func (s *Settings) LoadInputs(hud bool) (*Inputs, error) {
	load := func(flagName, path string) (imageio.Image, error) {
		if !hud {
			return imageio.Load(path, s.MaxPixels)
		}
		img, err := LoadImage(path, s.MaxPixels)
		if err != nil {
			return img, fmt.Errorf("-%s %s: %w", flagName, path, err)
		}
		return img, nil
	}
	in := &Inputs{Init: s.Init}
	var err error
	if in.Content, err = load("content", s.Content); err != nil {
		return nil, err
	}
	for _, p := range s.Styles {
		img, err := load("style", p)
		if err != nil {
			return nil, err
		}
		in.Styles = append(in.Styles, s.StyleAtSize(img))
	}
	switch s.Init {
	case "content", "random", "style":
	default:
		img, err := load("init", s.Init)
		if err != nil {
			return nil, err
		}
		in.Init, in.InitImage = "file", &img
	}
	return in, nil
}

// StyleAtSize is a style image resized to -style-size (unchanged when it
// is 0).
func (s *Settings) StyleAtSize(img imageio.Image) imageio.Image {
	if s.StyleSize <= 0 {
		return img
	}
	w, h := imageio.FitLongSide(img.W, img.H, s.StyleSize)
	return imageio.Resize(img, w, h)
}

// LoadImage reads an image, with the errors of a file that is too large
// or not an image worded for stylize-live's HUD.
func LoadImage(path string, maxPixels int) (imageio.Image, error) {
	img, err := imageio.Load(path, maxPixels)
	if err == nil {
		return img, nil
	}
	var tl *imageio.TooLargeError
	var uf *imageio.UnsupportedFormatError
	switch {
	case errors.As(err, &tl):
		return img, fmt.Errorf("too large: %dx%d is over the %d-pixel limit (-max-pixels)", tl.W, tl.H, tl.Max)
	case errors.As(err, &uf):
		return img, errors.New("not an image (or not PNG, JPEG, GIF, WebP, BMP, TIFF)")
	}
	return img, err
}

// ToTransfer is img as transfer's image type (the same planes).
func ToTransfer(img imageio.Image) transfer.Image {
	return transfer.Image{H: img.H, W: img.W, Pix: img.Pix}
}

// FromTransfer is img as imageio's image type (the same planes).
func FromTransfer(img transfer.Image) imageio.Image {
	return imageio.Image{H: img.H, W: img.W, Pix: img.Pix}
}
