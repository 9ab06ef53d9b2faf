#!/usr/bin/env bash
# Side by side in one run, three rounds: `scalerisk bench` and benches/numpy_reference.py on the
# same 16,384 × 4,096 workload, and their ratio. Needs python3 with numpy; run from the
# repository root. numpy runs at its best: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for
# it, and its version is printed.
#
# scalerisk's time is the work numpy does too (sampling, the oracle pass, the statistics pass)
# plus writing configs.csv to memory, which numpy does not do: `seconds − aggregate_s` of the
# bench row (the aggregate stage chooses and refines plans, which the reference does not).
set -euo pipefail
bin=${SCALERISK_BIN:-target/release/scalerisk}
rounds=${ROUNDS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" run benches/workload.toml --backend cpu --quiet --out "$dir/run"
for round in $(seq 1 "$rounds"); do
  "$bin" bench --backend cpu --configs 16384 --draws 4096 --reps 5 --csv "$dir/bench-$round.csv" >/dev/null
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benches/numpy_reference.py "$dir/run" --reps 3 \
    | tee "$dir/numpy-$round.txt"
  python3 - "$dir/bench-$round.csv" "$dir/numpy-$round.txt" "$round" <<'PY'
import csv, sys
row = next(csv.DictReader(open(sys.argv[1])))
ours = float(row["seconds"]) - float(row["aggregate_s"])
numpy = float([l for l in open(sys.argv[2]) if l.startswith("NUMPY_SECONDS=")][0].split("=")[1])
print(f"round {sys.argv[3]}: scalerisk cpu {ours:.3f} s (oracle {float(row['oracle_s']):.3f}, "
      f"stats {float(row['stats_s']):.3f}, output {float(row['output_s']):.3f}) vs numpy {numpy:.3f} s: "
      f"scalerisk is {numpy / ours:.1f}x faster")
PY
done
