package weights

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Keras .h5 weights, as keras.Model.save_weights (and the weights part of
// Model.save) write them through h5py:
//
//	/                      attrs layer_names = [b'input_1', b'block1_conv1', ...],
//	                       backend, keras_version
//	/block1_conv1          attr weight_names = [b'block1_conv1/kernel:0', b'block1_conv1/bias:0']
//	/block1_conv1/block1_conv1/kernel:0   (3, 3, in, out)
//	/block1_conv1/block1_conv1/bias:0     (out,)
//
// Each weight name is a path inside its layer's group. Keras 1 named them
// differently (block1_conv1_W_1:0, directly in the layer's group, as in the
// published Keras Applications files) and Keras 3 drops the ":0";
// only the order of layer_names, the lists in weight_names and the shapes
// matter here (the 4-D weight is the kernel, the 1-D one the bias), as in
// Keras's own loader. Layers without weights (input, pooling) are skipped;
// the first layer with weights but no 4-D kernel after the convs (the
// classifier of a model with its top) ends the trunk. A whole saved model (Model.save) keeps the same layout under
// /model_weights. Attributes too large for an object header are split by
// Keras into layer_names0, layer_names1, ...; those are joined.

// ReadKerasH5 reads the conv layers of a Keras VGG19 .h5 weights file, such
// as Keras Applications' vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5.
// Kernels are transposed from Keras's (kh, kw, in, out) to (out, in, kh, kw);
// Keras's and PyTorch's convolutions are both cross-correlations, so no
// spatial flip is needed. Preprocess is "caffe", as for every Keras VGG.
func ReadKerasH5(path string) (*VGG19, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	return ParseKerasH5(path, b)
}

// ParseKerasH5 parses the bytes of a Keras .h5 file named name; see
// ReadKerasH5.
func ParseKerasH5(name string, data []byte) (v *VGG19, err error) {
	defer func() {
		// A last resort: parseKerasH5 checks its input and must not panic,
		// but a bug on hostile input should still come back as an error.
		if p := recover(); p != nil {
			v, err = nil, &FormatError{File: name, Format: "h5", Msg: fmt.Sprintf("malformed file (internal error: %v)", p)}
		}
	}()
	return parseKerasH5(name, data, h5DefaultLimits)
}

func parseKerasH5(name string, data []byte, lim h5Limits) (*VGG19, error) {
	f, err := openH5(name, data, lim)
	if err != nil {
		return nil, err
	}
	return kerasVGG19(f)
}

func kerasVGG19(f *h5File) (*VGG19, error) {
	grp, where := f.root, "the root group"
	layers, ok, err := kerasStrings(f, grp, "layer_names")
	if err != nil {
		return nil, err
	}
	if !ok {
		// A whole model saved with Model.save: the weights are in /model_weights.
		mw, err := f.lookup(f.root, "model_weights")
		if err == nil {
			f.note("model_weights")
			grp, where = mw, "/model_weights"
			if layers, ok, err = kerasStrings(f, grp, "layer_names"); err != nil {
				return nil, err
			}
		} else if !isNoLink(err) {
			return nil, err
		}
	}
	var convs []Conv
	if ok {
		convs, err = convsFromLayerNames(f, grp, where, layers)
	} else {
		convs, err = convsFromFixedNames(f, grp, where)
	}
	if err != nil {
		return nil, err
	}
	v := &VGG19{Convs: convs, Preprocess: "caffe", Source: f.name}
	if err := v.Check(f.name); err != nil {
		return nil, err
	}
	return v, nil
}

func isNoLink(err error) bool {
	var e errNoLink
	return errors.As(err, &e)
}

// kerasStrings reads a string-list attribute, joining the parts name0,
// name1, ... that Keras splits large ones into.
func kerasStrings(f *h5File, obj uint64, name string) ([]string, bool, error) {
	a, ok, err := f.attribute(obj, name)
	if err != nil {
		return nil, false, err
	}
	if ok {
		s, err := f.attrStrings(a)
		return s, err == nil, err
	}
	var out []string
	for i := 0; ; i++ {
		if i == 1 {
			f.note("split attribute")
		}
		a, ok, err := f.attribute(obj, fmt.Sprintf("%s%d", name, i))
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return out, i > 0, nil
		}
		s, err := f.attrStrings(a)
		if err != nil {
			return nil, false, err
		}
		out = append(out, s...)
	}
}

func convsFromLayerNames(f *h5File, grp uint64, where string, layers []string) ([]Conv, error) {
	var convs []Conv
	for _, ln := range layers {
		if len(convs) == 16 {
			break
		}
		la, err := f.lookup(grp, ln)
		if isNoLink(err) {
			return nil, f.bad("layer %q is listed in layer_names but %s has no group of that name", ln, where)
		}
		if err != nil {
			return nil, err
		}
		wnames, _, err := kerasStrings(f, la, "weight_names")
		if err != nil {
			return nil, f.bad("layer %s: %s", ln, msgOf(err))
		}
		if len(wnames) == 0 {
			continue // input, pooling, ...
		}
		var ds []*h5Dataset
		for _, wn := range wnames {
			a, err := f.lookup(la, wn)
			if isNoLink(err) {
				return nil, f.bad("layer %s: weight %q, listed in its weight_names, is missing", ln, wn)
			}
			if err != nil {
				return nil, err
			}
			d, err := f.dataset(a, ln+"/"+wn)
			if err != nil {
				return nil, err
			}
			ds = append(ds, d)
		}
		c, isConv, err := kerasConv(f, ln, ds)
		if err != nil {
			return nil, err
		}
		if !isConv {
			if len(convs) > 0 {
				break // the classifier of a model with its top
			}
			return nil, f.bad("layer %s, the first with weights, has weights of shapes %s, not a conv kernel and bias", ln, shapes(ds))
		}
		convs = append(convs, c)
	}
	if len(convs) == 0 {
		return nil, f.bad("none of the %d layers in layer_names has weights", len(layers))
	}
	return convs, nil
}

