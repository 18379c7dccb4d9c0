package cli

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stylize/stylize/weights"
)

// TestWeightsConvertKerasH5 converts the Keras fixtures to safetensors and
// reads the result back with 'weights info'.
func TestWeightsConvertKerasH5(t *testing.T) {
	ref, err := weights.ReadSafetensors("../../testdata/tiny_vgg19_keras_ref.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want, err := weights.FromSafetensors(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tiny_vgg19_keras.h5", "tiny_vgg19_keras_gzip.h5"} {
		t.Run(name, func(t *testing.T) {
			in := "../../testdata/" + name
			out := filepath.Join(t.TempDir(), "keras.safetensors")
			stdout, stderr, err := run(t, "convert", in, out)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout, "wrote "+out+": 16 convs, block widths [4 8 8 16 16], preprocess caffe, synthetic false") || stderr != "" {
				t.Errorf("stdout %q stderr %q", stdout, stderr)
			}
			info, _, err := run(t, "info", out)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", info)
			flat := strings.Join(strings.Fields(info), " ")
			for _, s := range []string{"format safetensors", "preprocess caffe", "source " + in,
				"16 convs, block widths [4 8 8 16 16]", "[16 16 3 3]"} {
				if !strings.Contains(flat, s) {
					t.Errorf("info does not print %q", s)
				}
			}
			if n := len(layerLine.FindAllString(info, -1)); n != 16 {
				t.Errorf("%d layer lines, want 16", n)
			}
			f, err := weights.ReadSafetensors(out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := weights.FromSafetensors(f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Convs, want.Convs) {
				t.Error("the converted convs differ from the reference")
			}
			// info reads the .h5 itself too.
			info, _, err = run(t, "info", in)
			if err != nil {
				t.Fatal(err)
			}
			if flat := strings.Join(strings.Fields(info), " "); !strings.Contains(flat, "format h5") ||
				!strings.Contains(flat, "preprocess caffe") || len(layerLine.FindAllString(info, -1)) != 16 {
				t.Errorf("info of the .h5:\n%s", info)
			}
		})
	}
	// A broken Keras file is refused with the reader's error.
	_, _, err = run(t, "convert", "../../testdata/tiny_vgg19_keras_badshape.h5", filepath.Join(t.TempDir(), "x.safetensors"))
	if err == nil || !strings.Contains(err.Error(), "block2_conv1") {
		t.Errorf("badshape: %v", err)
	}
}
