//! The frontier (MODEL.md §5): the per-draw optimum and the robust choice at each budget level
//! H_j, so a user sees what one more day buys, with bands.
//!
//! Level H_j keeps the grid's P and D axes and scales its T axis by H_j / H (so T > H is allowed
//! here only); each draw keeps its throughput, so a FLOPs budget scales with the hours. Levels
//! use [`DRAWS_PER_LEVEL`] of the run's draws, one random subset for every level
//! (`sampling::subsample`: all of them in a run of at most that many, so then the level at H is
//! the run's own), and a light pass (mean and completion only): the robust choice is the
//! expected-loss plan under `min_completion`, as in the main run.

use serde::Serialize;

use super::{refine, Band};
use crate::backend::cpu;
use crate::candidates::Rank;
use crate::grid::Grid;
use crate::sampling::Draw;
use crate::scenario::Scenario;

/// Draws per frontier level: p05/p95 bands to within about ±0.7 percentile points (the
/// binomial standard error of a 5% quantile at 1024 draws), at an eighth of an 8,192-draw run's
/// light pass per level; the seven levels then cost about a third of the main run.
pub const DRAWS_PER_LEVEL: usize = 1024;

/// One budget level.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub budget_hours: f64,
    /// Median training FLOPs the budget buys (throughput × hours).
    pub flops_p50: f64,
    pub params: Band,
    pub tokens: Band,
    pub tokens_per_param: Band,
    pub loss_opt: Band,
    /// The grid plan the level's expected-loss plan was refined from (None if nothing is
    /// feasible); `robust_*` are the refined plan's.
    pub robust_index: Option<usize>,
    pub robust_params: f64,
    pub robust_tokens: f64,
    pub robust_loss_mean: f64,
    /// Per-draw L* of the level's draws (one subset for every level), for differences between
    /// levels.
    #[serde(skip)]
    pub loss_star: Vec<f64>,
    /// Share of draws whose optimum sits on the grid's largest P or D (the axes may be too short).
    pub at_grid_edge: f64,
}

/// What doubling the budget buys: per-draw change of L* and the robust plans at H and 2H.
#[derive(Debug, Clone, Serialize)]
pub struct Doubling {
    pub from_hours: f64,
    pub to_hours: f64,
    pub loss_opt_change: Band,
    pub robust_loss_change: f64,
    pub params_p50_from: f64,
    pub params_p50_to: f64,
}

/// The grid of level `hours`: T axis scaled, feasibility as the main grid's.
fn level_grid(grid: &Grid, budget_hours: f64, hours: f64) -> Grid {
    let scale = hours / budget_hours;
    let mut g = grid.clone();
    g.hours = grid.hours.iter().map(|t| t * scale).collect();
    g
}

pub fn levels(s: &Scenario, grid: &Grid, draws: &[Draw], settings: &cpu::Settings) -> Vec<Level> {
    // A random subset, not the first draws: a posterior's come in ancestor order.
    let draws: Vec<Draw> =
        crate::sampling::subsample(s.sampling.seed, "frontier", draws.len(), DRAWS_PER_LEVEL)
            .into_iter()
            .map(|i| draws[i])
            .collect();
    let draws = &draws[..];
    s.decision
        .frontier_hours
        .iter()
        .map(|&h| {
            let g = level_grid(grid, s.budget.hours, h);
            let (optima, means) = cpu::optima_and_means(settings, &g, draws);
            let cands = settings.candidates(&g, draws);
            // The expected-loss objective under the tie rule (score and mean are the same here).
            let robust = Rank::best(cands.indices(&g).into_iter().map(|i| Rank {
                score: means[i].0,
                mean: means[i].0,
                index: i,
            }))
            .map(|r| r.index);
            // Refined off the grid as the main run's plans are (refine.rs).
            let l_star: Vec<f64> = optima.iter().map(|o| o.loss_grid).collect();
            let refined = robust.map(|i| {
                let (params, tokens, hours) = g.config(i);
                let start = refine::Plan {
                    params,
                    tokens,
                    hours,
                };
                let eval = refine::Evaluator::new(settings, draws, &l_star);
                let bounds = refine::Bounds::for_candidates(&g, settings, draws, &cands);
                refine::refine(&eval, &bounds, start, &|_, st| st.loss_mean)
            });
            let (rp, rd, robust_mean) = refined
                .map_or((f64::NAN, f64::NAN, f64::NAN), |(p, st)| {
                    (p.params, p.tokens, st.loss_mean)
                });
            let p_max = g.params[g.feasible_params.saturating_sub(1)];
            // With "until the deadline" on the grid the D axis bounds no optimum.
            let d_max = if g.until_deadline {
                f64::INFINITY
            } else {
                g.tokens[g.tokens.len() - 1]
            };
            let edge = optima
                .iter()
                .filter(|o| o.params >= p_max * 0.999 || o.tokens >= d_max * 0.999)
                .count();
            let mut flops: Vec<f64> = draws.iter().map(|d| d.throughput * 3600.0 * h).collect();
            Level {
                budget_hours: h,
                flops_p50: crate::stats::quantile(&mut flops, 0.5),
                params: Band::of(optima.iter().map(|o| o.params)),
                tokens: Band::of(optima.iter().map(|o| o.tokens)),
                tokens_per_param: Band::of(optima.iter().map(|o| o.tokens / o.params)),
                loss_opt: Band::of(optima.iter().map(|o| o.loss)),
                robust_index: robust,
                robust_params: rp,
                robust_tokens: rd,
                robust_loss_mean: robust_mean,
                loss_star: optima.iter().map(|o| o.loss).collect(),
                at_grid_edge: edge as f64 / optima.len() as f64,
            }
        })
        .collect()
}

/// The doubling line of the report, when the levels hold H and 2H.
pub fn doubling(levels: &[Level], budget_hours: f64) -> Option<Doubling> {
    let find = |h: f64| {
        levels
            .iter()
            .find(|l| (l.budget_hours / h - 1.0).abs() < 1e-9)
    };
    let (a, b) = (find(budget_hours)?, find(2.0 * budget_hours)?);
    Some(Doubling {
        from_hours: a.budget_hours,
        to_hours: b.budget_hours,
        loss_opt_change: Band::of(a.loss_star.iter().zip(&b.loss_star).map(|(x, y)| y - x)),
        robust_loss_change: b.robust_loss_mean - a.robust_loss_mean,
        params_p50_from: a.params.p50,
        params_p50_to: b.params.p50,
    })
}
