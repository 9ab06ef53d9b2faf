#!/usr/bin/env python3
"""Calibrate the loss-curve model's shared constants on Luo et al. 2025's curves.

An independent implementation (numpy/scipy, not the Rust code) of the model in
docs/MODEL.md §8:

    L_obs(N, t) = E_N + B_N * (x(t)/1000)^(-beta_N) + g * (N/1e8)^a * r(t)

with x(t) = t * (x_area(t)/t)^kappa, x_area(t) = w + (S1(t) - w/2)/0.55 (the steps a run on the
reference cosine needs to sweep the same learning-rate area), and r(t) = 1 - m(t)/0.9, m the
drop of the rate from its peak seen through an exponential window of `lag` steps. Per size the
level (E_N, B_N, beta_N) is free (a law's level on another data set is not the preset's); the
shared constants g, a, kappa and lag are what src/curve/mod.rs ships. Each curve weighs the same
in the fit (its residuals divided by the square root of its rows), so the long runs' many rows do
not decide the shared constants alone. Steps stand for tokens: the
tokens per step of these runs are not published, and nothing fitted here depends on them (x and
the lag are both in steps).

Usage: python3 scripts/calibrate_curve.py [data/loss-curves-luo2025] [--alternatives | --per-size]
Prints the constants, the fit's RMS, each curve's error at its last row, and the
constant-vs-cosine gaps at the end of the 24k and 72k runs (measured and modelled).

--alternatives fits, in place of the lag, the realisation of an anneal that Luo et al. 2025's
multi-power law uses (their G(x) = 1 - (1 + C x)^-beta with gamma = 0): a drop taken at step k
is realised as 1 - (1 + S_k(t)/scale)^-power, S_k(t) the learning-rate area swept since k (in
steps at the peak rate), on a grid of scale and power, and prints the same report for the best
(docs/MODEL.md section 8.1 says what it measured and why it is not the shipped model).

--per-size frees the anneal level g and kappa for each size (the lag stays 250 steps; a is then
g's own size trend), to tell whether sharing the constants across sizes or the model's form is
what misplaces the 400M ends (docs/MODEL.md section 8.1).
"""
import sys
from functools import partial

import numpy as np
from scipy.optimize import least_squares

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
ROOT = ARGS[0] if ARGS else "data/loss-curves-luo2025"
ALTERNATIVES = "--alternatives" in sys.argv[1:]
PER_SIZE = "--per-size" in sys.argv[1:]
SIZES = {"25M": 25e6, "100M": 100e6, "400M": 400e6}
WARMUP = 2160.0  # steps (Luo et al.'s released configuration)
# name -> (kind, planned steps, decay start, decay length, final fraction, decay shape)
RUNS = {
    "constant_24000": ("constant", 24000, None, None, None, None),
    "constant_72000": ("constant", 72000, None, None, None, None),
    "cosine_24000": ("cosine", 24000, None, None, 0.1, None),
    "cosine_72000": ("cosine", 72000, None, None, 0.1, None),
    "wsd_20000_24000": ("wsd", 24000, 20000, 4000, 0.1, "exponential"),
    "wsdld_20000_24000": ("wsd", 24000, 20000, 4000, 0.1, "linear"),
    "wsdcon_3": ("wsd", 16000, 8000, 1e-9, 0.1, "linear"),
    "wsdcon_9": ("wsd", 16000, 8000, 1e-9, 0.3, "linear"),
    "wsdcon_18": ("wsd", 16000, 8000, 1e-9, 0.6, "linear"),
}
FIRST = 4000  # steps: the first rows after warm-up follow neither law (docs/MODEL.md §8)


def lr(run, t):
    kind, planned, ds, dl, fin, shape = run
    t = np.asarray(t, float)
    out = np.ones_like(t)
    if kind == "cosine":
        f = np.clip((t - WARMUP) / (planned - WARMUP), 0, 1)
        out = fin + (1 - fin) * 0.5 * (1 + np.cos(np.pi * f))
    elif kind == "wsd":
        f = np.clip((t - ds) / dl, 0, 1)
        dec = 1 - (1 - fin) * f if shape == "linear" else fin ** f
        out = np.where(t <= ds, 1.0, dec)
    return np.where(t < WARMUP, t / WARMUP, out)


def swept(run, steps, n):
    """A uniform grid of n points over the run (and the rows), the rate, its area (trapezoids) and
    its drop from the peak (none during warm-up) on it."""
    grid = np.linspace(0, max(steps.max(), run[1]), n)
    rate = lr(run, grid)
    area = np.concatenate([[0], np.cumsum(0.5 * grid[1] * (rate[1:] + rate[:-1]))])
    return grid, rate, area, np.where(grid <= WARMUP, 0.0, 1 - rate)


def reference_steps(area):
    """The steps the reference cosine (mean rate 0.55 after warm-up) needs to sweep `area`."""
    return WARMUP + (area - 0.5 * WARMUP) / 0.55


def points(run, steps, lag):
    grid, rate, area, drop = swept(run, steps, 200001)
    h = grid[1]
    if lag:
        a = np.exp(-h / lag)
        m = np.empty_like(drop)
        acc = 0.0
        for i, d in enumerate(drop):
            acc = a * acc + (1 - a) * d if i else 0.0
            m[i] = acc
        drop = m
    x = reference_steps(np.interp(steps, grid, area))
    r = 1 - np.interp(steps, grid, drop) / 0.9
    return x, r


