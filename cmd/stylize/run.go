package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/stylize/stylize/internal/cli"
)

// stopSignals end a run as Ctrl-C does, keeping the work done so far:
// SIGTERM (timeout, docker stop) and SIGHUP (a closed terminal) too.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// signalContext is cancelled by the first of stopSignals.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), stopSignals...)
}

func runCommand(args []string) error {
	return withStopSignals(func(ctx context.Context) error { return runStyle(ctx, args, os.Stdout, os.Stderr) })
}

// withStopSignals runs f with a context that stopSignals cancel, and
// exits with cli.ExitInterrupted when f reports the interruption.
func withStopSignals(f func(ctx context.Context) error) error {
	ctx, stop := signalContext()
	defer stop()
	err := f(ctx)
	if errors.Is(err, cli.ErrInterrupted) {
		os.Exit(cli.ExitInterrupted)
	}
	return err
}

// job is a checked command line that runs until done or ctx is cancelled.
type job interface {
	Run(ctx context.Context, stdout, stderr io.Writer) error
}

// parseAndRun is 'stylize NAME ARGS' for a command whose flags register
// registers on its flag set and whose resolve checks them before any
// image is read or GPU work starts.
func parseAndRun(ctx context.Context, name string, args []string, stdout, stderr io.Writer, register func(*flag.FlagSet) func(*flag.FlagSet) (job, error)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags come before; see stylize %s -h)", fs.Arg(0), name)
	}
	j, err := resolve(fs)
	if err != nil {
		return err
	}
	return j.Run(ctx, stdout, stderr)
}

// runStyle is 'stylize run ARGS': the flags are checked before any image
// is read, then the job runs until done or ctx is cancelled.
func runStyle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return parseAndRun(ctx, "run", args, stdout, stderr, func(fs *flag.FlagSet) func(*flag.FlagSet) (job, error) {
		c := cli.NewRunCommand(fs)
		return func(fs *flag.FlagSet) (job, error) {
			j, err := c.Resolve(fs)
			if err != nil {
				return nil, err
			}
			return j, nil
		}
	})
}
