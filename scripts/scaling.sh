#!/usr/bin/env bash
# The scaling table of BENCHMARKS.md: `scalerisk bench` at configs × draws from 1e4 × 1e3 to
# 1e6 × 1e4, each size in its own process (so peak RSS is that size's), on the CPU and, for the
# sizes it finishes in reasonable time, on a GPU adapter. Writes one CSV to stdout.
# Usage: scripts/scaling.sh [cpu|gpu|all]   (default cpu)
set -euo pipefail
bin=${SCALERISK_BIN:-target/release/scalerisk}
which=${1:-cpu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
header=1
run() {
  "$bin" bench --backend "$1" --configs "$2" --draws "$3" --reps 1 --csv "$tmp/row.csv" >/dev/null
  if [ $header = 1 ]; then head -1 "$tmp/row.csv"; header=0; fi
  tail -n +2 "$tmp/row.csv"
}
for configs in 10000 100000 1000000; do
  for draws in 1000 10000; do
    if [ "$which" != gpu ]; then run cpu $configs $draws; fi
    if [ "$which" != cpu ]; then
      # Software adapters run ~1e7 evaluations/s: keep them to ≤ 1e8 evaluations.
      if [ -n "${SCALERISK_GPU_ALL_SIZES:-}" ] || [ $((configs * draws)) -le 100000000 ]; then
        run gpu $configs $draws
      fi
    fi
  done
done
