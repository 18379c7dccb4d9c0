package main

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/go-gl/glfw/v3.3/glfw"
)

// errNoWindow marks the failures to open a window or its surface.
var errNoWindow = errors.New("cannot open a window")

// openWindow initialises GLFW and opens a window without a GL context
// (WebGPU draws into it). go-gl/glfw logs platform errors (no display) and
// then panics on the next call; both are turned into an error that says
// why, so a missing display never crashes the program.
func openWindow(w, h int, title string) (win *glfw.Window, err error) {
	display := os.Getenv("DISPLAY")
	if display == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return nil, fmt.Errorf("%w: no display (DISPLAY is not set). Run it in a desktop session, "+
			"or on a virtual display: xvfb-run -a stylize-live ... (apt-get install xvfb)", errNoWindow)
	}
	var logged bytes.Buffer
	flags := log.Flags()
	log.SetOutput(&logged)
	log.SetFlags(0)
	defer func() {
		log.SetOutput(os.Stderr)
		log.SetFlags(flags)
		if r := recover(); r != nil {
			win = nil
			err = fmt.Errorf("%w on display %q: %s", errNoWindow, display, explain(r, logged.String()))
		}
	}()
	if err := glfw.Init(); err != nil {
		return nil, fmt.Errorf("%w on display %q: %s", errNoWindow, display, explain(err, logged.String()))
	}
	glfw.WindowHint(glfw.ClientAPI, glfw.NoAPI) // panics if Init failed quietly
	win, err = glfw.CreateWindow(w, h, title, nil, nil)
	if err != nil || win == nil {
		glfw.Terminate()
		return nil, fmt.Errorf("%w on display %q: %s", errNoWindow, display, explain(err, logged.String()))
	}
	return win, nil
}

func explain(cause any, logged string) string {
	var parts []string
	if s := strings.TrimSpace(logged); s != "" {
		parts = append(parts, strings.ReplaceAll(s, "\n", "; "))
	}
	if cause != nil {
		c := fmt.Sprint(cause)
		if strings.Contains(c, "NotInitialized") || strings.Contains(c, "not been initialized") {
			c = "GLFW could not initialise"
		}
		if c != "<nil>" {
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		return "unknown error"
	}
	return strings.Join(parts, ": ")
}
