package cli

import (
	"bytes"
	"strings"
	"testing"
)

// Both commands find their weights here: every format the weights
// package reads (stylize-live's own copy of this once refused .h5), and
// synthetic weights of given widths, with the warning.
func TestLoadWeights(t *testing.T) {
	for _, f := range []string{"tiny_vgg19.safetensors", "tiny_vgg19.pth", "tiny_vgg19_keras.h5"} {
		w, err := LoadWeights("../../testdata/"+f, nil, &bytes.Buffer{})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(w.Convs) != 16 {
			t.Errorf("%s: %d conv layers, want 16", f, len(w.Convs))
		}
	}
	var msg bytes.Buffer
	w, err := LoadWeights("synthetic", []int{4, 4, 8, 8, 8}, &msg)
	if err != nil {
		t.Fatal(err)
	}
	if w.Convs[0].Cout != 4 || w.Convs[15].Cout != 8 || !strings.Contains(msg.String(), "SYNTHETIC") {
		t.Errorf("synthetic: widths %d..%d, message %q", w.Convs[0].Cout, w.Convs[15].Cout, msg.String())
	}
	if _, err := LoadWeights("../../testdata/ORACLE.md", nil, &bytes.Buffer{}); err == nil {
		t.Error("a Markdown file loaded as weights")
	}
}
