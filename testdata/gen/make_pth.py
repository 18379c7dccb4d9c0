#!/usr/bin/python3
"""Generate the PyTorch .pth test fixtures of package weights.

Run from the module root with a Python that has PyTorch (Debian's 1.13 works):

    /usr/bin/python3 testdata/gen/make_pth.py

It builds a VGG19 `features` trunk with tiny widths (4, 8, 8, 16, 16), laid out
exactly like torchvision's vgg19().features (Conv2d 3x3 pad 1 + ReLU, with a
MaxPool2d closing each block, so the convs sit at indices 0, 2, 5, 7, 10, ...),
fills it from a fixed seed and writes into testdata/:

  tiny_vgg19.safetensors       the reference: the same float32 weights in the
                               project's safetensors layout, written by hand
                               (8-byte LE header length, JSON header, data)
  tiny_vgg19.pth               torch.save(model.state_dict()) - zip format
  tiny_vgg19_legacy.pth        the same with _use_new_zipfile_serialization=False
                               (the pre-1.6 format of torchvision's
                               vgg19-dcbb9e9d.pth and vgg19-d01eb7cb.pth)
  tiny_vgg19_half_module.pth   legacy format, float16, keys "module.features.N.*"
                               as nn.DataParallel writes them, plus classifier
                               layers the reader must ignore
  tiny_vgg19_f64_features.pth  zip format, pickle protocol 4, float64, a state
                               dict of `features` alone (keys "N.weight"), with
                               one weight stored
                               non-contiguously (a permuted view) and one bias at
                               a non-zero storage offset
  tiny_vgg19_badshape.pth      zip; features.5.weight has shape (8, 4, 1, 1)
  tiny_vgg19_missing.pth       zip; layer features.10 is left out
  malicious_os_system.pth      a zip laid out like torch.save's whose data.pkl
                               REDUCEs os.system; written by hand and never
                               loaded by this script

The float values are deterministic (torch.Generator seeded with SEED). The
legacy files name their storages by memory address, so their bytes differ
from run to run while the values stay the same.
"""

import collections
import json
import os
import pickle
import struct
import sys
import zipfile

import torch
import torch.nn as nn

SEED = 20240611
WIDTHS = (4, 8, 8, 16, 16)
BLOCKS = (2, 2, 4, 4, 4)  # convs per block, as in VGG19

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)  # testdata/


def tiny_features():
    """nn.Sequential with torchvision vgg19().features' module indices."""
    layers = []
    cin = 3
    for width, n in zip(WIDTHS, BLOCKS):
        for _ in range(n):
            layers += [nn.Conv2d(cin, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            cin = width
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    seq = nn.Sequential(*layers)
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for m in seq:
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * 9
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.01)
    return seq


class TinyVGG19(nn.Module):
    """features + a small classifier, so state_dict keys are features.N.*."""

    def __init__(self):
        super().__init__()
        self.features = tiny_features()
        self.classifier = nn.Sequential(nn.Linear(WIDTHS[-1], 6), nn.ReLU(True), nn.Linear(6, 3))


def conv_indices(seq):
    return [i for i, m in enumerate(seq) if isinstance(m, nn.Conv2d)]


def write_safetensors(path, tensors, metadata):
    """Write float32 tensors in safetensors layout without the safetensors package."""
    header = {"__metadata__": metadata}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_malicious(path):
    """A torch.save-style zip whose data.pkl calls os.system('...') on load.

    Protocol-2 opcodes, written by hand: PROTO 2, GLOBAL 'os system',
    BINUNICODE cmd, TUPLE1, REDUCE, STOP.
    """
    cmd = b"echo pwned-by-stylize-fixture > /tmp/stylize_pth_pwned"
    pkl = (b"\x80\x02" + b"cos\nsystem\n" + b"X" + struct.pack("<I", len(cmd)) + cmd
           + b"\x85" + b"R" + b".")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")


def save(obj, name, legacy=False, protocol=2):
    path = os.path.join(OUT, name)
    torch.save(obj, path, pickle_protocol=protocol, _use_new_zipfile_serialization=not legacy)
    print(f"{name}: {os.path.getsize(path)} bytes")


def main():
    torch.manual_seed(SEED)  # nothing random should depend on it, but be safe
    model = TinyVGG19()
    feats = model.features
    idx = conv_indices(feats)
    assert idx == [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34], idx

    ref = {}
    for i in idx:
        ref[f"features.{i}.weight"] = feats[i].weight
        ref[f"features.{i}.bias"] = feats[i].bias
    write_safetensors(os.path.join(OUT, "tiny_vgg19.safetensors"), ref, {
        "source": "testdata/gen/make_pth.py (tiny VGG19, widths %s, seed %d)" % (list(WIDTHS), SEED),
        "preprocess": "caffe",
        "synthetic": "true",
    })
    print("tiny_vgg19.safetensors: %d bytes" % os.path.getsize(os.path.join(OUT, "tiny_vgg19.safetensors")))

    sd = model.state_dict()
    save(sd, "tiny_vgg19.pth")
    save(sd, "tiny_vgg19_legacy.pth", legacy=True)

    half = collections.OrderedDict(("module." + k, v.half()) for k, v in sd.items())
    save(half, "tiny_vgg19_half_module.pth", legacy=True)

    f64 = collections.OrderedDict((k, v.double()) for k, v in feats.state_dict().items())
    w0 = f64["0.weight"]
    f64["0.weight"] = w0.permute(1, 0, 2, 3).contiguous().permute(1, 0, 2, 3)
    assert not f64["0.weight"].is_contiguous() and torch.equal(f64["0.weight"], w0)
    b2 = f64["2.bias"]
    f64["2.bias"] = torch.cat([torch.zeros(5, dtype=torch.float64), b2])[5:]
    assert f64["2.bias"].storage_offset() == 5 and torch.equal(f64["2.bias"], b2)
    save(f64, "tiny_vgg19_f64_features.pth", protocol=4)

    bad = collections.OrderedDict(sd)
    bad["features.5.weight"] = bad["features.5.weight"][:, :, 1:2, 1:2].contiguous()
    save(bad, "tiny_vgg19_badshape.pth")

    missing = collections.OrderedDict((k, v) for k, v in sd.items() if not k.startswith("features.10."))
    save(missing, "tiny_vgg19_missing.pth")

    write_malicious(os.path.join(OUT, "malicious_os_system.pth"))
    print("malicious_os_system.pth: %d bytes" % os.path.getsize(os.path.join(OUT, "malicious_os_system.pth")))

    # Self-check with torch itself (never on the malicious file).
    for name in ("tiny_vgg19.pth", "tiny_vgg19_legacy.pth"):
        back = torch.load(os.path.join(OUT, name))
        for k, v in ref.items():
            assert torch.equal(back[k], v.detach()), (name, k)


if __name__ == "__main__":
    sys.exit(main())
