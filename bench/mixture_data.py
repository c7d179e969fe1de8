#!/usr/bin/python3
"""N points in D dimensions from a random mixture of K full-covariance
Gaussians (seed 0), saved as NPY: the data of the EM benchmarks.

Usage: bench/mixture_data.py OUT.npy [N] [D] [K]   (defaults 100000 16 32)
"""
import sys

import numpy as np

path = sys.argv[1]
n, d, k = (int(a) for a in (sys.argv[2:5] + ["100000", "16", "32"][len(sys.argv) - 2:]))
rng = np.random.default_rng(0)
centres = rng.normal(0, 4, (k, d))
labels = rng.integers(0, k, n)
scales = rng.uniform(0.5, 1.5, (k, d, d)) / np.sqrt(d)
x = centres[labels] + np.einsum("nij,nj->ni", scales[labels], rng.normal(size=(n, d)))
np.save(path, x)
