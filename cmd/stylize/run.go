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
	ctx, stop := signalContext()
	defer stop()
	err := runStyle(ctx, args, os.Stdout, os.Stderr)
	if errors.Is(err, cli.ErrInterrupted) {
		os.Exit(cli.ExitInterrupted)
	}
	return err
}

// runStyle is 'stylize run ARGS': the flags are checked before any image
// is read, then the job runs until done or ctx is cancelled.
func runStyle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := cli.NewRunCommand(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags come before; see stylize run -h)", fs.Arg(0))
	}
	job, err := c.Resolve(fs)
	if err != nil {
		return err
	}
	return job.Run(ctx, stdout, stderr)
}
