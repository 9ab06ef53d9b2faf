#!/usr/bin/env python3
"""What a user would write instead of scalerisk: vectorised numpy (f64) computing the same
per-configuration statistics on the same workload.

Usage: numpy_reference.py RUN_DIR [--reps R]

RUN_DIR is the output of `scalerisk run benches/workload.toml --out RUN_DIR`: the draws come from
its draws.csv and the grid from its configs.csv, so the two programs evaluate the very same
(configuration, draw) pairs. The timed part starts after the CSVs are loaded: the loss matrix
(configs × draws; a `tokens` of `inf` trains until the deadline, D_run = cap), the candidate set
(MODEL.md §5: feasible plans that complete in at least `min_completion` of draws; the
until-the-deadline plans only when `min_completion` is 0; every feasible plan when none
qualifies), the per-draw oracle (min over candidates, no refinement), and per configuration:
mean, sd (n − 1), type-7 p05/p50/p95, CVaR95 (mean of the largest ceil(0.05 n)), p_complete,
regret mean/p95/max, p_near_best (share of draws with regret ≤ ε, the scenario's default
decision.near_best_within) and hours used.
It then checks every column it computed against configs.csv (to 1e-9, relative to max(|x|, 1))
and prints the median seconds.
"""
import sys
import time

import numpy as np


def load(run_dir):
    draws = np.genfromtxt(f"{run_dir}/draws.csv", delimiter=",", names=True)
    configs = np.genfromtxt(f"{run_dir}/configs.csv", delimiter=",", names=True)
    return draws, configs


def statistics(draws, configs, k=6.0, min_completion=0.9, eps=0.001):
    P = configs["params"][:, None]
    D = configs["tokens"][:, None]
    T = configs["hours"][:, None]
    E, A, B = draws["E"][None, :], draws["A"][None, :], draws["B"][None, :]
    alpha, beta = draws["alpha"][None, :], draws["beta"][None, :]
    X = draws["throughput"][None, :]
    cap = X * 3600.0 * T / (k * P)
    d_run = np.minimum(D, cap)
    L = E + A * P ** -alpha + B * d_run ** -beta
    n = L.shape[1]
    feasible = configs["feasible"]
    complete = (D <= cap).sum(axis=1)
    # The smallest count c with c / n >= min_completion, as the engine compares it.
    need = next((c for c in range(n + 1) if c / n >= min_completion), n + 1)
    finite = np.isfinite(configs["tokens"])
    cand = feasible & np.where(finite, complete >= need, min_completion <= 0.0)
    if not cand.any():
        cand = feasible.copy()
    mean = L.mean(axis=1)
    # Per draw, the least loss over the candidates.
    l_star = np.where(cand[:, None], L, np.inf).min(axis=0)
    regret = L - l_star[None, :]
    m = int(np.ceil(0.05 * n - 1e-9))
    out = {
        "loss_mean": mean,
        "loss_sd": L.std(axis=1, ddof=1),
        "p_complete": complete / n,
        "regret_mean": regret.mean(axis=1),
        "regret_max": regret.max(axis=1),
        "regret_p95": np.quantile(regret, 0.95, axis=1),
        "hours_mean": (T * np.minimum(1.0, D / cap)).mean(axis=1),
    }
    q = np.quantile(L, [0.05, 0.5, 0.95], axis=1)
    out["loss_p05"], out["loss_p50"], out["loss_p95"] = q
    out["loss_cvar95"] = np.partition(L, n - m, axis=1)[:, n - m:].mean(axis=1)
    out["p_near_best"] = (regret <= eps).mean(axis=1)
    return out


def main():
    run_dir = sys.argv[1]
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 3
    draws, configs = load(run_dir)
    # configs.csv writes `feasible` as true/false text.
    feas = np.genfromtxt(f"{run_dir}/configs.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")["feasible"]
    configs = {name: configs[name] for name in configs.dtype.names}
    configs["feasible"] = np.array([str(v).lower() == "true" for v in feas])
    times = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        out = statistics(draws, configs)
        times.append(time.perf_counter() - t0)
    times = sorted(times[1:])
    # gpu_hours_mean is hours used × the GPU count (1 in this workload).
    configs["hours_mean"] = configs["gpu_hours_mean"]
    for col, theirs in out.items():
        ours = configs[col]
        err = np.max(np.abs(ours - theirs) / np.maximum(np.abs(ours), 1.0))
        if not err <= 1e-9:
            sys.exit(f"numpy and scalerisk disagree on {col}: max difference {err:.3e} (relative to max(|x|, 1))")
    n_cfg, n_draws = len(configs["params"]), len(draws)
    median = times[len(times) // 2]
    print(f"numpy {np.__version__}: {n_cfg} configs x {n_draws} draws, median {median:.3f} s "
          f"({n_cfg * n_draws / median:.3e} evals/s); agrees with configs.csv to 1e-9 in every column")
    print(f"NUMPY_SECONDS={median}")


if __name__ == "__main__":
    main()
