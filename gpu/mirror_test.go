package gpu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// mirrorStructs parses wgpu_mirror.h: struct name (without stylize_) to
// its field names in order.
func mirrorStructs(t *testing.T, src string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	re := regexp.MustCompile(`(?s)typedef struct stylize_(\w+) \{(.*?)\} stylize_(\w+);`)
	ident := regexp.MustCompile(`(\w+)\s*;`)
	for _, m := range re.FindAllStringSubmatch(src, -1) {
		var fields []string
		for _, line := range strings.Split(m[2], "\n") {
			line, _, _ = strings.Cut(line, "//")
			if f := ident.FindStringSubmatch(line); f != nil {
				fields = append(fields, f[1])
			}
		}
		out[m[1]] = fields
	}
	return out
}

// TestMirrorMatchesWebGPUHeader compiles the structs of wgpu_mirror.h
// next to the webgpu.h that go-webgpu v0.17.1 ships and checks that each
// has the real struct's size and each field its offset and size, so that
// the device descriptor native.go builds is the one wgpu-native reads.
func TestMirrorMatchesWebGPUHeader(t *testing.T) {
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	mirror, err := os.ReadFile(filepath.Join(here, "wgpu_mirror.h"))
	if err != nil {
		t.Fatal(err)
	}
	structs := mirrorStructs(t, string(mirror))
	for _, name := range []string{"WGPULimits", "WGPURequiredLimits", "WGPUQueueDescriptor", "WGPUDeviceDescriptor"} {
		if len(structs[name]) == 0 {
			t.Fatalf("wgpu_mirror.h: found no fields of stylize_%s (parsed %v)", name, structs)
		}
	}
	if n := len(structs["WGPULimits"]); n != 31 {
		t.Fatalf("stylize_WGPULimits has %d fields, webgpu.h 0.17 has 31", n)
	}

	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	dir, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/rajveermalviya/go-webgpu/wgpu").Output()
	if err != nil {
		t.Fatalf("go list the go-webgpu module: %v", err)
	}
	lib := filepath.Join(strings.TrimSpace(string(dir)), "lib")
	if _, err := os.Stat(filepath.Join(lib, "webgpu.h")); err != nil {
		t.Fatalf("go-webgpu %s's webgpu.h: %v", goWebGPUVersion, err)
	}
	cc, err := exec.Command(goBin, "env", "CC").Output()
	if err != nil || strings.TrimSpace(string(cc)) == "" {
		t.Fatalf("go env CC: %q, %v", cc, err)
	}

	var c strings.Builder
	c.WriteString("#include <stddef.h>\n#include \"webgpu.h\"\n#include \"wgpu_mirror.h\"\n")
	checks := 0
	for name, fields := range structs {
		fmt.Fprintf(&c, "_Static_assert(sizeof(%[1]s) == sizeof(stylize_%[1]s), \"sizeof %[1]s\");\n", name)
		for _, f := range fields {
			fmt.Fprintf(&c, "_Static_assert(offsetof(%[1]s, %[2]s) == offsetof(stylize_%[1]s, %[2]s), \"offset of %[1]s.%[2]s\");\n", name, f)
			fmt.Fprintf(&c, "_Static_assert(sizeof(((%[1]s *)0)->%[2]s) == sizeof(((stylize_%[1]s *)0)->%[2]s), \"size of %[1]s.%[2]s\");\n", name, f)
			checks++
		}
	}
	file := filepath.Join(t.TempDir(), "mirror_check.c")
	if err := os.WriteFile(file, []byte(c.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(strings.Fields(string(cc))[0], append(strings.Fields(string(cc))[1:], "-std=c11", "-fsyntax-only", "-I", lib, "-I", here, file)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wgpu_mirror.h does not match go-webgpu %s's webgpu.h (%v):\n%s", goWebGPUVersion, err, out)
	}
	t.Logf("%d structs, %d fields match %s", len(structs), checks, filepath.Join(lib, "webgpu.h"))
}
