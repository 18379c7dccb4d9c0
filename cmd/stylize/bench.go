package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/stylize/stylize/bench"
	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/cli"
)

// benchProcessStart is taken when the package initialises, as close to the
// process's start as Go lets us: the startup figure counts from here.
var benchProcessStart = time.Now()

const benchUsage = `Usage: stylize bench [flags]

Benchmarks this GPU on the style-transfer workload, to compare GPUs:
  1. the adapter (name, driver, backend, type, limits);
  2. its own roofline, measured with microkernels: peak fp32 FMA throughput
     and memory bandwidth (copy and read);
  3. each op of an iteration at VGG19's layer shapes for an -op-size image:
     conv3x3 forward and backward_input, max-pool forward and backward,
     Gram, style loss, content loss, Adam (and the TV loss);
  4. full iterations (forward to relu5_2, the seed's losses, backward,
     Keras Adam) at each of -sizes; sizes that cannot fit are skipped.
Weights are SYNTHETIC (He-initialised VGG19 shapes): timing does not depend
on their values. Times are GPU timestamps where the adapter has them (else
wall clock around submit and wait), the median, min and max of -reps
samples after -warmup; a row stops repeating once its samples pass -row-time.
%peak is against the measured roofline: FLOP-bound rows against the FMA
peak, memory-bound rows against the bandwidth.

Examples:
  stylize bench                          all of it, iterations at 256..2048
  stylize bench -quick                   small sizes, for software GPUs and CI
  stylize bench -sizes 512 -only iter    one iteration size
  stylize bench -json > gpu.json         machine-readable (schema stylize-bench/1)
  stylize bench -compare old.json -fail-on-regression

Flags:
`

// benchCLI is the parsed command line: the bench's options and what to do
// with the report.
type benchCLI struct {
	opts                                  bench.Options
	jsonOut, failOnRegress                bool
	sizes, only, outFile, compare, device string
	kernels, plot                         string
}

// benchFlags parses the command line over bench.DefaultOptions and, with
// -quick, again over bench.QuickOptions: flags given explicitly still win.
func benchFlags(args []string, stderr io.Writer) (c *benchCLI, err error) {
	for _, o := range []bench.Options{bench.DefaultOptions(), bench.QuickOptions()} {
		if c != nil && !c.opts.Quick {
			break
		}
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		fs.SetOutput(stderr)
		c = &benchCLI{opts: o}
		p := &c.opts
		fs.BoolVar(&p.Quick, "quick", false, "small and fast (ops at 32 px, iterations at 32 and 64, 2 reps, 2s a row): for software GPUs and CI")
		fs.IntVar(&p.Reps, "reps", o.Reps, "timed samples per row, at most (see -row-time)")
		fs.IntVar(&p.Warmup, "warmup", o.Warmup, "untimed runs before a row's samples")
		fs.DurationVar(&p.RowTime, "row-time", o.RowTime, "stop sampling a row once its samples add up to this (at least one sample)")
		fs.DurationVar(&p.Budget, "budget", 0, "time limit: rows that would start after it, or iterations estimated to end after it, are skipped (0: none)")
		fs.IntVar(&p.OpSize, "op-size", o.OpSize, "image side whose VGG19 layer shapes the op rows use")
		fs.IntVar(&p.OpSize, "size", o.OpSize, "the same as -op-size (the flag's earlier name)")
		fs.StringVar(&c.sizes, "sizes", strings.Trim(strings.ReplaceAll(fmt.Sprint(o.Sizes), " ", ","), "[]"), "iteration image sides, comma-separated")
		fs.StringVar(&c.only, "only", strings.Join(o.Parts, ","), "parts to run: peak (roofline), ops, iter (full iterations)")
		fs.Int64Var(&p.Seed, "seed", o.Seed, "seed of the synthetic weights and images")
		fs.StringVar(&p.Timing, "timing", o.Timing, "auto (GPU timestamps if available), gpu, or wall")
		fs.StringVar(&c.device, "device", "", "adapter index or name substring (default: STYLIZE_DEVICE, else the fastest)")
		fs.BoolVar(&c.jsonOut, "json", false, "print the report as JSON on stdout (schema stylize-bench/1); the table goes to stderr")
		fs.StringVar(&c.outFile, "o", "", "also write the JSON report to this file")
		fs.StringVar(&c.plot, "plot", "", "draw the roofline and every op row to this .png or .svg (needs -only peak,ops)")
		fs.StringVar(&c.compare, "compare", "", "compare with an earlier -json report (or pytorch_ref.py's): ratio per row, matched by name")
		fs.BoolVar(&c.failOnRegress, "fail-on-regression", false, "with -compare, exit non-zero if a row is slower than the threshold")
		fs.StringVar(&c.kernels, "kernels", "auto", "kernel plans to time against the heuristic's, in rows of their own (NAME.tuned/...) where they differ: auto (those stylize tune measured on this GPU, if any), heuristic (none), direct, winograd (F(2x2,3x3)) or winograd4 (F(4x4,3x3)): that algorithm on every conv pass")
		fs.BoolVar(&p.Unfused, "unfused", false, "iterations with the loss gradients in passes of their own, not fused into the conv backward (to compare)")
		fs.IntVar(&p.Tile, "tile", 0, "also time each iteration on tiles of this side in pixels (exact tiling), and print its time over the untiled one's")
		fs.Float64Var(&p.Threshold, "threshold", o.Threshold, "with -compare, the slowdown that counts as a regression (0.10 = 10%)")
		fs.Usage = func() { io.WriteString(fs.Output(), benchUsage); fs.PrintDefaults() }
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() > 0 {
			return nil, fmt.Errorf("bench: unexpected argument %q (see stylize bench -h)", fs.Arg(0))
		}
	}
	if c.opts.Sizes, err = bench.ParseSizes(c.sizes); err == nil {
		if c.opts.Parts, err = bench.ParseParts(c.only); err == nil {
			err = c.opts.Validate()
		}
	}
	if err == nil {
		err = cli.CheckKernels(c.kernels)
	}
	if err == nil && c.plot != "" {
		err = bench.CheckPlotPath(c.plot)
		if err == nil && (!slices.Contains(c.opts.Parts, "peak") || !slices.Contains(c.opts.Parts, "ops")) {
			err = fmt.Errorf("bench: -plot draws the roofline and the op rows: run with -only peak,ops (or more)")
		}
	}
	if err == nil && c.failOnRegress && c.compare == "" {
		err = fmt.Errorf("bench: -fail-on-regression needs -compare OLD.json")
	}
	return c, err
}

