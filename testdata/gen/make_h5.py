#!/usr/bin/python3
"""Make the Keras-format VGG19 fixtures for weights/h5_test.go.

Run from the repository root with Debian's python (it has h5py and torch):

    /usr/bin/python3 testdata/gen/make_h5.py

It writes, all deterministic (fixed seed, no timestamps in the HDF5 files):

  testdata/tiny_vgg19_keras.h5
      Small-width VGG19 (block widths 4,8,8,16,16) in exactly the layout that
      Keras's save_weights_to_hdf5_group writes (keras.engine.saving and
      keras.src.legacy.saving.legacy_h5_format), as in the seed's
      vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5:
        root attrs  layer_names   = [b'input_1', b'block1_conv1', ..., b'block5_pool']
                    backend       = b'tensorflow'
                    keras_version = b'2.x'
        one group per layer (created in name order, as Keras sorts them), attr
                    weight_names  = [b'<layer>/kernel:0', b'<layer>/bias:0'],
                                    or an empty list for input and pool layers
        datasets    /<layer>/<layer>/kernel:0  float32 (3, 3, in, out)
                    /<layer>/<layer>/bias:0    float32 (out,)
  testdata/tiny_vgg19_keras_ref.safetensors
      The same weights in torchvision layout, features.{i}.weight
      (out, in, 3, 3) and features.{i}.bias, written by hand (8-byte
      little-endian header length, JSON header, raw little-endian float32).
  testdata/tiny_vgg19_keras_{unrelated,badshape,missing,nan}.h5
      Bad files for the error tests, on tiny widths (2,2,2,2,2) to stay small:
      an HDF5 file with one unrelated dataset and no layers; block2_conv1's
      kernel of shape (1, 1, 2, 2); block3_conv2 listed in layer_names but its
      group absent; a NaN in block4_conv3's kernel.

Before writing anything it checks numerically that Keras kernels need only a
transpose, no spatial flip: the first conv computed by torch.nn.functional.conv2d
on the (out, in, kh, kw) weights equals a TensorFlow-style conv2d (which, like
PyTorch, is a cross-correlation) written out in numpy on the (kh, kw, in, out)
kernel, while the flipped kernel gives a different result.
"""

import json
import os
import struct

import h5py
import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240601
WIDTHS = (4, 8, 8, 16, 16)
BLOCK_CONVS = (2, 2, 4, 4, 4)
TORCH_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)  # testdata/


def conv_names():
    return ["block%d_conv%d" % (b + 1, k + 1) for b, n in enumerate(BLOCK_CONVS) for k in range(n)]


def layer_names():
    """Keras VGG19(include_top=False).layers, in model order."""
    names = ["input_1"]
    for b, n in enumerate(BLOCK_CONVS):
        names += ["block%d_conv%d" % (b + 1, k + 1) for k in range(n)]
        names.append("block%d_pool" % (b + 1))
    return names


def make_weights(widths, seed):
    """He-initialised float32 weights: {conv name: (kernel (3,3,in,out), bias (out,))}."""
    rng = np.random.RandomState(seed)
    out = {}
    cin = 3
    i = 0
    for b, n in enumerate(BLOCK_CONVS):
        cout = widths[b]
        for k in range(n):
            std = np.sqrt(2.0 / (9 * cin))
            if i == 0:
                std /= 128.0  # Caffe inputs span about +-128
            kernel = (rng.standard_normal((3, 3, cin, cout)) * std).astype(np.float32)
            bias = (rng.standard_normal(cout) * 0.01).astype(np.float32)
            out[conv_names()[i]] = (kernel, bias)
            cin = cout
            i += 1
    return out


