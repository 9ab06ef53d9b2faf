#!/usr/bin/env python3
"""Run README.md's pandas example on a run folder and check that it reproduces the tool's own
loss-against-size chart: the curve's minimum is the grid's best plan that recommendations.csv
reports for the first objective (grid_params, grid_loss_mean).

Usage: readme_pandas.py RUN_DIR   (a run of scenarios/a100-3days.toml, default min_completion)
Exit 0 when it matches; 2 without a run folder; 3 when pandas or matplotlib is not installed (the README tells the user to
install both; the test suite then skips with that reason); 1 on a mismatch, with the reason.
"""
import csv
import math
import os
import re
import sys
from pathlib import Path

if len(sys.argv) != 2 or not (Path(sys.argv[1]) / "configs.csv").is_file():
    print("usage: readme_pandas.py RUN_DIR  (a run folder holding configs.csv)", file=sys.stderr)
    sys.exit(2)

try:
    import matplotlib

    matplotlib.use("Agg")
    import pandas  # noqa: F401
except ImportError as e:
    print(f"skipped: {e.name} is not installed (pip install pandas matplotlib)")
    sys.exit(3)

run_dir = Path(sys.argv[1]).resolve()
readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
block = next((b for b in blocks if "matplotlib" in b and "configs.csv" in b), None)
if block is None:
    print("README.md has no pandas example that plots configs.csv")
    sys.exit(1)
code = block.replace("output/one-a100-three-days", str(run_dir))
os.chdir(run_dir)
scope = {}
exec(compile(code, "README.md pandas example", "exec"), scope)
best = scope["best"]
if not Path("loss_vs_params.png").exists():
    print("the example wrote no chart")
    sys.exit(1)
with open(run_dir / "recommendations.csv") as f:
    first = next(csv.DictReader(f))
want_p, want_l = float(first["grid_params"]), float(first["grid_loss_mean"])
got_p, got_l = float(best.idxmin()), float(best.min())
if not (math.isclose(got_p, want_p, rel_tol=1e-9) and math.isclose(got_l, want_l, rel_tol=1e-9)):
    print(f"the example's minimum {got_l} at {got_p:.4g} params is not the tool's "
          f"{want_l} at {want_p:.4g} ({first['objective']}, on the grid)")
    sys.exit(1)
print(f"ok: minimum {got_l:.5f} at {got_p:.4g} params, as recommendations.csv's grid plan")
