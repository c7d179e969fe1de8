#!/usr/bin/python3
"""The peer of `dgm train --config configs/vae.yaml`: the same VAE (784-400-20,
ReLU, Bernoulli decoder, analytic KL, Adam 1e-3, batch 128, dynamic
binarization) as a plain PyTorch training loop, on the same LibTorch build
(Debian's python3-torch). Prints one JSON line: images per second.

Usage: bench/vae_pytorch.py [--epochs N] [--threads T] [--device cpu|cuda]
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(0)
with gzip.open(args.data, "rb") as f:
    raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
device = torch.device(args.device)
x_all = torch.from_numpy(raw.reshape(-1, 784).astype(np.float32) / 255.0)[:55000].to(device)


def synchronize():
    if device.type == "cuda":
        torch.cuda.synchronize()


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc2 = nn.Linear(400, 40)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        mu, logvar = self.fc2(F.relu(self.fc1(x))).chunk(2, -1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.fc4(F.relu(self.fc3(z)))
        rec = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)
        return rec - kl


model = VAE().to(device)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
rates = []
for epoch in range(args.epochs):
    order = torch.randperm(x_all.shape[0], device=device)
    synchronize()
    start = time.perf_counter()
    for i in range(0, x_all.shape[0], args.batch_size):
        x = torch.bernoulli(x_all[order[i:i + args.batch_size]])
        loss = -model(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    synchronize()
    rates.append(x_all.shape[0] / (time.perf_counter() - start))
print(json.dumps({"peer": "pytorch", "images_per_s": max(rates), "epochs": args.epochs,
                  "threads": torch.get_num_threads(), "device": args.device, "loss": loss.item()}))