// benchEnv is what the caller provides: where to write, when the process
// started, and optionally a device already open (tests share theirs).
type benchEnv struct {
	stdout, stderr io.Writer
	start          time.Time
	dev            *gpu.Device
}

// benchCommand is `stylize bench`.
func benchCommand(args []string) error {
	return runBench(args, benchEnv{stdout: os.Stdout, stderr: os.Stderr, start: benchProcessStart})
}

// runBench runs the bench the command line asks for: the table on stdout
// (stderr with -json), the JSON report on stdout and/or in the -o file.
func runBench(args []string, env benchEnv) error {
	c, err := benchFlags(args, env.stderr)
	if err != nil {
		return err
	}
	o := &c.opts
	o.Start, o.Log, o.CompareFile = env.start, env.stdout, c.compare
	if c.jsonOut {
		o.Log = env.stderr
	}
	if c.compare != "" {
		if o.Compare, err = bench.LoadReport(c.compare); err != nil {
			return fmt.Errorf("bench: -compare: %w", err)
		}
	}
	d := env.dev
	if d == nil {
		if d, err = gpu.Open(gpu.Options{Adapter: c.device}); err != nil {
			return err
		}
		defer d.Close()
	}
	k, _, err := cli.LoadKernels(c.kernels, d, o.Log)
	if err != nil {
		return err
	}
	if k != nil {
		o.Kernels, o.KernelsLabel = k, c.kernels
		if c.kernels == "auto" {
			o.KernelsLabel = "tuned"
		}
	}
	rep, err := bench.Run(context.Background(), d, *o)
	if rep == nil {
		return err
	}
	if c.jsonOut || c.outFile != "" {
		data, jerr := rep.JSON()
		if jerr == nil && c.jsonOut {
			_, jerr = env.stdout.Write(data)
		}
		if jerr == nil && c.outFile != "" {
			jerr = os.WriteFile(c.outFile, data, 0o644)
		}
		if jerr != nil {
			return jerr
		}
	}
	if c.plot != "" && err == nil {
		if perr := bench.PlotRoofline(rep, c.plot); perr != nil {
			return perr
		}
		fmt.Fprintf(env.stderr, "roofline plot: %s\n", c.plot)
	}
	if err != nil || !c.failOnRegress {
		return err // nil, or the device was lost
	}
	return rep.Compare.Err()
}
