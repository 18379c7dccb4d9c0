package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/stylize/stylize/internal/cli"
)

func videoCommand(args []string) error {
	return withStopSignals(func(ctx context.Context) error { return runVideo(ctx, args, os.Stdout, os.Stderr) })
}

// runVideo is 'stylize video ARGS': the flags, the frames and the output
// are checked before any GPU work, then the clip runs until done or ctx
// is cancelled.
func runVideo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return parseAndRun(ctx, "video", args, stdout, stderr, func(fs *flag.FlagSet) func(*flag.FlagSet) (job, error) {
		c := cli.NewVideoCommand(fs)
		return func(fs *flag.FlagSet) (job, error) {
			j, err := c.Resolve(fs)
			if err != nil {
				return nil, err
			}
			return j, nil
		}
	})
}
