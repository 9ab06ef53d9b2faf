//! Measure, then set (MODEL.md §5): under a cosine schedule the cycle's length must be fixed
//! before the run ends, and a fixed D is chosen blind to the throughput the run will reach, which
//! explains most of the variance of its loss. A measure-then-set policy fixes P and T, measures
//! the throughput during the first [`WARMUP_MINUTES`] and sets the cycle to
//!
//!   D = c · X̂ · 3600 · (T − w) / k(P),   X̂ = X / goodput · (1 + σ·ε),  ε ~ N(0, 1),
//!
//! a multiple c of what the measured rate would train in the hours left. The measurement sees
//! the accelerators' rate (MFU), not the failures and restarts still to come (goodput), and it is
//! noisy (σ = [`MEASUREMENT_SD`]); the warm-up's minutes are charged as lost (a framework that
//! needs the cycle at launch restarts with it). Each draw then trains min(D, cap) and pays the
//! cut-run penalty of §2 when D > cap, exactly as a fixed-D plan does.
//!
//! The policy is searched like a plan: every feasible (P, T) of the grid (thinned to at most
//! [`SCREEN_PARAMS`] sizes) and c on [`SCREEN_MULTIPLIERS`] on an evenly spaced subsample of
//! draws, then a pattern search in (ln P, c) at the best T on every draw, to 0.1% in P and 0.001
//! in c. The comparison with the blind plan uses the same draws (a paired difference), and the
//! reference "train exactly to capacity" (perfect knowledge of the throughput, goodput included:
//! D = cap in every draw, no penalty) is searched the same way.

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

use super::{Band, Gain};
use crate::backend::cpu;
use crate::grid::Grid;
use crate::law::{self, LawShape};
use crate::sampling::{stream, Draw};
use crate::scenario::Objective;
use crate::stats;

/// Relative sd of the throughput measured over the warm-up (judgement: a few hundred steps'
/// tokens per second of a steady job vary by about 1–2%; the posterior's live-throughput
/// likelihood uses the same 2%, MODEL.md §8).
pub const MEASUREMENT_SD: f64 = 0.02;

/// Minutes of warm-up the measurement takes, charged as lost (judgement: a few hundred steps).
pub const WARMUP_MINUTES: f64 = 10.0;

/// Draws of the screening stage at most (an evenly spaced subsample; the search then scores its
/// start on every draw).
pub const SCREEN_DRAWS: usize = 1024;

/// Sizes of the screening stage at most (every k-th feasible grid size).
pub const SCREEN_PARAMS: usize = 64;

/// Multipliers c of the screening stage.
pub const SCREEN_MULTIPLIERS: [f64; 9] = [0.80, 0.85, 0.90, 0.95, 1.00, 1.05, 1.10, 1.15, 1.20];

/// Smallest step of the pattern search: in ln P (0.1%) and in c.
const TOL: [f64; 2] = [1e-3, 1e-3];

/// The standard normal ε of draw `i`'s throughput measurement: its own stream, so the policy's
/// noise is a pure function of (seed, draw) like every input (sampling's rule).
pub fn measurement_noise(seed: u64, draws: usize) -> Vec<f64> {
    let key = stream::key(seed, "policy.measurement");
    (0..draws)
        .map(|i| {
            let z: f64 = StandardNormal.sample(&mut stream::stream(&key, i as u64));
            z
        })
        .collect()
}

/// One measure-then-set policy and what it gives.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub params: f64,
    pub hours: f64,
    /// c: the cycle as a multiple of what the measured rate trains in the hours left.
    pub multiplier: f64,
    pub loss_mean: f64,
    pub loss_se: f64,
    pub loss_p05: f64,
    pub loss_p50: f64,
    pub loss_p95: f64,
    /// Share of draws whose run completes its cycle (D ≤ cap).
    pub p_complete: f64,
    /// The cycle it sets, D, over the draws.
    pub tokens: Band,
}

