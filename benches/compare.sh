#!/usr/bin/env bash
# Side by side in one run: `scalerisk bench` and benches/numpy_reference.py on the same
# 16,384 × 4,096 workload, and their ratio. Needs python3 with numpy; run from the repository root.
set -euo pipefail
bin=${SCALERISK_BIN:-target/release/scalerisk}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" run benches/workload.toml --backend cpu --quiet --out "$dir/run"
"$bin" bench --backend cpu --configs 16384 --draws 4096 --reps 5 --csv "$dir/bench.csv"
python3 benches/numpy_reference.py "$dir/run" --reps 3 | tee "$dir/numpy.txt"
python3 - "$dir/bench.csv" "$dir/numpy.txt" <<'PY'
import csv, sys
ours = float(next(csv.DictReader(open(sys.argv[1])))["seconds"])
numpy = float([l for l in open(sys.argv[2]) if l.startswith("NUMPY_SECONDS=")][0].split("=")[1])
print(f"scalerisk cpu {ours:.3f} s vs numpy {numpy:.3f} s: scalerisk is {numpy / ours:.1f}x faster")
PY
