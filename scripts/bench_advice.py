"""The cost of one Advisor.advice() call (BENCHMARKS.md "Python advisor"): the live run of
python/examples/quickstart.py (a 400M cosine run, 30% in, 21 logged rows) on a100-3days.toml,
median of REPS calls after one warm-up, per draw count. Needs the package (pip install ./python).

    python scripts/bench_advice.py [REPS]
"""

import pathlib
import statistics
import sys
import time

import scalerisk

ROOT = pathlib.Path(__file__).resolve().parents[1]
E, A, ALPHA, B, BETA = 1.82, 482.0, 0.35, 2085.0, 0.37
PARAMS, PLANNED, TOKENS_PER_S = 4e8, 1.8874368e10, 5.2e4
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 7

print("draws,rows,median_s,min_s,max_s")
for draws in (256, 512, 1024, 4096):
    so_far = 0.3 * PLANNED
    adv = scalerisk.Advisor(
        ROOT / "scenarios" / "a100-3days.toml",
        params=PARAMS,
        planned_tokens=PLANNED,
        schedule="cosine",
        hours_so_far=so_far / TOKENS_PER_S / 3600,
        draws=draws,
    )
    t, rows = 5e8, 0
    while t <= so_far:
        adv.observe(t, E + A / PARAMS**ALPHA + B / t**BETA)
        t += 2.5e8
        rows += 1
    adv.advice()
    times = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        adv.advice()
        times.append(time.perf_counter() - t0)
    print(f"{draws},{rows},{statistics.median(times):.3f},{min(times):.3f},{max(times):.3f}")
