#!/usr/bin/python3
"""The machine's matrix-multiply rate: the best float32 GFLOP/s of square
products (n = 512 to 4096) on the same LibTorch and BLAS as dgm (Debian's
python3-torch), each timed for about a second after a warm-up. The
denominator of bench/run's "fraction of the matmul rate" rows.

Prints one JSON line: gflops and n (the size that reached it).

Usage: bench/matmul_rate.py [--seconds 1] [--device cpu|cuda]
"""
import argparse
import json
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=1.0)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()
device = torch.device(args.device)
torch.manual_seed(0)


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


best = (0.0, 0)
for n in (512, 1024, 2048, 4096):
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    c = a @ b  # warm-up
    sync()
    repeats, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        torch.mm(a, b, out=c)
        repeats += 1
    sync()
    gflops = 2.0 * n**3 * repeats / (time.perf_counter() - start) / 1e9
    best = max(best, (gflops, n))
print(json.dumps({"gflops": best[0], "n": best[1]}))
