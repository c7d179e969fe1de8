#!/usr/bin/python3
"""The peer of `dgm estimate --estimators ais`: AIS with HMC for the
784-400-20 VAE as a plain PyTorch loop (Debian's python3-torch, the same
LibTorch build), written as Wu et al. 2017's code does it: chains [S, B, D],
a sigmoid schedule, L leapfrog steps on torch.autograd.grad of the
annealed log density, a Metropolis-Hastings test, per-chain step sizes
adapted toward 0.65 acceptance. Weights are random (speed does not depend on
them). Prints one JSON line with leapfrog steps per second (chains x
examples x T x L / seconds).

Usage: bench/ais_pytorch.py [--n 20] [--steps 100] [--chains 16] [--leapfrog 10] [--device cpu|cuda]
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
parser.add_argument("--n", type=int, default=20)
parser.add_argument("--steps", type=int, default=100)
parser.add_argument("--chains", type=int, default=16)
parser.add_argument("--leapfrog", type=int, default=10)
parser.add_argument("--batch-size", type=int, default=100)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

torch.manual_seed(0)
with gzip.open(args.data, "rb") as f:
    raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
x_all = torch.bernoulli(torch.from_numpy(raw.reshape(-1, 784).astype(np.float32) / 255.0)[: args.n]).to(args.device)

enc = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 40)).to(args.device)
dec = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784)).to(args.device)
for p in list(enc.parameters()) + list(dec.parameters()):
    p.requires_grad_(False)
half_log_2pi = 0.5 * math.log(2 * math.pi)


def sigmoid_schedule(steps, radius=4.0):
    t = np.linspace(-radius, radius, steps + 1)
    s = 1.0 / (1.0 + np.exp(-t))
    return (s - s[0]) / (s[-1] - s[0])


def log_joint(z, x):
    logits = dec(z)
    log_px_z = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)
    return log_px_z + (-0.5 * z.pow(2) - half_log_2pi).sum(-1)


def ends(z, x, mu, logvar):
    """log q, log p(x, z) and their gradients in z."""
    z = z.detach().requires_grad_(True)
    log_q = (-0.5 * (z - mu).pow(2) / logvar.exp() - 0.5 * logvar - half_log_2pi).sum(-1)
    log_p = log_joint(z, x)
    g_q, = torch.autograd.grad(log_q.sum(), z)
    g_p, = torch.autograd.grad(log_p.sum(), z)
    return log_q.detach(), log_p.detach(), g_q, g_p


betas = sigmoid_schedule(args.steps)
start = time.perf_counter()
estimates = []
for i in range(0, args.n, args.batch_size):
    x = x_all[i:i + args.batch_size]
    with torch.no_grad():
        mu, logvar = enc(x).chunk(2, -1)
    shape = (args.chains, x.shape[0], 20)
    z = mu + (0.5 * logvar).exp() * torch.randn(shape, device=x.device)
    log_q, log_p, g_q, g_p = ends(z, x, mu, logvar)
    log_w = torch.zeros(shape[:2], dtype=torch.float64, device=x.device)
    step = torch.full((*shape[:2], 1), 0.01, device=x.device)
    avg = torch.full(shape[:2], 0.65, device=x.device)
    for t in range(1, args.steps + 1):
        beta = float(betas[t])
        log_w += (betas[t] - betas[t - 1]) * (log_p - log_q).double()
        if t == args.steps:
            break
        p0 = torch.randn(shape, device=x.device)
        p = p0 + 0.5 * step * (g_q + beta * (g_p - g_q))
        zn, lqn, lpn, gqn, gpn = z, log_q, log_p, g_q, g_p
        for l in range(args.leapfrog):
            zn = zn + step * p
            lqn, lpn, gqn, gpn = ends(zn, x, mu, logvar)
            p = p + (1.0 if l + 1 < args.leapfrog else 0.5) * step * (gqn + beta * (gpn - gqn))
        h0 = -(log_q + beta * (log_p - log_q)) + 0.5 * p0.pow(2).sum(-1)
        h1 = -(lqn + beta * (lpn - lqn)) + 0.5 * p.pow(2).sum(-1)
        accept = torch.rand(shape[:2], device=x.device).log() < (h0 - h1)
        a = accept.unsqueeze(-1)
        z, g_q, g_p = torch.where(a, zn, z), torch.where(a, gqn, g_q), torch.where(a, gpn, g_p)
        log_q, log_p = torch.where(accept, lqn, log_q), torch.where(accept, lpn, log_p)
        avg = 0.9 * avg + 0.1 * accept.float()
        step = torch.clamp(torch.where((avg > 0.65).unsqueeze(-1), step * 1.02, step * 0.98), 1e-4, 0.5)
    estimates.append(torch.logsumexp(log_w, 0) - math.log(args.chains))
if args.device.startswith("cuda"):
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
leapfrogs = args.chains * args.n * (args.steps - 1) * args.leapfrog
print(json.dumps({"peer": "pytorch", "n": args.n, "steps": args.steps, "chains": args.chains,
                  "leapfrog": args.leapfrog, "leapfrog_steps_per_s": leapfrogs / seconds,
                  "ais": torch.cat(estimates).mean().item(), "seconds": seconds}))
