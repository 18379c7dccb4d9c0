package ops_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
)

// benchSide is the image side the conv benchmarks assume at VGG19's first
// block; deeper blocks halve it. STYLIZE_BENCH_SIZE overrides the default
// of 64, which suits lavapipe (about 2 GFLOP/s on 2 cores); use 512 on a
// real GPU.
func benchSide() int {
	if v, err := strconv.Atoi(os.Getenv("STYLIZE_BENCH_SIZE")); err == nil && v >= 16 {
		return v
	}
	return 64
}

// vggConvShapes are the distinct conv shapes of VGG19 up to relu5_2: (cin, cout, block).
var vggConvShapes = []struct{ cin, cout, block int }{
	{3, 64, 0}, {64, 64, 0}, {64, 128, 1}, {128, 128, 1}, {128, 256, 2},
	{256, 256, 2}, {256, 512, 3}, {512, 512, 3}, {512, 512, 4},
}

// BenchmarkConv3x3 times conv3x3 forward (bias+ReLU fused) and
// backward_input (ReLU mask fused) at VGG19's layer shapes, one command
// buffer per pass, and reports GFLOP/s. Run: make bench, or
// go test ./ops -run '^$' -bench Conv3x3 -benchtime 3x
func BenchmarkConv3x3(b *testing.B) {
	d := testgpu.Device(b)
	side := benchSide()
	for _, s := range vggConvShapes {
		h := side >> s.block
		for _, pass := range []string{"forward", "backward_input"} {
			name := fmt.Sprintf("%s/%dx%d/%d-%d", pass, h, h, s.cin, s.cout)
			b.Run(name, func(b *testing.B) {
				w := testgpu.F32(testgpu.Rand(1, s.cout*s.cin*9, -0.05, 0.05))
				cw, err := ops.NewConvWeights(d, "bench", w, make([]float32, s.cout), s.cout, s.cin)
				if err != nil {
					b.Fatal(err)
				}
				defer cw.Release()
				x := testgpu.Upload(b, d, "x", testgpu.Rand(2, s.cin*h*h, 0, 1), s.cin, h, h)
				y := testgpu.Upload(b, d, "y", testgpu.Rand(3, s.cout*h*h, -1, 1), s.cout, h, h)
				var st *ops.Step
				if pass == "forward" {
					st, err = ops.NewConv3x3Forward(d, cw, x, y, true)
				} else {
					st, err = ops.NewConv3x3BackwardInput(d, cw, y, y, x, false)
				}
				if err != nil {
					b.Fatal(err)
				}
				defer st.Release()
				testgpu.Run(b, d, st) // warm up: compile and first run
				if err := d.Poll(); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					testgpu.Run(b, d, st)
				}
				if err := d.Poll(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				flops := ops.Conv3x3FLOPs(s.cin, s.cout, h, h)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
