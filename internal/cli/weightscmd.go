package cli

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/stylize/stylize/weights"
)

const weightsUsage = `Usage: stylize weights <command> [flags] [args]

Downloads, inspects and converts VGG19 weights.

Commands:
  fetch [NAME]                 download known weights into the cache (default vgg19-keras)
  info FILE                    layers, shapes, value ranges, preprocessing and checksums
  convert IN OUT.safetensors   write weights as the project's safetensors (convs only)
  list                         the known weights, their URLs, and whether they are cached

Examples:
  stylize weights fetch
  stylize weights fetch vgg19-torch
  stylize weights info ~/.cache/stylize/weights/vgg19-dcbb9e9d.pth
  stylize weights convert vgg19-dcbb9e9d.pth vgg19-torch.safetensors

Run 'stylize weights <command> -h' for a command's flags.
Environment: STYLIZE_CACHE is the cache directory (default: the user cache
directory's stylize/weights); STYLIZE_WEIGHTS_BASEURL is a mirror that
serves the files under their own names (it replaces everything before the
file name in the official URLs).
`

// fetchRegistry, when not nil, replaces the built-in list of known files
// for 'weights fetch' (tests serve fake files under fake checksums).
var fetchRegistry []weights.Known

// Weights runs 'stylize weights ARGS', writing results to stdout and
// progress, usage and warnings to stderr.
func Weights(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, weightsUsage)
		return errors.New("weights: no command given")
	}
	switch args[0] {
	case "fetch":
		return weightsFetch(args[1:], stdout, stderr)
	case "info":
		return weightsInfo(args[1:], stdout, stderr)
	case "convert":
		return weightsConvert(args[1:], stdout, stderr)
	case "list":
		return weightsList(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, weightsUsage)
		return flag.ErrHelp
	}
	return fmt.Errorf("weights: unknown command %q (want fetch, info, convert or list; see 'stylize weights -h')", args[0])
}

