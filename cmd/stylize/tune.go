package main

import (
	"errors"
	"os"

	"github.com/stylize/stylize/internal/cli"
)

// tuneCommand is 'stylize tune': measure the kernel plans on this GPU.
// Ctrl-C, SIGTERM or SIGHUP stops it between candidates, keeping those measured.
func tuneCommand(args []string) error {
	ctx, stop := signalContext()
	defer stop()
	err := cli.Tune(ctx, args, os.Stdout, os.Stderr)
	if errors.Is(err, cli.ErrInterrupted) {
		os.Exit(cli.ExitInterrupted)
	}
	return err
}
