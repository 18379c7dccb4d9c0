package cli

import (
	"testing"

	"github.com/stylize/stylize/gpu"
)

func TestParseMemory(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
	}{{"auto", 0}, {"", 0}, {"none", gpu.NoBudget}, {"0", gpu.NoBudget}, {"6GiB", 6 << 30}, {"6g", 6 << 30}, {"512MiB", 512 << 20},
		{"512M", 512 << 20}, {"1.5GB", 3 << 29}, {"2097152", 2 << 20}, {"1T", 1 << 40}} {
		got, err := ParseMemory(c.in)
		if err != nil || got != c.want {
			t.Errorf("%q: %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"lots", "-1G", "NaN", "1KiB", "5", "2P", "G"} {
		if v, err := ParseMemory(bad); err == nil {
			t.Errorf("%q accepted as %d", bad, v)
		}
	}
}
