// Package shaders holds the WGSL source of every op, embedded, and renders
// it with its constants baked in. wgpu 0.17's naga has no override
// constants, so shapes and tile sizes are substituted into the text with
// text/template; each distinct text compiles to its own pipeline once.
package shaders

import (
	"bytes"
	"embed"
	"fmt"
	"sync"
	"text/template"
)

//go:embed *.wgsl
var files embed.FS

var (
	once    sync.Once
	tmpl    *template.Template
	tmplErr error
)

func parse() {
	tmpl, tmplErr = template.New("").Funcs(template.FuncMap{
		"seq": func(n int) []int {
			s := make([]int, n)
			for i := range s {
				s[i] = i
			}
			return s
		},
		"mul":  func(a, b int) int { return a * b },
		"add":  func(a, b int) int { return a + b },
		"div":  func(a, b int) int { return a / b },
		"cdiv": func(a, b int) int { return (a + b - 1) / b },
		"f32":  func(v float64) string { return fmt.Sprintf("%#.9g", float32(v)) },
	}).Option("missingkey=error").ParseFS(files, "*.wgsl")
}

// Render returns the WGSL text of file (e.g. "conv3x3.wgsl") with data
// substituted for its template fields.
func Render(file string, data any) (string, error) {
	once.Do(parse)
	if tmplErr != nil {
		return "", fmt.Errorf("shaders: parse: %w", tmplErr)
	}
	if tmpl.Lookup(file) == nil {
		return "", fmt.Errorf("shaders: no shader file %q", file)
	}
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, file, data); err != nil {
		return "", fmt.Errorf("shaders: render %s: %w", file, err)
	}
	return b.String(), nil
}
