//! Refinement off the grid (MODEL.md §5): each objective's grid plan is moved continuously in
//! (ln P, ln D, ln T) on the same draws (common random numbers), so the grid's spacing does not
//! pick the plan where the objective is flat.
//!
//! First P alone is scanned on a lattice fixed in absolute terms (ln P a multiple of
//! [`LATTICE`]) within three grid steps of the grid plan, so searches from different grids meet
//! the same points. Then a pattern search: from the best of them, with steps of one grid spacing per free
//! coordinate, every neighbour x + h·e (e ∈ {−1, 0, 1}^k, e ≠ 0) is scored; the best that
//! improves on the centre becomes the centre, else the steps halve, until they are below
//! [`TOL_LN`] (0.1% in P, D and T). Moves stay inside the grid's box, within feasibility (memory,
//! `max_params`, the budget's hours) and the candidate rule's completion share. An
//! until-the-deadline plan keeps D = ∞ and moves in P and T only; a finite-D start is first
//! compared with "until the deadline" at its (P, T) and the better is searched from.
//!
//! A plan's losses are the reference formula `law::loss` per draw at D_run = min(D, cap), so a
//! refined plan's statistics are computed here, from its column, with `crate::stats`: they do
//! not depend on the backend. Regret is measured against the grid oracle's L* of each draw (the
//! same reference as every grid plan's), so a refined plan can show a small negative regret in a
//! draw, and its `p_near_best` counts the draws with that regret at most ε.

use rayon::prelude::*;

use crate::backend::{cpu, ConfigStats};
use crate::candidates::Rank;
use crate::grid::Grid;
use crate::law::{self, LawShape};
use crate::sampling::Draw;
use crate::stats;

/// Smallest step of the search in ln units: 0.1% in P, D or T.
pub const TOL_LN: f64 = 1e-3;

/// Spacing in ln P of the first stage's lattice (0.2%).
pub const LATTICE: f64 = 2e-3;

/// Rounds of the pattern search at most (each one either moves or halves the steps; a search
/// from one grid spacing to [`TOL_LN`] needs about ten halvings).
pub const MAX_ROUNDS: usize = 200;

/// A plan anywhere in the box, not only on the grid. `tokens` is ∞ for "until the deadline".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub params: f64,
    pub tokens: f64,
    pub hours: f64,
}

/// Scores any plan against the draws.
pub struct Evaluator<'a> {
    pub shape: LawShape,
    /// FLOPs per parameter per token, and the attention term when modelled (`law::k_at`).
    pub k: f64,
    pub attention: Option<law::Attention>,
    pub draws: &'a [Draw],
    /// The reference of regret per draw (the grid oracle's L*).
    pub l_star: &'a [f64],
    pub target: Option<f64>,
    /// ε of `p_near_best`.
    pub near_best_within: f64,
}

impl<'a> Evaluator<'a> {
    /// The evaluator of a run's settings, with `l_star` the regret reference per draw.
    pub fn new(settings: &cpu::Settings, draws: &'a [Draw], l_star: &'a [f64]) -> Self {
        Evaluator {
            shape: settings.shape,
            k: settings.flops_per_param_token,
            attention: settings.attention,
            draws,
            l_star,
            target: settings.target_loss,
            near_best_within: settings.near_best_within,
        }
    }

    /// The capacity of draw `i` for (P, T): tokens it can process by the deadline, computed as
    /// the backends compute it.
    fn cap(&self, i: usize, plan: &Plan) -> f64 {
        let kp = law::flops_per_token(self.k, self.attention, plan.params);
        law::capacity(self.draws[i].throughput, plan.hours, kp)
    }

    /// The plan's loss in every draw.
    pub fn column(&self, plan: &Plan) -> Vec<f64> {
        (0..self.draws.len())
            .map(|i| {
                let d = &self.draws[i];
                let cap = self.cap(i, plan);
                let at = (plan.params, plan.tokens, cap, plan.hours, d.unique_tokens);
                law::planned_loss(self.shape, &d.coeffs, d.anneal, at)
            })
            .collect()
    }

    /// Draws in which the plan trains its D tokens before the deadline.
    pub fn completing(&self, plan: &Plan) -> usize {
        (0..self.draws.len())
            .filter(|&i| plan.tokens <= self.cap(i, plan))
            .count()
    }

    /// Every statistic of MODEL.md §5 from the plan's column.
    pub fn stats(&self, plan: &Plan) -> ConfigStats {
        let col = self.column(plan);
        let n = col.len() as f64;
        let used: f64 = (0..self.draws.len())
            .map(|i| (plan.tokens / self.cap(i, plan)).min(1.0))
            .sum();
        ConfigStats {
            p_complete: self.completing(plan) as f64 / n,
            hours_mean: plan.hours * used / n,
            ..self.column_stats(&col)
        }
    }

