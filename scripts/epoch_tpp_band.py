#!/usr/bin/env python3
"""The reference band of tests/golden.rs::epoch_mvn_tokens_per_param_band, computed without the
Rust code: Epoch AI's 2024 refit (Besiroglu et al. 2024) as a joint normal over
(lnA, lnB, lnE, alpha, beta) with its bootstrap covariance, and per draw the Chinchilla closed
form of the compute-optimal split at C = 5.88e23 FLOPs with C = 6·P·D:
P_opt = G·(C/6)^a, G = (alpha·A / (beta·B))^(1/(alpha+beta)), a = beta/(alpha+beta),
D_opt = C/(6·P_opt). Prints the 10th, 50th and 90th percentiles of D_opt/P_opt.

Standard library only (no numpy): Cholesky by hand, normals from random.gauss. The mean is the
preset's log point and the covariance EPOCH2024_COV, both read from src/presets/laws.rs (the
published numbers; nothing of the Rust computation is used).

Usage: epoch_tpp_band.py [DRAWS] (default 400000; the percentiles move by about 0.05 between
seeds at that size).
"""
import math
import random
import re
import sys
from pathlib import Path

text = (Path(__file__).resolve().parent.parent / "src/presets/laws.rs").read_text()
cov_block = text[text.index("pub const EPOCH2024_COV") :]
cov_block = cov_block[: cov_block.index("\n];")]
numbers = [float(x) for x in re.findall(r"-?\d+\.\d+e-?\d+", cov_block)]
assert len(numbers) == 25, numbers
cov = [numbers[5 * i : 5 * i + 5] for i in range(5)]
point = re.search(r"name: \"epoch2024\".*?log_point: Some\(\[([^\]]*)\]\)", text, re.S)
mean = [float(x) for x in point.group(1).split(",")]

chol = [[0.0] * 5 for _ in range(5)]
for i in range(5):
    for j in range(i + 1):
        s = cov[i][j] - sum(chol[i][k] * chol[j][k] for k in range(j))
        chol[i][j] = math.sqrt(s) if i == j else s / chol[j][j]

C = 5.88e23
n = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
rng = random.Random(2024)
tpp = []
for _ in range(n):
    z = [rng.gauss(0.0, 1.0) for _ in range(5)]
    x = [mean[i] + sum(chol[i][k] * z[k] for k in range(i + 1)) for i in range(5)]
    ln_a, ln_b, _ln_e, alpha, beta = x
    g = ((alpha * math.exp(ln_a)) / (beta * math.exp(ln_b))) ** (1.0 / (alpha + beta))
    p = g * (C / 6.0) ** (beta / (alpha + beta))
    tpp.append((C / 6.0) / (p * p))
tpp.sort()


def type7(q):
    h = (len(tpp) - 1) * q
    lo = math.floor(h)
    return tpp[lo] + (h - lo) * (tpp[min(lo + 1, len(tpp) - 1)] - tpp[lo])


print(" ".join(f"p{round(q * 100)} {type7(q):.1f}" for q in (0.1, 0.5, 0.9)))
