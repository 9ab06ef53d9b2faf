# %% [markdown]
# # scalerisk from Python: a quick start
#
# Run from the repository's root after `pip install ./python`:
#
#     python python/examples/quickstart.py
#
# Each `# %%` is a notebook cell (VS Code, Jupyter with jupytext); in a notebook the result's
# charts render inline (`r.charts["frontier"]`).

# %%
import math
import pathlib
import random

import scalerisk

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "a100-3days.toml"

# %% [markdown]
# ## What should one A100 for three days train?
# The shipped scenario at 512 draws (a few seconds); any `--set KEY=VALUE` of the command line
# is a keyword argument with the same dotted key.

# %%
r = scalerisk.run(SCENARIO, **{"sampling.draws": 512})
best = r.recommendations.iloc[0]
print(
    f"recommended ({best['objective']}): {best['params']:.3g} parameters, "
    f"{best['tokens']:.3g} tokens, {best['hours']:g} h; "
    f"loss {best['loss_mean']:.3f} [{best['loss_p05']:.3f}, {best['loss_p95']:.3f}]"
)

# %%
cols = ["objective", "params", "tokens", "hours", "loss_mean", "loss_p95"]
print(r.recommendations[cols].head().to_string(index=False))

# %% [markdown]
# The whole report as the command line prints it, and a chart (inline in a notebook):

# %%
print(r.report.splitlines()[0])
r.charts["frontier"]

# %% [markdown]
# ## Advice for a run in progress
# A 400M-parameter run on a cosine schedule planned for 18.9B tokens, 30% of the way in. Its
# logged losses here are simulated from a known law with a little noise; in a training loop,
# call `observe` at each evaluation and `advice()` when a decision is due.

# %%
E, A, ALPHA, B, BETA = 1.82, 482.0, 0.35, 2085.0, 0.37
PARAMS, PLANNED, TOKENS_PER_S = 4e8, 1.8874368e10, 5.2e4
rng = random.Random(0)

so_far = 0.3 * PLANNED
adv = scalerisk.Advisor(
    SCENARIO,
    params=PARAMS,
    planned_tokens=PLANNED,
    schedule="cosine",
    hours_so_far=so_far / TOKENS_PER_S / 3600,
    draws=512,
)
t = 5e8
while t <= so_far:
    adv.observe(t, E + A / PARAMS**ALPHA + B / t**BETA + rng.gauss(0, 0.005))
    t += 2.5e8
adv.observe_throughput(TOKENS_PER_S)
advice = adv.advice()
print(advice)
assert advice.choice in ("continue", "decay_now", "extend", "restart")
assert all(o.p05 <= o.p50 <= o.p95 for o in advice.options.values())
assert not math.isnan(advice.options["continue"].p50)