/// How far a fixed cycle overshoots the run: D / cap over the draws (Hoffmann et al. 2022,
/// App. B: a cycle more than 25% longer than the run "leads to clear drops in performance").
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Overshoot {
    pub median: f64,
    pub above_1_25: f64,
    pub above_1_5: f64,
}

/// The policy against the blind plan and against perfect knowledge.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub policy: Policy,
    /// What the policy gains over the blind plan (paired, same draws).
    pub gain: Gain,
    /// The blind plan's cycle overshoot.
    pub blind_overshoot: Overshoot,
    /// Expected loss of the best plan that trains exactly to capacity in every draw.
    pub to_capacity: f64,
    pub measurement_sd: f64,
    pub warmup_minutes: f64,
    /// Under each objective, the best policy for it against that objective's plan.
    pub versus: Vec<Versus>,
    /// Mean regret of the policy and of the blind plan against each draw's best plan: what
    /// perfect information would still save after measuring, and before.
    pub regret_mean: f64,
    pub blind_regret_mean: f64,
}

/// The policy as a plan under one objective: its score and the objective's plan's (smaller is
/// better; `near_best` and `target` are shares, so there larger is better and the scores are
/// negated, as the objectives rank them).
#[derive(Debug, Clone, Serialize)]
pub struct Versus {
    pub objective: Objective,
    /// The best policy under this objective (searched as the expected-loss one is).
    pub params: f64,
    pub hours: f64,
    pub multiplier: f64,
    pub policy: f64,
    pub plan: f64,
}

/// Scores (P, T, c) on a set of draws.
pub struct Scorer<'a> {
    shape: LawShape,
    k: f64,
    attention: Option<law::Attention>,
    draws: Vec<&'a Draw>,
    /// X̂ / X per draw: (1 + σ·ε) / goodput.
    measured: Vec<f64>,
    /// Each draw's best grid loss (the reference of regret), ε of near_best, the target loss.
    l_star: Vec<f64>,
    near_best_within: f64,
    target: Option<f64>,
}

impl<'a> Scorer<'a> {
    /// Over `draws` (with the noise `eps` of the same draws), or an evenly spaced subsample
    /// of `limit` of them.
    pub fn new(
        settings: &cpu::Settings,
        draws: &'a [Draw],
        eps: &[f64],
        l_star: &[f64],
        limit: usize,
    ) -> Self {
        let n = draws.len();
        let take: Vec<usize> = if n <= limit {
            (0..n).collect()
        } else {
            (0..limit).map(|j| j * n / limit).collect()
        };
        Scorer {
            shape: settings.shape,
            k: settings.flops_per_param_token,
            attention: settings.attention,
            draws: take.iter().map(|&i| &draws[i]).collect(),
            measured: take
                .iter()
                .map(|&i| (1.0 + MEASUREMENT_SD * eps[i]) / draws[i].goodput)
                .collect(),
            l_star: take.iter().map(|&i| l_star[i]).collect(),
            near_best_within: settings.near_best_within,
            target: settings.target_loss,
        }
    }

    /// Each draw's loss under the policy (P, T, c), or, with `c` = None, when the run trains
    /// exactly to its capacity; and each draw's (D, cap).
    pub fn column(&self, params: f64, hours: f64, c: Option<f64>) -> (Vec<f64>, Vec<(f64, f64)>) {
        self.scored(params, hours, c).unzip()
    }

