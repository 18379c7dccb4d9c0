package twin

import "math"

// This file: the rectifier between VGG19's convolutions. The GPU fuses it
// into conv3x3 (forward: relu, backward: the mask of Conv3x3Backward);
// the trunk twin keeps it apart so that a pass holds the pre-activations.

// Relu returns max(x, 0).
func Relu(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Max(v, 0)
	}
	return y
}
