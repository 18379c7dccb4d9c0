// Package testgpu opens the one GPU device that a test binary shares and
// compares GPU results with their float64 twins. A missing adapter fails
// the test with the package to install; it never skips.
package testgpu

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"sync"
	"testing"

	"github.com/stylize/stylize/gpu"
)

var (
	once sync.Once
	dev  *gpu.Device
	err  error
)

// Device returns the shared device, failing tb when there is none.
func Device(tb testing.TB) *gpu.Device {
	tb.Helper()
	once.Do(func() {
		dev, err = gpu.Open(gpu.Options{})
		if err == nil {
			fmt.Fprintf(os.Stderr, "testgpu: using %s\n", dev.Info)
		}
	})
	if err != nil {
		ci := ""
		if os.Getenv("CI") != "" {
			ci = " (CI is set: GPU tests never skip)"
		}
		tb.Fatalf("no GPU adapter%s: %v\nInstall the software Vulkan driver: apt-get install -y mesa-vulkan-drivers libvulkan1 (or run `make deps`).", ci, err)
	}
	return dev
}

// Rand returns n uniform values in [lo, hi) from a fixed seed.
func Rand(seed int64, n int, lo, hi float64) []float64 {
	r := rand.New(rand.NewSource(seed))
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float64()
	}
	return v
}

// F32 converts to float32.
func F32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// F64 converts to float64.
func F64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// Round rounds every value to float32, so that a twin sees exactly what
// the GPU sees.
func Round(v []float64) []float64 { return F64(F32(v)) }

// Stats are the errors of got against want.
type Stats struct {
	MaxAbs, MaxRel, NormRel float64
}

// Errors measures got against want: max abs error, max relative error
// (over |want| > 1e-6·max|want|), and the norm-wise relative error.
func Errors(got, want []float64) Stats {
	var s Stats
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	var num, den float64
	for i := range want {
		d := math.Abs(got[i] - want[i])
		s.MaxAbs = math.Max(s.MaxAbs, d)
		if math.Abs(want[i]) > 1e-6*scale && want[i] != 0 {
			s.MaxRel = math.Max(s.MaxRel, d/math.Abs(want[i]))
		}
		num += d * d
		den += want[i] * want[i]
	}
	if den > 0 {
		s.NormRel = math.Sqrt(num / den)
	} else {
		s.NormRel = math.Sqrt(num)
	}
	return s
}

// Close fails tb at the first index where |got-want| > atol + rtol·|want|,
// naming the op, the index, the max error and the tolerance; it logs the
// errors either way.
func Close(tb testing.TB, op string, got []float32, want []float64, atol, rtol float64) Stats {
	tb.Helper()
	g := F64(got)
	if len(g) != len(want) {
		tb.Fatalf("%s: got %d values, want %d", op, len(g), len(want))
	}
	s := Errors(g, want)
	for i := range want {
		d := math.Abs(g[i] - want[i])
		if !(d <= atol+rtol*math.Abs(want[i])) {
			tb.Fatalf("%s: first mismatch at %d: got %.8g want %.8g (|d|=%.3g > %.3g = atol %.1g + rtol %.1g·|want|); max abs %.3g, max rel %.3g, norm rel %.3g",
				op, i, g[i], want[i], d, atol+rtol*math.Abs(want[i]), atol, rtol, s.MaxAbs, s.MaxRel, s.NormRel)
		}
	}
	tb.Logf("%s: max abs err %.3g, max rel err %.3g, norm rel %.3g (atol %.1g, rtol %.1g)", op, s.MaxAbs, s.MaxRel, s.NormRel, atol, rtol)
	return s
}

// Upload creates a buffer of the given shape holding v.
func Upload(tb testing.TB, d *gpu.Device, name string, v []float64, shape ...int) *gpu.Buffer {
	tb.Helper()
	b, err := d.NewBuffer(name, gpu.F32, shape...)
	if err != nil {
		tb.Fatalf("upload %s: %v", name, err)
	}
	if v != nil {
		if err := b.Write(F32(v)); err != nil {
			tb.Fatalf("upload %s: %v", name, err)
		}
	}
	tb.Cleanup(b.Release)
	return b
}

// Read reads a buffer back, failing tb on error.
func Read(tb testing.TB, b *gpu.Buffer) []float32 {
	tb.Helper()
	v, err := b.Read()
	if err != nil {
		tb.Fatalf("read %s: %v", b.Name, err)
	}
	return v
}

// Run records steps into one encoder and submits it.
func Run(tb testing.TB, d *gpu.Device, steps ...interface {
	Record(*gpu.Encoder) error
}) {
	tb.Helper()
	e, err := d.NewEncoder("test")
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range steps {
		if err := s.Record(e); err != nil {
			e.Discard()
			tb.Fatal(err)
		}
	}
	if err := e.Submit(); err != nil {
		tb.Fatal(err)
	}
}
