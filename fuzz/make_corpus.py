#!/usr/bin/python3
"""Makes the seed corpus of dgm's fuzz targets (fuzz/corpus/<target>/) with
Debian's python3-torch and NumPy: small, valid files of every kind each
reader accepts, from which libFuzzer mutates. Regression inputs (crashes the
fuzzers found, now fixed) live in fuzz/regressions/<target>/ and are not
made here.

Run from the repository root: fuzz/make_corpus.py
"""
import gzip
import io
import json
import os
import shutil
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as out:
        out.write(data if isinstance(data, bytes) else data.encode())


def idx_bytes(array, code):
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def torch_save_bytes(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def safetensors_bytes(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, array) in tensors.items():
        blob = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def zip_record(data, record):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith(record):
                return archive.read(name)
    raise KeyError(record)


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    images = (np.arange(2 * 3 * 4) * 11 % 256).astype(np.uint8).reshape(2, 3, 4)
    labels = np.array([3, 1, 4, 1], dtype=np.uint8)
    for target in ("idx", "idx_gzip"):
        put(target, "images_u8", idx_bytes(images, 0x08))
        put(target, "labels_u8", idx_bytes(labels, 0x08))
        put(target, "float32", idx_bytes(np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3), 0x0D))
        put(target, "float64", idx_bytes(np.linspace(-1, 1, 4).reshape(4, 1), 0x0E))
        put(target, "int16", idx_bytes(np.arange(-3, 3, dtype=np.int16), 0x0B))
        put(target, "int32", idx_bytes(np.arange(4, dtype=np.int32).reshape(1, 2, 2), 0x0C))
        put(target, "int8", idx_bytes(np.arange(-2, 2, dtype=np.int8), 0x09))
    put("idx", "images_u8.gz", gzip.compress(idx_bytes(images, 0x08), mtime=0))

    arrays = {
        "float32": np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4),
        "float64": np.linspace(-2, 2, 6).reshape(2, 3),
        "uint8": (np.arange(8) * 31 % 256).astype(np.uint8).reshape(2, 4),
        "int64": np.arange(-3, 3, dtype=np.int64),
        "bool": np.array([[True, False], [False, True]]),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "big_endian": np.arange(4, dtype=">f4").reshape(2, 2),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "scalar": np.array(1.5, dtype=np.float32),
        "float16": np.arange(4, dtype=np.float16),
    }
    for name, array in arrays.items():
        put("npy", name, npy_bytes(array))

    x = (np.arange(24, dtype=np.float32) + 0.5).reshape(6, 4)
    for name, save in (("stored", np.savez), ("deflated", np.savez_compressed)):
        buffer = io.BytesIO()
        save(buffer, x=x, y=np.array([0, 1, 2, -1, 1, 0], dtype=np.int64), extra=np.array([7, 9], dtype=np.uint8))
        put("npz", name, buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, np.arange(12, dtype=np.uint8).reshape(3, 2, 2))
    put("npz", "single", buffer.getvalue())

    put("csv", "plain", "0.1,0.2,0.3\n0.4,0.5,0.6\n")
    put("csv", "header", "a,b\n1,2\n3,4\n")
    put("csv", "spaces_crlf", " 1 , 2 \r\n3,4\r\n")
    put("csv", "points", "1.5,-2e3\n-0.25,1e-4\nnan,inf\n")
    put("csv", "one_column", "1\n2\n3\n")

    put("safetensors", "two", safetensors_bytes(
        {"encoder.weight": ("F32", np.arange(6, dtype=np.float32).reshape(2, 3)),
         "encoder.bias": ("F32", np.zeros(2, dtype=np.float32))}, {"format": "pt"}))
    put("safetensors", "dtypes", safetensors_bytes(
        {"h": ("F16", np.arange(3, dtype=np.float16)), "d": ("F64", np.arange(2, dtype=np.float64)),
         "i": ("I64", np.arange(2, dtype=np.int64)), "b": ("BOOL", np.array([True, False])),
         "u": ("U8", np.arange(3, dtype=np.uint8)), "s": ("F32", np.array(2.0, dtype=np.float32))}))

    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    state = OrderedDict()
    state["weight"] = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    state["bias"] = torch.zeros(2)
    state_dict = torch_save_bytes(state)
    mixed = OrderedDict(half=torch.arange(3, dtype=torch.float16), long=torch.arange(3) - 1,
                        shared_a=base, shared_b=base[1], transposed=base.t(),
                        parameter=torch.nn.Parameter(torch.ones(2)))
    checkpoint = torch_save_bytes({"epoch": 3, "model_state_dict": mixed, "names": ["a", "b"],
                                   "lr": 1e-3, "flags": (True, None)})
    plain_dict = torch_save_bytes({"only": torch.ones(1)})
    scripted = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh()))
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    torchscript = buffer.getvalue()
    for name, data in (("state_dict.pt", state_dict), ("checkpoint.pt", checkpoint),
                       ("one_entry.pt", plain_dict), ("torchscript.pt", torchscript)):
        put("torch_archive", name, data)
    put("pickle", "state_dict.pkl", zip_record(state_dict, "data.pkl"))
    put("pickle", "checkpoint.pkl", zip_record(checkpoint, "data.pkl"))
    put("pickle", "one_entry.pkl", zip_record(plain_dict, "data.pkl"))
    put("pickle", "torchscript_data.pkl", zip_record(torchscript, "data.pkl"))
    put("pickle", "torchscript_constants.pkl", zip_record(torchscript, "constants.pkl"))

    configs = os.path.join(os.path.dirname(ROOT), "..", "configs")
    for name in sorted(os.listdir(configs)):
        if name.endswith(".yaml"):
            with open(os.path.join(configs, name)) as config:
                put("config", name, config.read())
    put("config", "overrides", "model:\n  type: vae\n  latent_dim: 8\ntrain:\n  epochs: 2\n  k: 5\n")

    run = {"format": 2, "dgm_version": "0.1.0", "libtorch_version": "1.13.1", "model_type": "vae",
           "data_dim": 784, "image_shape": [1, 28, 28]}
    put("run_json", "vae", json.dumps(run, indent=2) + "\n")
    put("run_json", "format1", json.dumps({k: v for k, v in run.items() if k != "model_type"} | {"format": 1}))
    put("run_json", "points", json.dumps(run | {"model_type": "ppca", "data_dim": 2, "image_shape": []}))


if __name__ == "__main__":
    main()
