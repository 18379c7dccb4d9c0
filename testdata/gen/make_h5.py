#!/usr/bin/python3
"""Make the Keras-format VGG19 fixtures for weights/h5_test.go.

Run from the repository root with Debian's python (it has h5py and torch):

    /usr/bin/python3 testdata/gen/make_h5.py

It writes, all deterministic (fixed seed, no timestamps in the HDF5 files):

  testdata/tiny_vgg19_keras.h5
      Small-width VGG19 (block widths 4,8,8,16,16) in exactly the layout that
      Keras's save_weights_to_hdf5_group writes (keras.engine.saving and
      keras.src.legacy.saving.legacy_h5_format), as in the seed's
      vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 (which has Keras 1's
      weight names, though: see tiny_vgg19_keras1.h5):
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
  testdata/tiny_vgg19_keras1.h5
      The same, with the weights named as Keras 1 named them and as the
      published vgg16/vgg19 ..._tf_kernels_notop.h5 files have them:
      weight_names = [b'block1_conv1_W_1:0', b'block1_conv1_b_1:0'] and the
      datasets /block1_conv1/block1_conv1_W_1:0 and /block1_conv1/block1_conv1_b_1:0.
  testdata/tiny_vgg19_keras_gzip.h5
      The same weights and layout in chunked datasets with the shuffle and
      gzip (deflate) filters, some also fletcher32, chunk shapes that leave
      partial chunks at the edges, and some biases contiguous. The file has
      a 512-byte user block (the superblock is at 512), and small B-tree
      parameters (group K 1/1, chunk K 2, set through libhdf5 by ctypes, as
      h5py does not expose them) so that the group B-trees and chunk B-trees
      have several levels; the non-default chunk K makes it superblock 1.
  testdata/tiny_vgg19_keras_latest.h5
      The same weights written with libver='latest': superblock 3, version 2
      object headers, new-style groups (the root's 22 links in dense
      storage: a fractal heap and a version 2 B-tree, with 40 more empty
      groups so that the B-tree needs an internal node; the layer groups'
      in link messages), 9 root attributes so that they too are dense,
      layer_names and weight_names as variable-length strings (h5py 3's
      choice for a list of bytes), and layout version 4 datasets:
      contiguous, compact, chunked with gzip (fixed-array and single-chunk
      indexes, one with partial edge chunks left unfiltered), chunked without
      filters and allocated early (implicit index), one kernel stored as
      float64 and one bias big-endian.
  testdata/tiny_vgg19_keras_model.h5
      The same weights as Model.save writes them: the Keras layout under
      /model_weights, model_config and training_config JSON at the root, an
      optimizer_weights group; layer_names as variable-length strings in a
      libver 'earliest' file, Keras 3 weight names (block1_conv1/kernel,
      without ":0"), and block2_conv1's weight_names split into
      weight_names0 and weight_names1 as Keras does for large attributes.
  testdata/tiny_vgg19_keras_fuzz_{v0,latest}.h5
      Small files for FuzzReadKerasH5 to start from: one conv of width 2,
      chunked with shuffle, gzip and fletcher32 in a superblock 0 file, and
      chunked with gzip, partial edge chunks unfiltered, in a libver='latest'
      one whose root tracks the creation order of its links and attributes
      (h5py's track_order=True).
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

import ctypes
import json
import os
import struct
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240601
WIDTHS = (4, 8, 8, 16, 16)
BLOCK_CONVS = (2, 2, 4, 4, 4)
TORCH_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(HERE)  # testdata/, or the directory given


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


def write_keras_h5(path, weights, names=None, skip_group=None, keras1=False):
    """Write weights as Keras's save_weights_to_hdf5_group does, with h5py's
    defaults as Keras uses them: libver 'earliest' (superblock 0, symbol-table
    groups, version 1 object headers) and contiguous datasets. keras1 names
    the weights as Keras 1 did, <layer>_W_1:0 and <layer>_b_1:0 directly in
    the layer's group, as the published Keras Applications files have them."""
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
                if keras1:
                    wn = [("%s_W_1:0" % name).encode("utf8"), ("%s_b_1:0" % name).encode("utf8")]
                else:
                    wn = [("%s/kernel:0" % name).encode("utf8"), ("%s/bias:0" % name).encode("utf8")]
                g.attrs["weight_names"] = np.array(wn)
                for n, val in zip(wn, (kernel, bias)):
                    d = g.create_dataset(n.decode("utf8"), val.shape, dtype=val.dtype)
                    d[:] = val
            else:
                # Keras writes the empty list as is; h5py stores it as an empty
                # float64 array attribute.
                g.attrs["weight_names"] = []