def tf_conv2d_same(x, kernel, bias):
    """TensorFlow's tf.nn.conv2d(x, kernel, strides=1, padding='SAME') + bias, in
    numpy: x (H, W, in), kernel (kh, kw, in, out). TF computes a
    cross-correlation: y[i, j, o] = sum_{di, dj, c} xpad[i+di, j+dj, c] * kernel[di, dj, c, o]."""
    h, w, _ = x.shape
    kh, kw, _, cout = kernel.shape
    xp = np.pad(x.astype(np.float64), ((kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    y = np.zeros((h, w, cout))
    for di in range(kh):
        for dj in range(kw):
            y += np.einsum("ijc,co->ijo", xp[di:di + h, dj:dj + w, :], kernel[di, dj].astype(np.float64))
    return y + bias.astype(np.float64)


def check_no_flip(weights):
    """Assert that transposing (kh,kw,in,out) -> (out,in,kh,kw), without a flip,
    makes torch's conv2d agree with TF's on the first conv."""
    kernel, bias = weights["block1_conv1"]
    rng = np.random.RandomState(SEED + 1)
    img = rng.uniform(-128, 128, size=(7, 9, 3))  # HWC, Caffe-like range
    ref = tf_conv2d_same(img, kernel, bias)
    w = torch.from_numpy(kernel.transpose(3, 2, 0, 1).astype(np.float64))
    x = torch.from_numpy(img.transpose(2, 0, 1)[None].copy())
    got = F.conv2d(x, w, torch.from_numpy(bias.astype(np.float64)), padding=1)[0].numpy().transpose(1, 2, 0)
    err = np.abs(got - ref).max()
    assert err < 1e-9 * max(1.0, np.abs(ref).max()), "transposed kernel disagrees with TF conv: %g" % err
    wf = torch.from_numpy(np.ascontiguousarray(kernel[::-1, ::-1].transpose(3, 2, 0, 1)).astype(np.float64))
    flipped = F.conv2d(x, wf, torch.from_numpy(bias.astype(np.float64)), padding=1)[0].numpy().transpose(1, 2, 0)
    assert np.abs(flipped - ref).max() > 1e-3 * np.abs(ref).max(), "the flip check cannot tell a flip apart"
    print("no-flip check: max |torch - tf| = %.3g, max |torch(flipped) - tf| = %.3g, max |tf| = %.3g"
          % (err, np.abs(flipped - ref).max(), np.abs(ref).max()))


def write_keras_h5(path, weights, names=None, skip_group=None):
    """Write weights as Keras's save_weights_to_hdf5_group does, with h5py's
    defaults as Keras uses them: libver 'earliest' (superblock 0, symbol-table
    groups, version 1 object headers) and contiguous datasets."""
    names = layer_names() if names is None else names
    # Keras hands h5py lists of bytes; h5py 2, which wrote the seed's 2016 file,
    # stored them (and bytes scalars) as HDF5 fixed-length strings, as these
    # np.array / np.bytes_ values do. (h5py 3 stores a plain list of bytes as
    # variable-length strings, so newer Keras files differ there.)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode("utf8") for n in names])
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = np.bytes_(b"2.x")
        for name in sorted(names):
            if name == skip_group:
                continue
            g = f.create_group(name)
            if name in weights:
                kernel, bias = weights[name]
                wn = [("%s/kernel:0" % name).encode("utf8"), ("%s/bias:0" % name).encode("utf8")]
                g.attrs["weight_names"] = np.array(wn)
                for n, val in zip(wn, (kernel, bias)):
                    d = g.create_dataset(n.decode("utf8"), val.shape, dtype=val.dtype)
                    d[:] = val
            else:
                # Keras writes the empty list as is; h5py stores it as an empty
                # float64 array attribute.
                g.attrs["weight_names"] = []


def write_safetensors(path, weights, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    off = 0
    for idx, name in zip(TORCH_INDICES, conv_names()):
        kernel, bias = weights[name]
        w = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)).astype("<f4")
        for key, arr in (("features.%d.weight" % idx, w), ("features.%d.bias" % idx, bias.astype("<f4"))):
            data = arr.tobytes()
            header[key] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(data)]}
            blobs.append(data)
            off += len(data)
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf8")
    h += b" " * (-len(h) % 8)  # pad so the data is 8-byte aligned, as safetensors does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    weights = make_weights(WIDTHS, SEED)
    check_no_flip(weights)

    write_keras_h5(os.path.join(OUT, "tiny_vgg19_keras.h5"), weights)
    write_safetensors(os.path.join(OUT, "tiny_vgg19_keras_ref.safetensors"), weights, {
        "source": "testdata/gen/make_h5.py: Keras-layout VGG19, widths %s, seed %d" % (",".join(map(str, WIDTHS)), SEED),
        "preprocess": "caffe",
    })

    # Bad files, on tiny widths.
    small = make_weights((2, 2, 2, 2, 2), SEED + 2)
    with h5py.File(os.path.join(OUT, "tiny_vgg19_keras_unrelated.h5"), "w") as f:
        f.create_dataset("temperature", data=np.arange(6, dtype=np.float32).reshape(2, 3))
        f.attrs["units"] = b"kelvin"

    bad = dict(small)
    bad["block2_conv1"] = (small["block2_conv1"][0][1:2, 1:2], small["block2_conv1"][1])
    write_keras_h5(os.path.join(OUT, "tiny_vgg19_keras_badshape.h5"), bad)

    write_keras_h5(os.path.join(OUT, "tiny_vgg19_keras_missing.h5"), small, skip_group="block3_conv2")

    nan = dict(small)
    k = small["block4_conv3"][0].copy()
    k[1, 2, 0, 1] = np.nan
    nan["block4_conv3"] = (k, small["block4_conv3"][1])
    write_keras_h5(os.path.join(OUT, "tiny_vgg19_keras_nan.h5"), nan)


if __name__ == "__main__":
    main()