    /// The statistics of any column of losses over these draws (a plan's, or a policy's):
    /// [`column_stats`] against this evaluator's reference of regret.
    pub fn column_stats(&self, col: &[f64]) -> ConfigStats {
        column_stats(col, self.l_star, self.near_best_within, self.target)
    }
}

/// Every statistic of MODEL.md §5 of a column of losses, regret taken against `l_star` (draw by
/// draw): all but `p_complete` and `hours_mean`, which depend on what produced the column (NaN
/// here).
pub fn column_stats(
    col: &[f64],
    l_star: &[f64],
    near_best_within: f64,
    target: Option<f64>,
) -> ConfigStats {
    let n = col.len() as f64;
    let (mean, sd) = stats::mean_sd(col);
    let tail = stats::tail(&mut col.to_vec());
    let mut regret: Vec<f64> = col.iter().zip(l_star).map(|(l, r)| l - r).collect();
    let near = regret.iter().filter(|&&r| r <= near_best_within).count();
    let regret_mean = regret.iter().sum::<f64>() / n;
    let regret_max = regret.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let regret_p95 = stats::quantile(&mut regret, stats::Q95);
    ConfigStats {
        loss_mean: mean,
        loss_sd: sd,
        loss_se: sd / n.sqrt(),
        loss_p05: tail.p05,
        loss_p50: tail.p50,
        loss_p95: tail.p95,
        loss_cvar95: tail.cvar95,
        p_complete: f64::NAN,
        p_target: target.map_or(f64::NAN, |t| {
            col.iter().filter(|&&l| l <= t).count() as f64 / n
        }),
        regret_mean,
        regret_p95,
        regret_max,
        p_near_best: near as f64 / n,
        hours_mean: f64::NAN,
    }
}

/// Where a plan may move: the grid's box on its feasible part, and the completion share.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    ln_p: (f64, f64),
    ln_d: (f64, f64),
    ln_t: (f64, f64),
    /// Grid spacing per coordinate (the first step of the search).
    step: [f64; 3],
    /// Draws in which a finite-D plan must complete.
    need: usize,
    /// Whether "until the deadline" is a candidate (on the grid, and no completion share asked).
    deadline: bool,
}

impl Bounds {
    /// The box of `grid` under the candidate rule of `settings` for these draws, whose
    /// candidate set is `cands` (when no plan met `min_completion`, every feasible plan may be
    /// taken, as every one is a candidate then).
    pub fn for_candidates(
        grid: &Grid,
        settings: &cpu::Settings,
        draws: &[Draw],
        cands: &crate::candidates::Candidates,
    ) -> Self {
        let cosine = crate::sampling::cut_runs_pay(draws);
        let need = crate::candidates::completions_needed(
            draws.len(),
            settings.min_completion,
            grid.until_deadline && !cosine,
        );
        Bounds {
            deadline: cands.deadline(),
            ..Bounds::of(grid, if cands.met { need } else { 0 })
        }
    }

    /// The feasible box of `grid`; finite-D plans must complete in at least `need` draws
    /// (`crate::candidates::completions_needed`).
    pub fn of(grid: &Grid, need: usize) -> Self {
        let span = |v: &[f64]| (v[0].ln(), v[v.len() - 1].ln());
        let spacing = |(a, b): (f64, f64), n: usize| {
            if n > 1 {
                (b - a) / (n - 1) as f64
            } else {
                0.0
            }
        };
        let ln_p = span(&grid.params[..grid.feasible_params]);
        let ln_d = span(&grid.tokens[..grid.finite_tokens()]);
        let ln_t = span(&grid.hours[..grid.feasible_hours]);
        Bounds {
            ln_p,
            ln_d,
            ln_t,
            step: [
                spacing(ln_p, grid.feasible_params),
                spacing(ln_d, grid.finite_tokens()),
                spacing(ln_t, grid.feasible_hours),
            ],
            need,
            deadline: false,
        }
    }
}

/// A point of the search in (ln P, ln D, ln T) and, if it is allowed, its score and statistics.
type Tried = ([f64; 3], Option<(f64, ConfigStats)>);

