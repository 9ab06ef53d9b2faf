"""The advisor on a curve simulated from a known truth."""

import math
import random

import pytest

import scalerisk

from conftest import SCENARIOS

SCENARIO = SCENARIOS / "a100-3days.toml"

# The truth: a Chinchilla-form law (E + A/N^α + B/D^β, Hoffmann et al. 2022's form, coefficients
# near Besiroglu et al. 2024's refit) for a 400M model on a cosine schedule planned for 18.9B
# tokens, logged with 0.005 nats of noise; one A100 at about 52,000 tokens per second.
E, A, ALPHA, B, BETA = 1.82, 482.0, 0.35, 2085.0, 0.37
PARAMS, PLANNED = 4e8, 1.8874368e10
TOKENS_PER_S = 5.2e4


def truth(tokens):
    return E + A / PARAMS**ALPHA + B / tokens**BETA


STEP = 2.62144e8  # 1,000 steps of 2^18 tokens


def hours_at(tokens):
    return tokens / TOKENS_PER_S / 3600


def feed(adv, rng, start, up_to):
    """Log the truth's noisy losses every STEP tokens in [start, up_to], with the hours so far."""
    t = start
    while t <= up_to:
        adv.observe(t, truth(t) + rng.gauss(0.0, 0.005), hours_so_far=hours_at(t))
        t += STEP
    return t


def advisor(up_to, draws=256, seed=1, **overrides):
    adv = scalerisk.Advisor(
        SCENARIO,
        params=PARAMS,
        planned_tokens=PLANNED,
        schedule="cosine",
        hours_so_far=hours_at(up_to),
        schedule_options={"warmup": 5.6e8, "final_lr_fraction": 0.1},
        draws=draws,
        **overrides,
    )
    feed(adv, random.Random(seed), 2 * STEP, up_to)
    return adv


@pytest.fixture(scope="module")
def both():
    """One advisor asked a quarter of the way in, then again at half way after more rows."""
    rng = random.Random(1)
    adv = scalerisk.Advisor(
        SCENARIO,
        params=PARAMS,
        planned_tokens=PLANNED,
        schedule="cosine",
        hours_so_far=0.0,
        schedule_options={"warmup": 5.6e8, "final_lr_fraction": 0.1},
        draws=256,
    )
    t = feed(adv, rng, 2 * STEP, 0.25 * PLANNED)
    early = adv.advice()
    feed(adv, rng, t, 0.5 * PLANNED)
    return early, adv.advice()


@pytest.fixture(scope="module")
def early(both):
    return both[0]


@pytest.fixture(scope="module")
def later(both):
    return both[1]


def test_advice_is_an_option_with_ordered_bands(early):
    assert set(early.options) == {"continue", "decay_now", "extend", "restart"}
    assert early.choice in early.options
    for o in early.options.values():
        assert o.p05 <= o.p50 <= o.p95, o
        assert math.isfinite(o.mean) and o.p05 < o.mean < o.p95, o
    assert early.options["continue"].params == PARAMS
    assert early.tokens_so_far == pytest.approx(0.25 * PLANNED, rel=0.02)
    # Decaying now ends the run about a fifth of its tokens later; extending runs past the plan.
    assert early.options["decay_now"].tokens_p50 < early.options["continue"].tokens_p50
    assert str(early).startswith("advice: ")


def test_more_data_narrows_the_band(early, later):
    assert later.tokens_so_far > 1.9 * early.tokens_so_far
    assert later.hours_so_far > 1.9 * early.hours_so_far
    width = lambda a: a.options["continue"].p95 - a.options["continue"].p05
    assert width(later) < width(early)


def test_the_band_lies_below_the_last_logged_loss(later):
    # Training on lowers the loss: every option of the live run ends below the truth's loss at
    # the tokens so far (its last logged rows), and continuing ends where the schedule can reach.
    last = truth(later.tokens_so_far)
    for name in ("continue", "decay_now", "extend"):
        assert later.options[name].p95 < last, (name, later.options[name], last)
    assert later.options["continue"].tokens_p95 <= PLANNED * 1.0001


def test_throughput_and_refusals():
    # Enough draws that the posterior descends from over 50 prior draws (under that the advice
    # warns that its standard errors rest on few groups).
    adv = advisor(0.25 * PLANNED, draws=1024)
    adv.observe_throughput(TOKENS_PER_S)
    a = adv.advice()
    assert a.choice in a.options
    assert a.warnings == [], a.warnings
    # Half the throughput the hours so far imply, and an MFU below the scenario's 0.3-0.5: the
    # posterior cannot honour it, and says so.
    slow = advisor(0.25 * PLANNED)
    slow.observe_throughput(TOKENS_PER_S / 2)
    w = slow.advice().warnings
    assert any(x.startswith("the measured MFU ") for x in w), w
    assert "warning: the measured MFU" in str(slow.advice())
    # With the level learned from the rows (which the scenario needs its rows for), too.
    free = advisor(0.25 * PLANNED, **{"observations.level": "free"})
    free.observe_throughput(TOKENS_PER_S)
    assert free.advice().choice in ("continue", "decay_now", "extend", "restart")
    with pytest.raises(scalerisk.ScenarioError) as e:
        scalerisk.Advisor(
            SCENARIO, params=PARAMS, planned_tokens=PLANNED, hours_so_far=1.0
        ).advice()
    assert e.value.field == "observations.losses"
    bad = advisor(0.25 * PLANNED)
    bad.observe(PLANNED * 0.3, -1.0)
    with pytest.raises(scalerisk.ScenarioError) as e:
        bad.advice()
    assert e.value.field == "observations.losses"
    assert "is not a number > 0" in str(e.value)
    # Refusals name the advisor's arguments and its observe() calls, not the scenario keys.
    assert "observe() call " in str(e.value), str(e.value)
    late = advisor(0.25 * PLANNED)
    late.hours_so_far = 500.0
    with pytest.raises(scalerisk.ScenarioError) as e:
        late.advice()
    assert e.value.field == "hours_so_far", str(e.value)
    past = advisor(0.25 * PLANNED)
    past.observe(PLANNED * 1.1, 2.9)
    with pytest.raises(scalerisk.ScenarioError) as e:
        past.advice()
    assert "is past its planned" in str(e.value) and "(planned_tokens)" in str(e.value), str(e.value)
