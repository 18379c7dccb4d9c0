package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the tests a tuning cache of their own, empty unless a
// test fills it, so that the user's measured plans (stylize tune) never
// change what a test runs or prints.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stylize-cmd-test-cache")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("STYLIZE_CACHE", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