def points_saturating(run, steps, scale, power):
    """x as in `points`; r from drops realised as 1 - (1 + area since the drop / scale)^-power."""
    grid, _, area, drop = swept(run, steps, 40001)
    step = np.diff(drop, prepend=0.0)
    at = np.nonzero(step)[0]
    area_at = np.interp(steps, grid, area)
    taken = np.empty(len(steps))
    for j, t in enumerate(steps):
        k = at[grid[at] <= t]
        taken[j] = np.sum(step[k] * (1 - (1 + (area_at[j] - area[k]) / scale) ** -power))
    return reference_steps(area_at), 1 - taken / 0.9


def load(size, name):
    a = np.genfromtxt(f"{ROOT}/{size}/{name}.csv", delimiter=",", names=True)
    return a["step"], a["lr"] / 3e-4, a["loss"]


def main():
    data = {(s, n): load(s, n) for s in SIZES for n in RUNS}
    diff = np.concatenate([np.abs(lr(RUNS[n], st) - rate) for (s, n), (st, rate, _) in data.items()])
    # The two-stage runs log the lower rate at the step of the drop itself: one row each.
    print(
        f"schedule shapes vs the lr column: {np.sum(diff > 1e-6)} of {diff.size} rows differ "
        f"by more than 1e-6 of the peak (largest {diff.max():.2e})"
    )

    def fit(points_of):
        pts = {k: points_of(RUNS[k[1]], v[0]) for k, v in data.items()}

        def resid(p):
            out = []
            for i, s in enumerate(SIZES):
                gap, kappa = anneal(p, i)
                e, lb, beta = level(p, i)
                for n in RUNS:
                    st, _, loss = data[(s, n)]
                    x, r = pts[(s, n)]
                    m = st >= FIRST
                    xk = st * (x / st) ** kappa
                    pred = e + np.exp(lb) * (xk / 1000) ** -beta + gap * r
                    out.append((pred[m] - loss[m]) / np.sqrt(m.sum()))
            return np.concatenate(out)

        res = least_squares(resid, start + [2.5, 0.5, 0.5] * 3)
        return res, pts

    # The anneal's parameters: shared (g, a, kappa), or with --per-size (g, kappa) for each size.
    if PER_SIZE:
        start = [0.1, 1.0] * len(SIZES)

        def anneal(p, i):
            return p[2 * i], p[2 * i + 1]
    else:
        start = [0.1, 0.1, 1.0]

        def anneal(p, i):
            return p[0] * (list(SIZES.values())[i] / 1e8) ** p[1], p[2]

    def level(p, i):
        return p[len(start) + 3 * i : len(start) + 3 + 3 * i]

    def describe(p):
        if PER_SIZE:
            return "  ".join(
                f"{s}: G {p[2 * i]:.4f} kappa {p[2 * i + 1]:.3f}" for i, s in enumerate(SIZES)
            )
        return f"g {p[0]:.4f}  a {p[1]:.4f}  kappa {p[2]:.3f}"

    # (the line's label, the best's label, x and r of a run's rows) for each variant.
    if ALTERNATIVES:
        variants = [
            (f"scale {scale:3d} power {power:.1f}", f"scale {scale} steps, power {power}",
             partial(points_saturating, scale=scale, power=power))
            for scale in [3, 5, 10, 15, 25] for power in [0.3, 0.5, 0.7, 1.0]
        ]
    else:
        variants = [
            (f"lag {lag:5d} steps", f"lag {lag} steps", partial(points, lag=lag))
            for lag in ([250] if PER_SIZE else [0, 250, 500, 1000, 2000])
        ]
    best = None
    for line, name, points_of in variants:
        res, pts = fit(points_of)
        rms = np.sqrt(np.mean(res.fun ** 2) * len(res.fun) / len(data))
        print(f"{line}: rms per curve {rms:.5f}  " + describe(res.x))
        if best is None or rms < best[0]:
            best = (rms, name, points_of, res, pts)
    rms, label, points_of, res, pts = best
    if ALTERNATIVES:
        end = np.array([24000.0])
        ref = points_of(RUNS["cosine_24000"], end)[1][0]
        shipped = points(RUNS["cosine_24000"], end, 250)[1][0]
        print(f"r at the end of the 24k-step reference cosine: {ref:.3f} (the shipped 250-step lag: {shipped:.3f})")
    p = res.x
    print(f"\nbest: {label}, " + describe(p) + f", rms {rms:.5f}")
    for i, s in enumerate(SIZES):
        e, lb, beta = level(p, i)
        gap, kappa = anneal(p, i)

        def at(n, t):
            x, r = points_of(RUNS[n], np.array([float(t)]))
            xk = t * (x[0] / t) ** kappa
            return e + np.exp(lb) * (xk / 1000) ** -beta + gap * r[0]

        ends = []
        for n in RUNS:
            st, _, loss = data[(s, n)]
            ends.append(f"{n} {at(n, st[-1]) - loss[-1]:+.3f}")
        print(f"{s}: level E {e:.3f} B {np.exp(lb):.3f} beta {beta:.3f}; error at the last row: " + ", ".join(ends))
        for T in (24000, 72000):
            c = data[(s, f"constant_{T}")]
            k = data[(s, f"cosine_{T}")]
            t = min(c[0][-1], k[0][-1])
            meas = np.interp(t, *c[0::2]) - np.interp(t, *k[0::2])
            model = at(f"constant_{T}", t) - at(f"cosine_{T}", t)
            print(f"   constant - cosine at step {t:.0f}: measured {meas:.4f}, model {model:.4f}")


if __name__ == "__main__":
    main()
