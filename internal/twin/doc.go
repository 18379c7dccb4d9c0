// Package twin holds the float64 CPU references ("twins") of every GPU
// op and of the whole VGG trunk: the test oracle the GPU is tested
// against. Each twin states in plain loops, in double precision, what a
// WGSL kernel computes in float32; each backward twin is checked against
// central finite differences of its forward twin (fd_test.go), and the
// twin of the whole Gatys loss against the PyTorch float64 oracle in
// testdata/ (see testdata/ORACLE.md).
//
// The package is slow and meant for tests only: the product never
// imports it. It imports ops for the settings the ops share (Pooling,
// Preprocess, SumMode, AdamConfig) and vgg for the layer table, so only
// external test packages (ops_test, vgg_test, ...) can use it.
//
// Layouts are row-major and channel-first, as on the GPU: an activation
// is (c,h,w), a conv's weights (cout,cin,3,3), a Gram matrix (c,c).
package twin
