// Package vgg is VGG19's convolutional trunk on the GPU, built from the
// ops package: forward to the deepest layer the losses need, taps at named
// layers, and the backward pass from gradients at those taps to the image.
package vgg

import (
	"fmt"
	"strings"
)

// Blocks holds the number of 3x3 convs in each of VGG19's five blocks.
var Blocks = [5]int{2, 2, 4, 4, 4}

// Layer is one layer of the trunk: a conv (with its ReLU) or a pool.
type Layer struct {
	Name        string // canonical: "relu1_1" for conv outputs, "pool1" for pools
	Keras       string // "block1_conv1", "block1_pool"
	Torch       int    // torchvision module index in vgg19().features
	Block       int    // 1..5
	Conv        int    // index among the 16 convs, or -1 for a pool
	Pool        bool
	ConvInBlock int // k of relu{b}_{k}; 0 for a pool
}

// Table lists the 21 layers (16 convs, 5 pools) in forward order.
var Table = func() []Layer {
	var t []Layer
	idx, conv := 0, 0
	for b, n := range Blocks {
		for k := 1; k <= n; k++ {
			t = append(t, Layer{Name: fmt.Sprintf("relu%d_%d", b+1, k), Keras: fmt.Sprintf("block%d_conv%d", b+1, k),
				Torch: idx, Block: b + 1, Conv: conv, ConvInBlock: k})
			idx += 2 // conv, ReLU
			conv++
		}
		t = append(t, Layer{Name: fmt.Sprintf("pool%d", b+1), Keras: fmt.Sprintf("block%d_pool", b+1), Torch: idx, Block: b + 1, Conv: -1, Pool: true})
		idx++
	}
	return t
}()

// Index returns the position in Table of a layer named in any scheme:
// relu1_1, conv1_1, block1_conv1, pool1, block1_pool, or a torchvision
// index such as features.3 / 3 (a ReLU index names the conv before it).
func Index(name string) (int, error) {
	n := strings.TrimSpace(strings.ToLower(name))
	n = strings.TrimPrefix(n, "features.")
	for i, l := range Table {
		conv := strings.Replace(l.Name, "relu", "conv", 1)
		if n == l.Name || n == l.Keras || (!l.Pool && n == conv) {
			return i, nil
		}
		if n == fmt.Sprint(l.Torch) || (!l.Pool && n == fmt.Sprint(l.Torch+1)) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("vgg: unknown layer %q (use relu1_1..relu5_4, block1_conv1..block5_conv4, pool1..pool5 or a torchvision index)", name)
}

// Canonical returns the relu{b}_{k} / pool{b} name of a layer named in any scheme.
func Canonical(name string) (string, error) {
	i, err := Index(name)
	if err != nil {
		return "", err
	}
	return Table[i].Name, nil
}

// ParseLayers splits a comma list of layer names and canonicalises them.
func ParseLayers(list string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		c, err := Canonical(p)
		if err != nil {
			return nil, err
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("vgg: no layers in %q", list)
	}
	return out, nil
}