def libhdf5():
    """The libhdf5 that h5py uses, for the few settings h5py does not expose."""
    lib = ctypes.CDLL("libhdf5_serial.so.103")
    for fn in ("H5Pset_sym_k", "H5Pset_istore_k", "H5Pset_chunk_opts"):
        getattr(lib, fn).restype = ctypes.c_int
    return lib


def create_file(path, sym_k=None, istore_k=None, userblock=0, latest=False, track_order=False):
    """h5py.File(path, "w") with a file creation property list of our own."""
    lib = libhdf5()
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)  # no creation times in the root group's header
    if track_order:
        fcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
        fcpl.set_attr_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
    if userblock:
        fcpl.set_userblock(userblock)
    if sym_k:
        assert lib.H5Pset_sym_k(ctypes.c_int64(fcpl.id), sym_k[0], sym_k[1]) >= 0
    if istore_k:
        assert lib.H5Pset_istore_k(ctypes.c_int64(fcpl.id), istore_k) >= 0
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    if latest:
        fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl, fcpl=fcpl)
    return h5py.File(fid)


def vlen_strings(obj, name, values):
    """A list of bytes as h5py 3 stores it: variable-length strings."""
    obj.attrs.create(name, values, dtype=h5py.string_dtype("ascii"))


def write_layers(f, weights, names, make_dataset, strings, weight_names=None, split=(), make_group=None):
    """The Keras layout in group f: layer_names, then one group per layer
    with weight_names and the datasets, made by make_dataset(group, name, i,
    value) where i counts the datasets written, and the groups by
    make_group(parent, name)."""
    make_group = make_group or (lambda parent, name: parent.create_group(name))
    strings(f, "layer_names", [n.encode("utf8") for n in names])
    i = 0
    for name in sorted(names):
        g = make_group(f, name)
        if name not in weights:
            g.attrs["weight_names"] = []
            continue
        wn = (weight_names or (lambda n: ["%s/kernel:0" % n, "%s/bias:0" % n]))(name)
        wn = [w.encode("utf8") for w in wn]
        if name in split:
            # Keras's save_attributes_to_hdf5_group splits attributes over
            # 64 KiB into name0, name1, ...
            for j, w in enumerate(wn):
                strings(g, "weight_names%d" % j, [w])
        else:
            strings(g, "weight_names", wn)
        for n, val in zip(wn, weights[name]):
            parent = g
            *dirs, base = n.decode("utf8").split("/")
            for d in dirs:
                parent = parent[d] if d in parent else make_group(parent, d)
            make_dataset(parent, base, i, val)
            i += 1


