#!/usr/bin/env bash
# The cost of conditioning: scenarios/a100-3days.toml with and without 1,000 observed loss rows
# (the first 500 rows of Luo et al.'s 400M cosine and constant 72k-step curves, read at 2^18
# tokens per step, the level free), side by side in one run (BENCHMARKS.md): hyperfine when it
# is installed, otherwise ROUNDS (default 9) rounds alternating the two, each round's ratio and
# the medians printed (the VM's speed drifts between minutes, so only rounds side by side count).
# Usage: benches/observations.sh [path/to/scalerisk]   (default target/release/scalerisk)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${1:-target/release/scalerisk}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import csv, sys
work = sys.argv[1]
with open(f"{work}/losses.csv", "w") as f:
    f.write("run,params,tokens,loss\n")
    for name in ["cosine_72000", "constant_72000"]:
        rows = list(csv.DictReader(open(f"data/loss-curves-luo2025/400M/{name}.csv")))
        for r in rows[:500]:
            f.write(f"{name},4e8,{float(r['step']) * 262144:.0f},{r['loss']}\n")
PY
cp scenarios/a100-3days.toml "$work/base.toml"
cp scenarios/a100-3days.toml "$work/observed.toml"
cat >> "$work/observed.toml" <<'TOML'

[observations]
losses = "losses.csv"
level = "free"
[observations.runs.cosine_72000]
schedule = "cosine"
tokens = 1.8874368e10
warmup = 5.6623104e8
batch_tokens = 262144
[observations.runs.constant_72000]
schedule = "constant"
tokens = 1.8874368e10
warmup = 5.6623104e8
batch_tokens = 262144
TOML
base=("$bin" run "$work/base.toml" --out "$work/base" --force --quiet)
observed=("$bin" run "$work/observed.toml" --out "$work/observed" --force --quiet)
if command -v hyperfine >/dev/null; then
  hyperfine -w 1 -r 5 -N "${base[*]}" "${observed[*]}"
  exit 0
fi
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}
"${base[@]}" && "${observed[@]}" # warm-up
for round in $(seq 1 "${ROUNDS:-9}"); do
  echo "$(seconds "${base[@]}") $(seconds "${observed[@]}")"
done | python3 -c '
import statistics, sys
rows = [tuple(map(float, line.split())) for line in sys.stdin]
for i, (b, o) in enumerate(rows, 1):
    print(f"round {i}: without {b:.3f} s, with 1,000 rows {o:.3f} s: {o / b:.2f}x")
ratios = [o / b for b, o in rows]
print(f"median: without {statistics.median(b for b, _ in rows):.3f} s, "
      f"with {statistics.median(o for _, o in rows):.3f} s; ratio median {statistics.median(ratios):.2f}x "
      f"(range {min(ratios):.2f}-{max(ratios):.2f}, target at most 1.5x)")
'