    /// Per draw, in order: its loss and its (D, cap), as [`column`](Self::column) collects them.
    fn scored(
        &self,
        params: f64,
        hours: f64,
        c: Option<f64>,
    ) -> impl Iterator<Item = (f64, (f64, f64))> + '_ {
        let kp = law::flops_per_token(self.k, self.attention, params);
        let left = hours - WARMUP_MINUTES / 60.0;
        self.draws.iter().zip(&self.measured).map(move |(d, &m)| {
            let cap = law::capacity(d.throughput, left, kp);
            let planned = c.map_or(cap, |c| c * law::capacity(d.throughput * m, left, kp));
            let at = (params, planned, cap, hours, d.unique_tokens);
            let loss = law::planned_loss(self.shape, &d.coeffs, d.anneal, at);
            (loss, (planned, cap))
        })
    }

    /// The mean loss, summed in draw order without collecting the column (the search calls it
    /// thousands of times).
    fn mean(&self, params: f64, hours: f64, c: Option<f64>) -> f64 {
        let sum: f64 = self.scored(params, hours, c).map(|(l, _)| l).sum();
        sum / self.draws.len() as f64
    }

    /// The policy's score under objective `o` (smaller is better: shares negated): the
    /// objective's own score of the column's statistics, as plans are scored.
    fn score(&self, o: Objective, params: f64, hours: f64, c: Option<f64>) -> f64 {
        // The mean alone, without collecting the column: the common case, called thousands of
        // times by the search.
        if o == Objective::Expected {
            return self.mean(params, hours, c);
        }
        let (col, _) = self.column(params, hours, c);
        let st =
            super::refine::column_stats(&col, &self.l_star, self.near_best_within, self.target);
        super::score(o, &st)
    }
}