// convsFromFixedNames reads the convs under their Keras Applications names,
// block{b}_conv{k}, for files without layer_names.
func convsFromFixedNames(f *h5File, grp uint64, where string) ([]Conv, error) {
	var convs []Conv
	blocks := [5]int{2, 2, 4, 4, 4}
	for b, n := range blocks {
		for k := 0; k < n; k++ {
			ln := fmt.Sprintf("block%d_conv%d", b+1, k+1)
			f.note("fixed layer names")
			la, err := f.lookup(grp, ln)
			if isNoLink(err) {
				if len(convs) > 0 {
					return convs, nil
				}
				held := f.names(grp)
				if len(held) > 10 {
					held = append(held[:10], "...")
				}
				return nil, f.bad("%s has no layer_names attribute and no group block1_conv1, so it is not Keras VGG19 weights (it holds: %s)",
					where, strings.Join(held, ", "))
			}
			if err != nil {
				return nil, err
			}
			var ds []*h5Dataset
			for _, w := range []string{"kernel", "bias"} {
				// Keras 2, Keras 3, and Keras 1 (the published Keras
				// Applications files: block1_conv1_W_1:0) names.
				k1 := ln + "_W_1:0"
				if w == "bias" {
					k1 = ln + "_b_1:0"
				}
				var d *h5Dataset
				for _, p := range []string{ln + "/" + w + ":0", ln + "/" + w, w + ":0", w, k1} {
					a, err := f.lookup(la, p)
					if isNoLink(err) {
						continue
					}
					if err != nil {
						return nil, err
					}
					if d, err = f.dataset(a, ln+"/"+p); err != nil {
						return nil, err
					}
					break
				}
				if d == nil {
					return nil, f.bad("layer %s has no weight_names attribute and no %s/%s:0", ln, ln, w)
				}
				ds = append(ds, d)
			}
			c, isConv, err := kerasConv(f, ln, ds)
			if err != nil {
				return nil, err
			}
			if !isConv {
				return nil, f.bad("layer %s has weights of shapes %s, not a conv kernel and bias", ln, shapes(ds))
			}
			convs = append(convs, c)
		}
	}
	return convs, nil
}

// kerasConv makes a Conv of a layer's weights: a (3, 3, in, out) kernel and
// an (out,) bias. It says false if none of them is 4-D.
func kerasConv(f *h5File, ln string, ds []*h5Dataset) (Conv, bool, error) {
	var kern, bias *h5Dataset
	for _, d := range ds {
		switch len(d.space.dims) {
		case 4:
			if kern != nil {
				return Conv{}, false, f.bad("layer %s has two 4-D weights (%s)", ln, shapes(ds))
			}
			kern = d
		case 1:
			bias = d
		}
	}
	if kern == nil {
		return Conv{}, false, nil
	}
	if len(ds) != 2 || bias == nil {
		return Conv{}, false, f.bad("layer %s has weights of shapes %s; want a conv's kernel and bias", ln, shapes(ds))
	}
	kd := kern.space.dims
	if kd[0] != 3 || kd[1] != 3 {
		hint := ""
		if kd[2] == 3 && kd[3] == 3 {
			hint = " (Theano's (out, in, kh, kw) order? Use the tf_dim_ordering file)"
		}
		return Conv{}, false, f.bad("layer %s: kernel %s has shape %s, want (3, 3, in, out)%s", ln, kern.path, shape(kd), hint)
	}
	if kd[2] == 0 || kd[3] == 0 {
		return Conv{}, false, f.bad("layer %s: kernel %s has shape %s, with no channels", ln, kern.path, shape(kd))
	}
	if bias.space.dims[0] != kd[3] {
		return Conv{}, false, f.bad("layer %s: bias %s has shape %s for a kernel of shape %s", ln, bias.path, shape(bias.space.dims), shape(kd))
	}
	w, err := f.readFloats(kern)
	if err != nil {
		return Conv{}, false, err
	}
	b, err := f.readFloats(bias)
	if err != nil {
		return Conv{}, false, err
	}
	cin, cout := int(kd[2]), int(kd[3])
	if len(w) != 9*cin*cout || len(b) != cout {
		return Conv{}, false, f.bad("layer %s: %d kernel and %d bias values for shape %s", ln, len(w), len(b), shape(kd))
	}
	c := Conv{Cout: cout, Cin: cin, W: make([]float32, len(w)), B: b}
	// (kh, kw, in, out) -> (out, in, kh, kw)
	for y := 0; y < 3; y++ {
		for x := 0; x < 3; x++ {
			for i := 0; i < cin; i++ {
				src := w[((y*3+x)*cin+i)*cout:][:cout]
				for o, val := range src {
					c.W[(o*cin+i)*9+y*3+x] = val
				}
			}
		}
	}
	return c, true, nil
}

func shape(d []uint64) string {
	s := make([]string, len(d))
	for i, v := range d {
		s[i] = fmt.Sprint(v)
	}
	if len(d) == 1 {
		return "(" + s[0] + ",)"
	}
	return "(" + strings.Join(s, ", ") + ")"
}

func shapes(ds []*h5Dataset) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = shape(d.space.dims)
	}
	return strings.Join(s, ", ")
}
