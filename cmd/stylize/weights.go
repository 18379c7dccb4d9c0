package main

import (
	"os"

	"github.com/stylize/stylize/internal/cli"
)

// weightsCommand is 'stylize weights': fetch, inspect, convert and list
// VGG19 weights.
func weightsCommand(args []string) error { return cli.Weights(args, os.Stdout, os.Stderr) }
