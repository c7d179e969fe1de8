#!/usr/bin/python3
"""What one all-reduce costs on c10d's Gloo group between two processes on
127.0.0.1 (Debian's python3-torch: the same Gloo as dgm), one torch thread
each: for 2 numbers (a step's loss and stop flag alone) and for the
gradients of configs/vae.yaml's VAE (652,824 float32), the mean of 200
after 10 for warm-up. The price of a data-parallel training step here is
about the second figure. Prints one JSON line.

Usage: bench/gloo_allreduce.py [VALUES ...]   (default 2 652824)
"""
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def measure(rank, port, values, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    t = torch.randn(values)
    for _ in range(10):
        dist.all_reduce(t)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(200):
        dist.all_reduce(t)
    if rank == 0:
        results[values] = (time.perf_counter() - start) / 200 * 1e3
    dist.destroy_process_group()


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [2, 652824]
    results = mp.Manager().dict()
    for i, values in enumerate(sizes):
        mp.spawn(measure, args=(29400 + os.getpid() % 500 + i, values, results), nprocs=2)
    print(json.dumps({"all_reduce_ms": {str(v): round(results[v], 3) for v in sizes}}))
