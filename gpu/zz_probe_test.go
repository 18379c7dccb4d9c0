package gpu_test

import (
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
)

func TestProbe(t *testing.T) {
	d := testgpu.Device(t)
	l := d.Limits()
	t.Logf("info %v ts=%v maxSBBS=%d maxBuf=%d maxWG=%d", d.Info, d.HasTimestamps(), l.MaxStorageBufferBindingSize, l.MaxBufferSize, l.MaxComputeWorkgroupsPerDimension)
	a, err := gpu.Adapters("")
	t.Log(a, err)
	b, _ := d.NewBuffer("b", gpu.F32, 4)
	e, _ := d.NewEncoder("probe")
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	rb, _ := d.NewReadback("rb", 16)
	t.Log("read after submit:", e.Read(rb, b))
	t.Log("copy after submit:", e.Copy(b, b))
}
