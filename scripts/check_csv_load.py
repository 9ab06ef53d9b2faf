#!/usr/bin/env python3
"""Every CSV of a scalerisk output folder loads with pandas.read_csv and polars.read_csv with no
options, with the documented columns, one row per entity and numeric columns read as numbers.

Usage: check_csv_load.py RUN_DIR
Exit 0 when every available library loads every file; 3 when neither pandas nor polars is
installed (the test suite then skips with that reason); 1 on a failure, with the reason.
"""
import sys
from pathlib import Path

EXPECTED = {
    "configs.csv": ["params", "tokens", "hours", "tokens_per_param", "feasible", "loss_mean", "loss_sd",
                    "loss_se", "loss_p05", "loss_p50", "loss_p95", "loss_cvar95", "p_complete",
                    "p_target", "regret_mean", "regret_p95", "regret_max", "p_near_best",
                    "gpu_hours_mean", "cost_usd_mean", "lifetime_gpu_hours", "lifetime_cost_usd"],
    "frontier.csv": ["budget_hours", "flops_p50", "params_p05", "params_p50", "params_p95",
                     "tokens_p05", "tokens_p50", "tokens_p95", "tokens_per_param_p05",
                     "tokens_per_param_p50", "tokens_per_param_p95", "loss_opt_p05",
                     "loss_opt_p50", "loss_opt_p95", "robust_params", "robust_tokens",
                     "robust_loss_mean", "at_grid_edge"],
    "sensitivity.csv": ["input", "rho_loss_opt", "rho_params_opt", "rho_tokens_opt",
                        "rho_loss_recommended", "tornado_low", "tornado_high"],
    "recommendations.csv": ["objective", "params", "tokens", "hours"],
    "draws.csv": ["draw", "mfu", "goodput", "unique_tokens", "throughput", "params_opt",
                  "tokens_opt", "hours_opt", "loss_opt"],
    "serving.csv": ["params", "tokens", "hours", "tokens_per_param", "loss_mean", "loss_se",
                    "p_target", "reaches_target", "training_gpu_hours", "inference_gpu_hours",
                    "lifetime_gpu_hours", "lifetime_cost_usd"],
}
# Written only by some runs (serving.csv: when the scenario serves tokens).
OPTIONAL = {"serving.csv"}
NUMERIC = {"configs.csv": ["params", "loss_mean", "loss_p95", "p_complete"],
           "frontier.csv": ["budget_hours", "params_p50", "robust_loss_mean"],
           "sensitivity.csv": ["rho_params_opt", "tornado_low"],
           "recommendations.csv": ["params", "loss_mean"],
           "draws.csv": ["mfu", "params_opt", "loss_opt"],
           "serving.csv": ["params", "loss_mean", "lifetime_gpu_hours"]}


def check(name, columns, dtypes_numeric, nrows, lib):
    missing = [c for c in EXPECTED[name] if c not in columns]
    if missing:
        sys.exit(f"{lib}: {name} lacks columns {missing}")
    for c, ok in dtypes_numeric.items():
        if not ok:
            sys.exit(f"{lib}: {name} column {c} did not load as numbers")
    if nrows == 0:
        sys.exit(f"{lib}: {name} has no rows")


def main():
    run = Path(sys.argv[1])
    libs = []
    try:
        import pandas as pd
        libs.append("pandas")
    except ImportError:
        pd = None
    try:
        import polars as pl
        libs.append("polars")
    except ImportError:
        pl = None
    if not libs:
        print("neither pandas nor polars is installed")
        sys.exit(3)
    checked = []
    for name in EXPECTED:
        path = run / name
        if name in OPTIONAL and not path.exists():
            continue
        checked.append(name)
        if pd is not None:
            df = pd.read_csv(path)
            check(name, list(df.columns),
                  {c: pd.api.types.is_numeric_dtype(df[c]) for c in NUMERIC[name]}, len(df), "pandas")
        if pl is not None:
            df = pl.read_csv(path)
            check(name, df.columns, {c: df[c].dtype.is_numeric() for c in NUMERIC[name]},
                  df.height, "polars")
    print(f"ok: {', '.join(checked)} load with {' and '.join(libs)} (no options)")


if __name__ == "__main__":
    main()
