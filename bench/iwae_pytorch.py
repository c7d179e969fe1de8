#!/usr/bin/python3
"""The peer of `dgm eval --k 5000`: the IWAE-k bound of the 784-400-20 VAE
over test images as a plain PyTorch loop (Debian's python3-torch, the same
LibTorch build): batches of images, samples in chunks, a log-sum-exp across
chunks. Weights are random (speed does not depend on them). Prints one JSON line.

Usage: bench/iwae_pytorch.py [--n 200] [--k 5000] [--chunk 250] [--batch-size 100] [--threads T] [--device cpu|cuda]
"""
import argparse
import gzip
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
parser.add_argument("--n", type=int, default=200)
parser.add_argument("--k", type=int, default=5000)
parser.add_argument("--chunk", type=int, default=250)
parser.add_argument("--batch-size", type=int, default=100)
parser.add_argument("--device", default="cpu")
parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
args = parser.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)

torch.manual_seed(0)
with gzip.open(args.data, "rb") as f:
    raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
x_all = torch.bernoulli(torch.from_numpy(raw.reshape(-1, 784).astype(np.float32) / 255.0)[: args.n]).to(args.device)

enc = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 40))
dec = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784))
enc.to(args.device)
dec.to(args.device)
half_log_2pi = 0.5 * math.log(2 * math.pi)

start = time.perf_counter()
bounds = []
with torch.no_grad():
    for i in range(0, args.n, args.batch_size):
        x = x_all[i:i + args.batch_size]
        mu, logvar = enc(x).chunk(2, -1)
        std = torch.exp(0.5 * logvar)
        chunks = []
        for s in range(0, args.k, args.chunk):
            eps = torch.randn(min(args.chunk, args.k - s), *mu.shape, device=mu.device)
            z = mu + std * eps
            logits = dec(z)
            log_px_z = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)
            log_pz = (-0.5 * z.pow(2) - half_log_2pi).sum(-1)
            log_qz = (-0.5 * eps.pow(2) - 0.5 * logvar - half_log_2pi).sum(-1)
            chunks.append(torch.logsumexp(log_px_z + log_pz - log_qz, 0))
        bounds.append(torch.logsumexp(torch.stack(chunks), 0) - math.log(args.k))
if args.device.startswith("cuda"):
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
print(json.dumps({"peer": "pytorch", "n": args.n, "k": args.k, "images_per_s": args.n / seconds,
                  "iwae": torch.cat(bounds).mean().item(), "seconds": seconds,
                  "threads": torch.get_num_threads()}))