// weightsFlags makes a subcommand's flag set with its usage text.
func weightsFlags(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("weights "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: stylize weights %s\n\n%s\n", synopsis, about)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

func weightsFetch(args []string, stdout, stderr io.Writer) error {
	fs := weightsFlags("fetch", "fetch [-q] [NAME]", `Downloads known VGG19 weights into the cache, resuming a download that
stopped, checks them against the published checksum and prints their path.
A file already in the cache and verified is not downloaded again. NAME is
one of `+strings.Join(weights.KnownNames(), ", ")+` (default vgg19-keras;
see 'stylize weights list').

Examples:
  stylize weights fetch
  stylize weights fetch vgg19-caffe
  STYLIZE_WEIGHTS_BASEURL=http://mirror.local/models stylize weights fetch vgg19-torch`, stderr)
	quiet := fs.Bool("q", false, "print no progress, only the path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	name := "vgg19-keras"
	switch fs.NArg() {
	case 0:
	case 1:
		name = fs.Arg(0)
	default:
		return fmt.Errorf("weights fetch: one NAME at most, got %q", fs.Args())
	}
	opts := weights.FetchOptions{Progress: stderr, Registry: fetchRegistry}
	if *quiet {
		opts.Progress = nil
	}
	// Ctrl-C stops the download cleanly, keeping the .part for next time.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	p, err := weights.Fetch(ctx, name, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, p)
	return nil
}

// fileSums returns a file's size, SHA-256 and MD5, read once.
func fileSums(path string) (size int64, sha, md string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", "", err
	}
	defer f.Close()
	hs, hm := sha256.New(), md5.New()
	size, err = io.Copy(io.MultiWriter(hs, hm), f)
	if err != nil {
		return 0, "", "", err
	}
	return size, hex.EncodeToString(hs.Sum(nil)), hex.EncodeToString(hm.Sum(nil)), nil
}

// knownAs names the known file with these checksums, if any.
func knownAs(sha, md string) string {
	for _, name := range weights.KnownNames() {
		k, _ := weights.Lookup(name)
		if (k.MD5 != "" && strings.EqualFold(k.MD5, md)) || (k.SHA256 != "" && strings.HasPrefix(sha, strings.ToLower(k.SHA256))) {
			return name
		}
	}
	return ""
}

// stats returns the minimum, maximum and mean of v.
func stats(v []float32) (lo, hi, mean float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	var sum float64
	for _, x := range v {
		f := float64(x)
		lo, hi = math.Min(lo, f), math.Max(hi, f)
		sum += f
	}
	return lo, hi, sum / float64(len(v))
}

// layerNames gives conv i's names: relu{b}_{k}, features.N, block{b}_conv{k}.
func layerNames(i int) (relu, torch, keras string) {
	blocks := [5]int{2, 2, 4, 4, 4}
	b, k := 0, i
	for b < 4 && k >= blocks[b] {
		k -= blocks[b]
		b++
	}
	return fmt.Sprintf("relu%d_%d", b+1, k+1), fmt.Sprintf("features.%d", weights.TorchConvIndices[i]),
		fmt.Sprintf("block%d_conv%d", b+1, k+1)
}

func weightsInfo(args []string, stdout, stderr io.Writer) error {
	fs := weightsFlags("info", "info FILE", `Prints what a weights file holds: its format, size, SHA-256 and MD5 (and
which known download it is, if any), the source, preprocessing and synthetic
flag it records, and each conv layer's shapes with the minimum, maximum and
mean of its weights and biases.

Example:
  stylize weights info vgg19-torch.safetensors`, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("weights info: give one FILE")
	}
	path := fs.Arg(0)
	format, err := weights.Sniff(path)
	if err != nil {
		return fmt.Errorf("weights info: %w", err)
	}
	size, sha, md, err := fileSums(path)
	if err != nil {
		return fmt.Errorf("weights info: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s\n", path)
	fmt.Fprintf(tw, "format\t%s\n", format)
	fmt.Fprintf(tw, "size\t%d bytes\n", size)
	fmt.Fprintf(tw, "sha256\t%s\n", sha)
	fmt.Fprintf(tw, "md5\t%s\n", md)
	if name := knownAs(sha, md); name != "" {
		fmt.Fprintf(tw, "known as\t%s (its published checksum)\n", name)
	}

	var v *weights.VGG19
	var unused []string
	if format == "safetensors" {
		f, err := weights.ReadSafetensors(path)
		if err != nil {
			tw.Flush()
			return err
		}
		var keys []string
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch k {
			case "source", "preprocess", "synthetic":
			default:
				val := f.Metadata[k]
				if len(val) > 60 {
					val = fmt.Sprintf("(%d bytes)", len(val))
				}
				fmt.Fprintf(tw, "metadata %s\t%s\n", k, val)
			}
		}
		v, err = weights.FromSafetensors(f)
		if err != nil {
			fmt.Fprintf(tw, "tensors\t%d: %s\n", len(f.Tensors), strings.Join(f.Names(), ", "))
			tw.Flush()
			return err
		}
		used := map[string]bool{}
		for name := range v.Tensors() {
			used[name] = true
		}
		for _, name := range f.Names() {
			if !used[name] {
				unused = append(unused, name)
			}
		}
	} else if v, err = weights.Load(path); err != nil {
		tw.Flush()
		return err
	}
	pre := v.Preprocess
	if pre == "" {
		pre = "not stated (give -preprocess caffe|torch when converting)"
	}
	fmt.Fprintf(tw, "source\t%s\n", v.Source)
	fmt.Fprintf(tw, "preprocess\t%s\n", pre)
	fmt.Fprintf(tw, "synthetic\t%v\n", v.Synthetic)
	params := 0
	for _, c := range v.Convs {
		params += len(c.W) + len(c.B)
	}
	fmt.Fprintf(tw, "layers\t%d convs, block widths %v, %d parameters\n", len(v.Convs), v.Widths(), params)
	if len(unused) > 0 {
		list := unused
		if len(list) > 8 {
			list = append(append([]string{}, list[:8]...), "...")
		}
		fmt.Fprintf(tw, "not used\t%d other tensors: %s\n", len(unused), strings.Join(list, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\ttorch\tkeras\tweight\tbias\tw min\tw max\tw mean\tb min\tb max\tb mean\t\n")
	for i, c := range v.Convs {
		relu, torch, keras := layerNames(i)
		wl, wh, wm := stats(c.W)
		bl, bh, bm := stats(c.B)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\t\n", relu, torch, keras,
			[]int{c.Cout, c.Cin, 3, 3}, []int{c.Cout}, wl, wh, wm, bl, bh, bm)
	}
	return tw.Flush()
}

func weightsConvert(args []string, stdout, stderr io.Writer) error {
	fs := weightsFlags("convert", "convert [flags] IN OUT.safetensors", `Reads VGG19 weights from IN (safetensors, PyTorch .pth or Keras .h5) and
writes their 16 convs as float32 safetensors in torchvision naming
(features.N.weight, features.N.bias), with the source, preprocessing and
synthetic flag as metadata. OUT is written atomically.

Examples:
  stylize weights convert vgg19-dcbb9e9d.pth vgg19-torch.safetensors
  stylize weights convert -preprocess caffe my-vgg19.safetensors vgg19.safetensors`, stderr)
	pre := fs.String("preprocess", "", "the preprocessing the weights expect, `caffe or torch` (default: what IN says)")
	source := fs.String("source", "", "the source to record in OUT (default: what IN says, else IN's path)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errors.New("weights convert: give IN and OUT.safetensors")
	}
	in, out := fs.Arg(0), fs.Arg(1)
	if !strings.EqualFold(filepath.Ext(out), ".safetensors") {
		return fmt.Errorf("weights convert: %s: OUT must end in .safetensors", out)
	}
	switch *pre {
	case "", "caffe", "torch":
	default:
		return fmt.Errorf("weights convert: -preprocess %q: want caffe or torch", *pre)
	}
	v, err := weights.Load(in)
	if err != nil {
		return err
	}
	if *pre != "" {
		if v.Preprocess != "" && v.Preprocess != *pre {
			fmt.Fprintf(stderr, "stylize: note: %s says its preprocessing is %s; writing %s as -preprocess asks\n", in, v.Preprocess, *pre)
		}
		v.Preprocess = *pre
	}
	if *source != "" {
		v.Source = *source
	}
	if v.Preprocess == "" {
		fmt.Fprintf(stderr, "stylize: warning: %s does not say how images are preprocessed for it; give -preprocess caffe|torch so that %s does\n", in, out)
	}
	if err := weights.SaveSafetensors(out, v); err != nil {
		return err
	}
	pr := v.Preprocess
	if pr == "" {
		pr = "not stated"
	}
	fmt.Fprintf(stdout, "wrote %s: %d convs, block widths %v, preprocess %s, synthetic %v\n", out, len(v.Convs), v.Widths(), pr, v.Synthetic)
	return nil
}

func weightsList(args []string, stdout, stderr io.Writer) error {
	fs := weightsFlags("list", "list", `Lists the VGG19 weights stylize can fetch, where they come from, and
whether each is in the cache (verified against its published checksum).`, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("weights list: takes no arguments, got %q", fs.Args())
	}
	dir, err := weights.CacheDir()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cache: %s\n\n", dir)
	for _, name := range weights.KnownNames() {
		k, _ := weights.Lookup(name)
		state := "not cached"
		if p, ok := weights.Cached(name); ok {
			state = "cached: " + p
		}
		sum := "md5 " + k.MD5
		if k.MD5 == "" {
			sum = "sha256 " + k.SHA256 + "..."
		}
		fmt.Fprintf(stdout, "%s  (%s, preprocess %s, about %d MB)\n    %s\n    %s\n    %s, %s\n",
			name, k.Format, k.Preprocess, k.ApproxMB, k.About, k.URL, sum, state)
	}
	return nil
}
