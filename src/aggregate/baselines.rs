//! The plans one would make without this tool, scored under the full uncertainty (MODEL.md §5):
//! `point_estimate` (every input at its point value) and `twenty_tokens_per_param` (the
//! Chinchilla rule of thumb). Their expected regret is the value of modelling the uncertainty.

use super::refine::{self, Bounds, Evaluator, Plan};
use crate::backend::{cpu, ConfigStats};
use crate::grid::Grid;
use crate::sampling::Draw;

/// Baseline names, as they appear in the `objective` column of recommendations.csv.
pub const POINT_ESTIMATE: &str = "point_estimate";
pub const TWENTY_TOKENS_PER_PARAM: &str = "twenty_tokens_per_param";

/// The rule of thumb's ratio (Hoffmann et al. 2022).
pub const TOKENS_PER_PARAM: f64 = 20.0;

/// The best feasible configuration that completes under the point draw alone (ties: lowest
/// index), or None when nothing completes.
pub fn point_estimate(settings: &cpu::Settings, grid: &Grid, point: &Draw) -> Option<usize> {
    let eval = cpu::evaluate(settings, grid, std::slice::from_ref(point), &|_| {});
    best_completing(grid, &eval.stats)
}

fn best_completing(grid: &Grid, stats: &[ConfigStats]) -> Option<usize> {
    let completing: Vec<usize> = (0..stats.len())
        .filter(|&i| grid.feasible(i) && stats[i].p_complete == 1.0)
        .collect();
    super::argmin_by(&completing, stats, |i| stats[i].loss_mean)
}

/// The largest P whose run at ~20 tokens per parameter (the grid D nearest to 20·P in log)
/// completes within the longest feasible T under the point draw's throughput.
pub fn twenty_tokens_per_param(
    grid: &Grid,
    point: &Draw,
    settings: &cpu::Settings,
) -> Option<usize> {
    let t = grid.feasible_hours.checked_sub(1)?;
    (0..grid.feasible_params).rev().find_map(|p| {
        let target = (TOKENS_PER_PARAM * grid.params[p]).ln();
        let d = (0..grid.tokens.len()).min_by(|&a, &b| {
            (grid.ln_tokens[a] - target)
                .abs()
                .total_cmp(&(grid.ln_tokens[b] - target).abs())
        })?;
        let pv = grid.params[p];
        let kp =
            crate::law::flops_per_token(settings.flops_per_param_token, settings.attention, pv);
        let cap = crate::law::capacity(point.throughput, grid.hours[t], kp);
        (grid.tokens[d] <= cap).then(|| grid.index(p, d, t))
    })
}

/// The point-estimate plan off the grid: from its grid plan, the plan of lowest loss under the
/// point draw alone that still completes under it (finite D), by the refinement of
/// `refine::refine` with the point draw as the only draw.
pub fn refine_point_estimate(full: &Evaluator, grid: &Grid, point: &Draw, index: usize) -> Plan {
    let one = std::slice::from_ref(point);
    let eval = Evaluator {
        draws: one,
        l_star: &[0.0],
        ..*full
    };
    let (params, tokens, hours) = grid.config(index);
    let start = Plan {
        params,
        tokens,
        hours,
    };
    let bounds = Bounds::of(grid, 1);
    refine::refine(&eval, &bounds, start, &|_, st| st.loss_mean).0
}

/// The rule of thumb off the grid: D = 20·P trained in the longest feasible T at the point
/// draw's throughput, so k·P·20P = X·3600·T gives P = √(X·3600·T / (20k)) (within the feasible
/// P range); with the attention term k depends on P, and a few fixed-point steps settle it.
pub fn twenty_tokens_per_param_plan(grid: &Grid, point: &Draw, settings: &cpu::Settings) -> Plan {
    let hours = grid.hours[grid.feasible_hours - 1];
    let p_max = grid.params[grid.feasible_params - 1];
    let k_of = |p: f64| crate::law::k_at(settings.flops_per_param_token, settings.attention, p);
    let root = |k: f64| (point.throughput * 3600.0 * hours / (TOKENS_PER_PARAM * k)).sqrt();
    let mut params = root(settings.flops_per_param_token);
    for _ in 0..20 {
        params = root(k_of(params));
    }
    // A hair below the exact root so that D ≤ cap holds after rounding: the plan completes
    // under the point draw, as the rule intends.
    let params = (params * (1.0 - 1e-12)).clamp(grid.params[0], p_max);
    Plan {
        params,
        tokens: TOKENS_PER_PARAM * params,
        hours,
    }
}
