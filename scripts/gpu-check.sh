#!/usr/bin/env bash
# One prepared call for a lent GPU machine: the conformance suite on the real adapter (parity of
# every statistic with the f64 reference), the a100 scenario with --backend gpu and cpu, `bench`
# at 16,384 × 4,096 (cpu and gpu side by side) and at 1,000,000 × 8,192 (gpu), and the scaling
# table; everything in one results file, OUTDIR/gpu-check.log (the CSVs are also kept beside it).
# Fails (non-zero) at the first step that fails, so a failed parity check cannot pass for a run.
# Usage (from the repository root, with a prebuilt release tree carried, e.g. after
#   cargo build --release --tests):  bash scripts/gpu-check.sh OUTDIR
set -euo pipefail
out="${1:-/tmp/gpu-check}"; mkdir -p "$out"
log="$out/gpu-check.log"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" SCALERISK_REQUIRE_GPU=1
bin=./target/release/scalerisk
[ -x "$bin" ] || { echo "gpu-check: $bin is missing; build with cargo build --release --tests" >&2; exit 2; }
conformance=$(find target/release/deps -maxdepth 1 -type f -executable -name 'conformance-*' | head -1)
[ -n "$conformance" ] || { echo "gpu-check: no conformance test binary; build with cargo build --release --tests" >&2; exit 2; }
exec > >(tee "$log") 2>&1
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "nvidia-smi: not available"
$bin devices
"$conformance" --test-threads 1
for backend in gpu cpu; do
  /usr/bin/time -f "$backend a100-3days: %e s, %M KB" \
    $bin run scenarios/a100-3days.toml --backend $backend --quiet --out "$out/a100-$backend" --force
done
# 1,000,000 configurations × 8,192 draws on the GPU end to end; the CPU is not repeated here.
/usr/bin/time -f "gpu 1e6x8192 run: %e s, %M KB" $bin run scenarios/a100-3days.toml --backend gpu \
  --quiet --out "$out/big" --force \
  --set 'search.params={min=3e7,max=3e9,points=1000}' \
  --set 'search.tokens={min=1e9,max=1e12,points=250}' --set sampling.draws=8192
grep -h -A4 '"timings"' "$out"/a100-gpu/run.json "$out"/a100-cpu/run.json "$out"/big/run.json
# Per-stage medians, the kernels timed by timestamp queries, CPU and GPU side by side.
$bin bench --backend all --configs 16384 --draws 4096 --reps 5 --csv "$out/bench-16k.csv"
$bin bench --backend gpu --configs 1000000 --draws 8192 --reps 3 --csv "$out/bench-1m.csv"
cat "$out/bench-16k.csv" "$out/bench-1m.csv"
SCALERISK_BIN=$bin bash scripts/scaling.sh gpu > "$out/scaling-gpu.csv"
cat "$out/scaling-gpu.csv"
echo "gpu-check: every step passed"
