package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain gives the tests a tuning cache of their own, empty unless a
// test fills it, so that the user's measured plans (stylize tune) never
// change what a test runs or prints.
func TestMain(m *testing.M) {
	// Re-executed by a test as the stylize command itself.
	if cmd := os.Getenv("STYLIZE_TEST_AS_MAIN"); cmd != "" {
		os.Args = append([]string{"stylize"}, strings.Fields(cmd)...)
		main()
		os.Exit(0)
	}
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

// TestNoRuntimeDirNoise runs `stylize devices` from a shell without
// XDG_RUNTIME_DIR: Mesa's window-system code would print an error line
// per instance; the program gives itself a private directory instead.
func TestNoRuntimeDirNoise(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "STYLIZE_TEST_AS_MAIN=devices")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("stylize devices: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "XDG_RUNTIME_DIR") || strings.Contains(stdout.String(), "XDG_RUNTIME_DIR") {
		t.Errorf("stylize devices without XDG_RUNTIME_DIR printed:\n%s%s", stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String()+stderr.String(), "[0] ") {
		t.Errorf("stylize devices listed no adapter:\n%s%s", stdout.String(), stderr.String())
	}
}
