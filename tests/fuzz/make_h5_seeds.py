#!/usr/bin/python3
"""Writes fuzz_tf_h5's seed corpus: small HDF5 files in the Keras layout transformers' TF classes
save (root attribute layer_names, per-layer group attribute weight_names, one float dataset per
weight), in the variants a reader meets (compact 'latest' format, and h5py's default): fixed and variable-length names, a list split into
layer_names0/1, an empty list (Keras writes a float64 array of 0), float16/64 datasets, a chunked
gzip dataset. h5py (Debian python3-h5py) for /usr/bin/python3; nothing committed.
Usage: make_h5_seeds.py OUT_DIR
"""
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def names(obj, key, items, variable=False, split=False):
    if not items:
        obj.attrs[key] = np.zeros(0)
        return
    if split and len(items) > 1:
        names(obj, key + "0", items[:1], variable)
        names(obj, key + "1", items[1:], variable)
        return
    if variable:
        obj.attrs.create(key, items, dtype=h5py.string_dtype())
    else:
        obj.attrs[key] = np.array([s.encode() for s in items])


def keras(path, variable=False, split=False, dtype=np.float32, gzip=False, libver="latest"):
    layers = {
        "bert": [("m/bert/embeddings/word_embeddings/weight:0", (5, 4)),
                 ("m/bert/encoder/layer_._0/attention/self/query/kernel:0", (4, 4)),
                 ("m/bert/encoder/layer_._0/output/LayerNorm/gamma:0", (4,))],
        "dropout_4": [],
        "classifier": [("m/classifier/kernel:0", (4, 2)), ("m/classifier/bias:0", (2,))],
    }
    with h5py.File(path, "w", libver=libver) as f:
        names(f, "layer_names", list(layers), variable, split)
        f.attrs["backend"] = b"tensorflow"
        for layer, weights in sorted(layers.items()):
            g = f.create_group(layer)
            names(g, "weight_names", [w for w, _ in weights], variable)
            for w, shape in weights:
                data = (np.arange(np.prod(shape)).reshape(shape) / 7).astype(dtype)
                if gzip:
                    g.create_dataset(w, data=data, chunks=True, compression="gzip")
                else:
                    g.create_dataset(w, data=data)


keras(f"{out}/fixed.h5")
keras(f"{out}/fixed-v0.h5", libver="earliest")  # the superblock and B-tree groups h5py writes by default
keras(f"{out}/variable.h5", variable=True)
keras(f"{out}/split.h5", split=True)
keras(f"{out}/f16.h5", dtype=np.float16)
keras(f"{out}/f64.h5", dtype=np.float64)
keras(f"{out}/gzip.h5", gzip=True)
