#!/usr/bin/python3
"""The peer of `dgm gmm fit`: scikit-learn's GaussianMixture (Debian's
python3-sklearn) from the same initial mixture (saved by dgm under
scikit-learn's names), the same number of EM iterations (tol = 0). Prints one
JSON line: seconds per EM iteration and the final mean log-likelihood.

Usage: bench/gmm_sklearn.py DATA.npy INIT_DIR COVARIANCE ITERATIONS
"""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

data, init_dir, covariance, iterations = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
x = np.load(data)
weights = np.load(f"{init_dir}/weights.npy")
means = np.load(f"{init_dir}/means.npy")
chol = np.load(f"{init_dir}/precisions_cholesky.npy")
if covariance == "full":
    precisions = np.einsum("kij,klj->kil", chol, chol)
elif covariance == "tied":
    precisions = chol @ chol.T
else:
    precisions = chol ** 2
warnings.simplefilter("ignore", ConvergenceWarning)


def fit(max_iter):
    gm = GaussianMixture(len(weights), covariance_type=covariance, tol=0.0, max_iter=max_iter, reg_covar=1e-6,
                         weights_init=weights, means_init=means, precisions_init=precisions, random_state=0)
    start = time.perf_counter()
    gm.fit(x)
    return gm, time.perf_counter() - start


_, one = fit(1)  # everything but the iterations: checks, the (discarded) initial k-means, the first iteration
gm, full = fit(iterations)
print(json.dumps({"peer": "sklearn", "seconds_per_iter": (full - one) / (iterations - 1),
                  "mean_log_likelihood": gm.score(x), "n_iter": gm.n_iter_, "seconds": full}))