def write_gzip_h5(path, weights, names=None, sym_k=(1, 1), istore_k=2, userblock=512):
    def dataset(g, name, i, val):
        if val.ndim == 1:
            if i % 4 == 1:
                g.create_dataset(name, data=val)  # contiguous
            else:
                g.create_dataset(name, data=val, chunks=(3,), shuffle=True, compression="gzip")
            return
        if i == 0:
            chunks = (1, 1, 1, val.shape[3])  # 27 chunks: a deep chunk B-tree
        else:
            chunks = (2, 2, max(1, val.shape[2] - 3), max(1, val.shape[3] // 2 + 1))
        g.create_dataset(name, data=val, chunks=chunks, shuffle=True, compression="gzip",
                         compression_opts=1 + i % 9, fletcher32=(i % 3 == 0))

    with create_file(path, sym_k=sym_k, istore_k=istore_k, userblock=userblock) as f:
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = np.bytes_(b"2.x")
        write_layers(f, weights, names or layer_names(), dataset,
                     lambda o, n, v: o.attrs.__setitem__(n, np.array(v)))


def write_latest_h5(path, weights, names=None, notes=6, extra_groups=0, kind_offset=0, track_order=False):
    lib = libhdf5()

    def dataset(g, name, i, val):
        if i == 6:
            val = val.astype(np.float64)  # exact: every float32 is a float64
        if i == 9:
            val = val.astype(">f4")
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        kind = (i // 2 + kind_offset) % 6 if val.ndim == 4 else ("compact" if i % 4 == 1 else "contiguous")
        if kind == "compact":
            dcpl.set_layout(h5py.h5d.COMPACT)
        elif kind in (2, 4):  # gzip, fixed-array index; 4 leaves partial edge chunks unfiltered
            dcpl.set_chunk((2, 2, max(1, val.shape[2] - 1), val.shape[3]))
            dcpl.set_shuffle()
            dcpl.set_deflate(6)
            if kind == 4:
                assert lib.H5Pset_chunk_opts(ctypes.c_int64(dcpl.id), 0x0002) >= 0
        elif kind == 3:  # one chunk: the single-chunk index
            dcpl.set_chunk(val.shape)
            dcpl.set_deflate(4)
        elif kind == 5:  # unfiltered, allocated early: the implicit index
            dcpl.set_chunk((2, 3, val.shape[2], 3))
            dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        else:
            dcpl.set_layout(h5py.h5d.CONTIGUOUS)
        dcpl.set_obj_track_times(False)
        space = h5py.h5s.create_simple(val.shape)
        tid = h5py.h5t.py_create(val.dtype)
        d = h5py.h5d.create(g.id, name.encode("utf8"), tid, space, dcpl=dcpl)
        d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(val))

    def group(parent, name):
        # h5py's create_group would record creation times in the v2 headers.
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        gcpl.set_obj_track_times(False)
        return h5py.Group(h5py.h5g.create(parent.id, name.encode("utf8"), gcpl=gcpl))

    with create_file(path, latest=True, track_order=track_order) as f:
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = np.bytes_(b"2.x")
        for j in range(notes):
            f.attrs["note%d" % j] = np.bytes_(b"more than 8 attributes make the root's attributes dense")
        write_layers(f, weights, names or layer_names(), dataset, vlen_strings, make_group=group)
        # More links than one v2 B-tree leaf holds, for an internal node.
        for j in range(extra_groups):
            group(f, "unused_%02d" % j)


def write_model_h5(path, weights):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = np.bytes_(b"3.x")
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["model_config"] = np.bytes_(json.dumps({"class_name": "Functional", "config": {"name": "vgg19"}}).encode())
        f.attrs["training_config"] = np.bytes_(b'{"loss": "mse"}')
        mw = f.create_group("model_weights")
        mw.attrs["backend"] = np.bytes_(b"tensorflow")
        write_layers(mw, weights, layer_names(), lambda g, n, i, v: g.create_dataset(n, data=v), vlen_strings,
                     weight_names=lambda n: ["%s/kernel" % n, "%s/bias" % n], split=("block2_conv1",))
        og = f.create_group("optimizer_weights")
        vlen_strings(og, "weight_names", [b"iteration:0"])
        og.create_dataset("iteration:0", data=np.int64(7))


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

    write_keras_h5(os.path.join(OUT, "tiny_vgg19_keras1.h5"), weights, keras1=True)
    write_gzip_h5(os.path.join(OUT, "tiny_vgg19_keras_gzip.h5"), weights)
    write_latest_h5(os.path.join(OUT, "tiny_vgg19_keras_latest.h5"), weights, extra_groups=40)
    write_model_h5(os.path.join(OUT, "tiny_vgg19_keras_model.h5"), weights)

    # Bad files, on tiny widths.
    small = make_weights((2, 2, 2, 2, 2), SEED + 2)
    with h5py.File(os.path.join(OUT, "tiny_vgg19_keras_unrelated.h5"), "w") as f:
        f.create_dataset("temperature", data=np.arange(6, dtype=np.float32).reshape(2, 3))
        f.attrs["units"] = b"kelvin"

    bad = dict(small)
    bad["block2_conv1"] = (small["block2_conv1"][0][1:2, 1:2], small["block2_conv1"][1])
    write_keras_h5(os.path.join(OUT, "tiny_vgg19_keras_badshape.h5"), bad)

    write_keras_h5(os.path.join(OUT, "tiny_vgg19_keras_missing.h5"), small, skip_group="block3_conv2")

    # Small files for the fuzzer to start from: one conv of width 2.
    one = {"block1_conv1": small["block1_conv1"]}
    write_gzip_h5(os.path.join(OUT, "tiny_vgg19_keras_fuzz_v0.h5"), one, ["input_1", "block1_conv1", "block1_pool"],
                  sym_k=None, istore_k=None, userblock=0)
    write_latest_h5(os.path.join(OUT, "tiny_vgg19_keras_fuzz_latest.h5"), one, ["input_1", "block1_conv1"], notes=0, kind_offset=4,
                    track_order=True)

    nan = dict(small)
    k = small["block4_conv3"][0].copy()
    k[1, 2, 0, 1] = np.nan
    nan["block4_conv3"] = (k, small["block4_conv3"][1])
    write_keras_h5(os.path.join(OUT, "tiny_vgg19_keras_nan.h5"), nan)


if __name__ == "__main__":
    main()
