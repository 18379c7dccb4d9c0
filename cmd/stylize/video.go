package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/stylize/stylize/internal/cli"
)

func videoCommand(args []string) error {
	ctx, stop := signalContext()
	defer stop()
	err := runVideo(ctx, args, os.Stdout, os.Stderr)
	if errors.Is(err, cli.ErrInterrupted) {
		os.Exit(cli.ExitInterrupted)
	}
	return err
}

// runVideo is 'stylize video ARGS': the flags, the frames and the output
// directory are checked before any GPU work, then the clip runs until
// done or ctx is cancelled.
func runVideo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("video", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := cli.NewVideoCommand(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags come before; see stylize video -h)", fs.Arg(0))
	}
	job, err := c.Resolve(fs)
	if err != nil {
		return err
	}
	return job.Run(ctx, stdout, stderr)
}
