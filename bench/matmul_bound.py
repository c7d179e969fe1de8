#!/usr/bin/python3
"""The machine's bound on AIS for the 784-400-20 VAE: the four matrix
products that one leapfrog step cannot avoid (the decoder's two layers
forward, their data gradients backward), alone, with nothing else around
them, on a large block of rows so the BLAS runs at its best rate (Debian's
python3-torch, the same LibTorch and OpenBLAS as dgm). No implementation of
the same AIS on this machine can take fewer FLOPs per step, so none can run
more leapfrog steps per second than this (the elementwise work, the
Metropolis test and the step-size rule only add to it).

Prints one JSON line: leapfrog_steps_per_s (rows x products per second) and
gflops.

Usage: bench/matmul_bound.py [--rows 6400] [--seconds 3] [--device cpu|cuda]
"""
import argparse
import json
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=6400)
parser.add_argument("--seconds", type=float, default=3.0)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

latent, hidden, pixels = 20, 400, 784
torch.manual_seed(0)
device = torch.device(args.device)
w1, w2 = torch.randn(hidden, latent, device=device), torch.randn(pixels, hidden, device=device)
z, h = torch.randn(args.rows, latent, device=device), torch.randn(args.rows, hidden, device=device)
d_logits = torch.randn(args.rows, pixels, device=device)


def one_step():
    # forward: z -> hidden -> logits; backward: d logits -> d hidden -> d z
    return z @ w1.T, h @ w2.T, (d_logits @ w2) @ w1


for _ in range(3):
    one_step()
if device.type == "cuda":
    torch.cuda.synchronize()
repeats, start = 0, time.perf_counter()
while time.perf_counter() - start < args.seconds:
    one_step()
    repeats += 1
if device.type == "cuda":
    torch.cuda.synchronize()
seconds = (time.perf_counter() - start) / repeats
flops = 2 * args.rows * 2 * (latent * hidden + hidden * pixels)
print(json.dumps({"rows": args.rows, "leapfrog_steps_per_s": args.rows / seconds, "gflops": flops / seconds / 1e9}))
