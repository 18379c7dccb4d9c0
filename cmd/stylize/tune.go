package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/stylize/stylize/internal/cli"
)

// tuneCommand is 'stylize tune': measure the kernel plans on this GPU.
// Ctrl-C or SIGTERM stops it between passes, keeping those measured.
func tuneCommand(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cli.Tune(ctx, args, os.Stdout, os.Stderr)
	if errors.Is(err, cli.ErrInterrupted) {
		os.Exit(cli.ExitInterrupted)
	}
	return err
}
