#!/usr/bin/env bash
# One prepared call for a lent GPU machine: conformance suite on the real adapter, then timings of
# the a100 scenario and a large synthetic grid on gpu and cpu side by side. Well under 10 minutes.
# Usage (from the repository root, with a prebuilt release tree carried): bash scripts/gpu-check.sh OUTDIR
set -uo pipefail
out="${1:-/tmp/gpu-check}"; mkdir -p "$out"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" SCALERISK_REQUIRE_GPU=1
bin=./target/release/scalerisk
{
  date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null
  $bin devices
  for t in target/release/deps/conformance-*; do [ -x "$t" ] && "$t" --test-threads 1; done
  for backend in gpu cpu; do
    /usr/bin/time -f "$backend a100-3days: %e s, %M KB" $bin run scenarios/a100-3days.toml --backend $backend --quiet --out "$out/a100-$backend"
  done
  # 1,000,000 configurations × 8,192 draws on the GPU (the size), CPU not repeated here.
  /usr/bin/time -f "gpu 1e6x8192: %e s, %M KB" $bin run scenarios/a100-3days.toml --backend gpu --quiet --out "$out/big" \
    --set 'search.params={min=3e7,max=3e9,points=1000}' --set 'search.tokens={min=1e9,max=1e12,points=250}' --set sampling.draws=8192
  grep -h evaluate_s "$out"/*/run.json
  # Per-stage medians with the kernels timed by timestamp queries, CPU and GPU side by side.
  $bin bench --backend all --configs 16384 --draws 4096 --reps 5 --csv "$out/bench-16k.csv"
  $bin bench --backend gpu --configs 1000000 --draws 8192 --reps 3 --csv "$out/bench-1m.csv"
  SCALERISK_BIN=$bin bash scripts/scaling.sh gpu > "$out/scaling-gpu.csv" && cat "$out/scaling-gpu.csv"
} 2>&1 | tee "$out/gpu-check.log"