/// The best plan near `start` under `score` (smaller is better; ∞ refuses a plan), ties by the
/// rule of `candidates::Rank`. Returns the plan and its statistics.
pub fn refine(
    eval: &Evaluator,
    bounds: &Bounds,
    start: Plan,
    score: &(dyn Fn(&Plan, &ConfigStats) -> f64 + Sync),
) -> (Plan, ConfigStats) {
    let deadline = start.tokens.is_infinite();
    // Free coordinates: those whose range is more than a point.
    let free = [
        bounds.ln_p.1 > bounds.ln_p.0,
        !deadline && bounds.ln_d.1 > bounds.ln_d.0,
        bounds.ln_t.1 > bounds.ln_t.0,
    ];
    let dims: Vec<usize> = (0..3).filter(|&j| free[j]).collect();
    let lo = [bounds.ln_p.0, bounds.ln_d.0, bounds.ln_t.0];
    let hi = [bounds.ln_p.1, bounds.ln_d.1, bounds.ln_t.1];
    let x0 = [
        start.params.ln(),
        if deadline { 0.0 } else { start.tokens.ln() },
        start.hours.ln(),
    ];
    // A coordinate that has not moved keeps its exact grid value (exp(ln x) may differ by an ulp).
    let at = |x: &[f64; 3], j: usize, v: f64| if x[j] == x0[j] { v } else { x[j].exp() };
    let to_plan = |x: &[f64; 3]| Plan {
        params: at(x, 0, start.params),
        tokens: if deadline {
            f64::INFINITY
        } else {
            at(x, 1, start.tokens)
        },
        hours: at(x, 2, start.hours),
    };
    let judge = |x: &[f64; 3]| -> Option<(f64, ConfigStats)> {
        let plan = to_plan(x);
        if (0..3).any(|j| free[j] && !(lo[j] - 1e-12..=hi[j] + 1e-12).contains(&x[j])) {
            return None;
        }
        if !deadline && eval.completing(&plan) < bounds.need {
            return None;
        }
        let st = eval.stats(&plan);
        let s = score(&plan, &st);
        s.is_finite().then_some((s, st))
    };
    // The tie rule; plans off the grid have no index, so a full tie keeps the incumbent.
    let rank = |a: &(f64, ConfigStats)| Rank {
        score: a.0,
        mean: a.1.loss_mean,
        index: 0,
    };
    let better = |a: &(f64, ConfigStats), b: &(f64, ConfigStats)| rank(a).beats(&rank(b));
    let mut x = x0;
    let Some(mut fx) = judge(&x) else {
        let st = eval.stats(&start);
        return (start, st);
    };
    // A finite D and "until the deadline" at the same (P, T) differ only in the draws where D
    // completes, so on a backend in f32 (the GPU) their grid statistics can tie and order the
    // two by rounding. Judged here in f64 like every refined plan, the better of the two is
    // searched from, whichever backend chose the grid plan.
    if !deadline && bounds.deadline {
        let sibling = Plan {
            tokens: f64::INFINITY,
            ..start
        };
        let st = eval.stats(&sibling);
        let s = score(&sibling, &st);
        // Their tail statistics can differ by an ulp of summation order where their columns
        // agree: scores within 1e-12 are a tie, which the lower expected loss breaks.
        let tol = 1e-12 * fx.0.abs().max(1.0);
        let take = s < fx.0 - tol || (s <= fx.0 + tol && st.loss_mean < fx.1.loss_mean);
        if s.is_finite() && take {
            return refine(eval, bounds, sibling, score);
        }
    }
    // Stage 1: P on a lattice fixed in absolute terms (ln P ∈ LATTICE·ℤ) within ±3 grid steps,
    // so that searches from different grids see the same points and, where the objective is
    // rough (quantiles over finitely many draws), settle in the same minimum.
    if free[0] {
        let (a, b) = (
            ((x[0] - 3.0 * bounds.step[0]).max(lo[0]) / LATTICE).ceil() as i64,
            ((x[0] + 3.0 * bounds.step[0]).min(hi[0]) / LATTICE).floor() as i64,
        );
        let scanned: Vec<Tried> = (a..=b)
            .into_par_iter()
            .map(|m| {
                let mut y = x;
                y[0] = m as f64 * LATTICE;
                (y, judge(&y))
            })
            .collect();
        for (y, r) in scanned {
            if let Some(r) = r {
                if better(&r, &fx) {
                    x = y;
                    fx = r;
                }
            }
        }
    }
    let mut h = bounds.step;
    let moves: Vec<Vec<i8>> = (0..3usize.pow(dims.len() as u32))
        .map(|m| {
            (0..dims.len())
                .map(|j| (m / 3usize.pow(j as u32) % 3) as i8 - 1)
                .collect()
        })
        .filter(|e: &Vec<i8>| e.iter().any(|&v| v != 0))
        .collect();
    for _ in 0..MAX_ROUNDS {
        if dims.iter().all(|&j| h[j] < TOL_LN) {
            break;
        }
        let tried: Vec<Tried> = moves
            .par_iter()
            .map(|e| {
                let mut y = x;
                for (k, &j) in dims.iter().enumerate() {
                    y[j] += f64::from(e[k]) * h[j];
                }
                (y, judge(&y))
            })
            .collect();
        // The first of equals in move order, so the search is deterministic.
        let best = tried
            .into_iter()
            .filter_map(|(y, r)| r.map(|r| (y, r)))
            .reduce(|a, b| if better(&b.1, &a.1) { b } else { a });
        match best {
            Some((y, r)) if better(&r, &fx) => {
                x = y;
                fx = r;
            }
            _ => {
                for &j in &dims {
                    h[j] /= 2.0;
                }
            }
        }
    }
    (to_plan(&x), fx.1)
}
