#!/usr/bin/env python3
"""Writes the seed corpus of the data-reader fuzzer (fuzz_readers) into this folder.

Small valid files of every format the readers accept, plus one HDF5 file that declares far more
than it stores. Deterministic: the same files every run (gzip without a time stamp, HDF5 without
object times). Needs numpy and h5py (Debian: python3-numpy, python3-h5py).

    python3 tests/fuzz/corpus/readers/make_corpus.py
"""
import gzip
import os
import struct

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240601)


def path(name):
    return os.path.join(HERE, name)


def h5(name, latest=False):
    """A new file whose bytes depend on its contents only (no object time stamps)."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    if latest:
        fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    return h5py.File(h5py.h5f.create(path(name).encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl))


def dataset(f, name, data, **kwargs):
    f.create_dataset(name, data=data, track_times=False, **kwargs)


# ---- HDF5 -----------------------------------------------------------------------------------
with h5("regression.h5") as f:  # float64 features and targets, contiguous
    dataset(f, "features", rng.normal(size=(6, 4)))
    dataset(f, "targets", rng.normal(size=6))

with h5("classes_owner.h5") as f:  # float32 features, int32 labels, owner column
    dataset(f, "features", rng.normal(size=(8, 3)).astype(np.float32))
    dataset(f, "targets", np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype=np.int32))
    dataset(f, "owner", np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=np.int32))

with h5("deflate.h5") as f:  # chunked, shuffle + deflate + fletcher32; float labels, m x 1
    dataset(f, "features", rng.normal(size=(10, 4)), chunks=(4, 4), compression="gzip", shuffle=True, fletcher32=True)
    dataset(f, "targets", np.array([[0], [1], [1], [0], [2], [2], [0], [1], [2], [0]], dtype=np.float64), chunks=(5, 1),
            compression="gzip")

with h5("latest.h5", latest=True) as f:  # newest format: checksummed metadata; int64 labels, uint8 features
    dataset(f, "features", rng.integers(0, 255, size=(5, 2)).astype(np.uint8))
    dataset(f, "targets", np.array([1, 0, 1, 1, 0], dtype=np.int64))

with h5("declares_huge.h5") as f:  # 1e9 x 1000 float64 declared, nothing written: a few KB
    f.create_dataset("features", shape=(10**9, 1000), chunks=(1, 1000), dtype="f8", track_times=False)
    f.create_dataset("targets", shape=(10**9,), chunks=(1000,), dtype="f8", track_times=False)

# ---- LIBSVM ---------------------------------------------------------------------------------
with open(path("binary.svm"), "w") as f:
    f.write("# binary labels, sparse rows, a query id\n")
    f.write("+1 1:0.5 3:-2 7:1e-3\n-1 2:1.25 4:3   # trailing comment\n\n+1 qid:3 1:1 5:7\n-1 6:0.25 7:-0.5\n")

with open(path("multiclass.svm"), "w") as f:
    for i in range(12):
        cols = sorted(rng.choice(np.arange(1, 9), size=3, replace=False))
        f.write(f"{[3, 7, 11][i % 3]} " + " ".join(f"{c}:{rng.normal():.6g}" for c in cols) + "\n")

with open(path("regression.svm"), "w") as f:
    for i in range(8):
        f.write(f"{rng.normal():.6g} 1:{rng.normal():.6g} 2:{rng.normal():.6g} 4:{rng.normal():.6g}\r\n")

# ---- IDX --------------------------------------------------------------------------------------
images = rng.integers(0, 256, size=(6, 4, 5), dtype=np.uint8)
labels = np.array([0, 9, 3, 3, 7, 1], dtype=np.uint8)
idx3 = struct.pack(">IIII", 0x803, 6, 4, 5) + images.tobytes()
idx1 = struct.pack(">II", 0x801, 6) + labels.tobytes()
for stem, payload in (("mnist-images.idx3", idx3), ("mnist-labels.idx1", idx1)):
    with open(path(stem), "wb") as f:
        f.write(payload)
    with open(path(stem + ".gz"), "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
            f.write(payload)