/// The best (P, T, c) for `scorer` over the grid's feasible sizes and hours: screened on a
/// subsample, then a pattern search on every draw. `c` = None searches "exactly to capacity".
fn search(
    grid: &Grid,
    screen: &Scorer,
    full: &Scorer,
    exact: bool,
    o: Objective,
) -> Option<(f64, f64, Option<f64>)> {
    let n_p = grid.feasible_params;
    if n_p == 0 || grid.feasible_hours == 0 {
        return None;
    }
    let stride = n_p.div_ceil(SCREEN_PARAMS);
    let sizes: Vec<usize> = (0..n_p).step_by(stride).collect();
    let cs: Vec<Option<f64>> = if exact {
        vec![None]
    } else {
        SCREEN_MULTIPLIERS.iter().map(|&c| Some(c)).collect()
    };
    let hours: Vec<f64> = grid.hours[..grid.feasible_hours]
        .iter()
        .copied()
        .filter(|&t| t > WARMUP_MINUTES / 60.0)
        .collect();
    // Ties go to the first in (P, T, c) order: the screen is deterministic.
    let (_, (p0, t0, c0)) = sizes
        .par_iter()
        .flat_map_iter(|&p| {
            let pv = grid.params[p];
            let cs = &cs;
            hours.iter().flat_map(move |&t| {
                cs.iter()
                    .map(move |&c| (screen.score(o, pv, t, c), (pv, t, c)))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .reduce(|a, b| if b.0 < a.0 { b } else { a })?;
    // Pattern search in (ln P, c) at T = t0, inside the grid's feasible sizes.
    let (lo, hi) = (grid.ln_params[0], grid.ln_params[n_p - 1]);
    let step_p = if grid.params.len() > 1 {
        (grid.ln_params[1] - grid.ln_params[0]) * stride as f64
    } else {
        TOL[0]
    };
    let mut x = [
        grid.params
            .iter()
            .position(|&v| v == p0)
            .map_or(p0.ln(), |i| grid.ln_params[i]),
        c0.unwrap_or(1.0),
    ];
    let score = |x: [f64; 2]| full.score(o, x[0].exp(), t0, (!exact).then_some(x[1]));
    let mut best = score(x);
    let mut h = [step_p.max(TOL[0]), if exact { 0.0 } else { 0.05 }];
    for _ in 0..super::refine::MAX_ROUNDS {
        if h[0] < TOL[0] && (exact || h[1] < TOL[1]) {
            break;
        }
        let mut moved = false;
        for (dp, dc) in [
            (-1.0, 0.0),
            (1.0, 0.0),
            (0.0, -1.0),
            (0.0, 1.0),
            (-1.0, -1.0),
            (-1.0, 1.0),
            (1.0, -1.0),
            (1.0, 1.0),
        ] {
            if exact && dc != 0.0 {
                continue;
            }
            let y = [x[0] + dp * h[0], x[1] + dc * h[1]];
            if y[0] < lo || y[0] > hi || y[1] <= 0.0 {
                continue;
            }
            let v = score(y);
            if v < best {
                best = v;
                x = y;
                moved = true;
            }
        }
        if !moved {
            h = [h[0] / 2.0, h[1] / 2.0];
        }
    }
    Some((x[0].exp(), t0, (!exact).then_some(x[1])))
}

/// The measure-then-set policy of a cosine run on a hardware budget, against `blind` (the
/// expected-loss plan), scored on `draws` with the measurement noise of `seed`; and under each
/// objective of `plans` (with its plan's score) the best policy for it, against that plan.
/// Regret is taken against `l_star`, each draw's best grid loss.
#[allow(clippy::too_many_arguments)]
pub fn outcome(
    settings: &cpu::Settings,
    grid: &Grid,
    draws: &[Draw],
    seed: u64,
    blind: &super::refine::Plan,
    blind_column: &[f64],
    l_star: &[f64],
    plans: &[(Objective, f64)],
) -> Option<Outcome> {
    let eps = measurement_noise(seed, draws.len());
    let screen = Scorer::new(settings, draws, &eps, l_star, SCREEN_DRAWS);
    let full = Scorer::new(settings, draws, &eps, l_star, usize::MAX);
    let (params, hours, c) = search(grid, &screen, &full, false, Objective::Expected)?;
    let (col, dc) = full.column(params, hours, c);
    let (cp, ct, _) = search(grid, &screen, &full, true, Objective::Expected)?;
    let to_capacity = full.mean(cp, ct, None);
    let n = col.len() as f64;
    let (mean, sd) = stats::mean_sd(&col);
    let tail = stats::tail(&mut col.clone());
    let kp = law::flops_per_token(
        settings.flops_per_param_token,
        settings.attention,
        blind.params,
    );
    let mut ratio: Vec<f64> = draws
        .iter()
        .map(|d| blind.tokens / law::capacity(d.throughput, blind.hours, kp))
        .collect();
    let share = |v: &[f64], x: f64| v.iter().filter(|&&r| r > x).count() as f64 / v.len() as f64;
    let stats_of = |col: &[f64]| {
        super::refine::column_stats(col, l_star, settings.near_best_within, settings.target_loss)
    };
    let own = stats_of(&col);
    // Policies as plans: under every objective the best policy for it (the expected-loss one
    // is the policy above), scored as plans are.
    let versus = plans
        .iter()
        .filter_map(|&(o, plan)| {
            let ((p, t, c), st) = if o == Objective::Expected {
                ((params, hours, c), own)
            } else {
                let (p, t, c) = search(grid, &screen, &full, false, o)?;
                ((p, t, c), stats_of(&full.column(p, t, c).0))
            };
            Some(Versus {
                objective: o,
                params: p,
                hours: t,
                multiplier: c.unwrap_or(f64::NAN),
                policy: super::score(o, &st),
                plan,
            })
        })
        .collect();
    Some(Outcome {
        policy: Policy {
            params,
            hours,
            multiplier: c.unwrap_or(f64::NAN),
            loss_mean: mean,
            loss_se: sd / n.sqrt(),
            loss_p05: tail.p05,
            loss_p50: tail.p50,
            loss_p95: tail.p95,
            p_complete: dc.iter().filter(|(d, cap)| d <= cap).count() as f64 / n,
            tokens: Band::of(dc.iter().map(|(d, _)| *d)),
        },
        gain: Gain::of(blind_column, &col),
        blind_overshoot: Overshoot {
            above_1_25: share(&ratio, 1.25),
            above_1_5: share(&ratio, 1.5),
            median: stats::quantile(&mut ratio, 0.5),
        },
        to_capacity,
        measurement_sd: MEASUREMENT_SD,
        warmup_minutes: WARMUP_MINUTES,
        versus,
        regret_mean: own.regret_mean,
        blind_regret_mean: stats_of(blind_column).regret_mean,
    })
}
