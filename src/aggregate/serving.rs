//! Serving as a frontier: expected final loss against expected lifetime cost (training plus
//! serving GPU-hours, `lifetime.rs`), the plans no other candidate beats on both. It shows what
//! a smaller or larger model trades before any `target_loss` is chosen; `lifetime_cost` is then
//! one point near it (the cheapest plan reaching the target).

use serde::Serialize;

use super::lifetime::Cost;
use crate::backend::ConfigStats;
use crate::grid::Grid;

/// One plan of the frontier, a grid plan (not refined: the frontier is a set, not one answer).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point {
    pub index: usize,
    pub params: f64,
    /// `inf` (null in JSON) for a plan that trains until the deadline.
    pub tokens: f64,
    pub hours: f64,
    pub loss_mean: f64,
    pub loss_se: f64,
    pub p_target: f64,
    /// Expected training GPU-hours (GPUs × mean hours used).
    pub training_gpu_hours: f64,
    /// Inference GPU-hours of serving `decision.inference_tokens`.
    pub inference_gpu_hours: f64,
    /// The lifetime cost: training + inference − reserved, at least 0 ([`Cost::total`]).
    pub lifetime_gpu_hours: f64,
}

/// Every candidate as a frontier point (those with a finite loss and cost).
fn points(cost: &Cost, grid: &Grid, candidates: &[usize], stats: &[ConfigStats]) -> Vec<Point> {
    candidates
        .iter()
        .map(|&i| {
            let (params, tokens, hours) = grid.config(i);
            let st = &stats[i];
            Point {
                index: i,
                params,
                tokens,
                hours,
                loss_mean: st.loss_mean,
                loss_se: st.loss_se,
                p_target: st.p_target,
                training_gpu_hours: cost.training_gpu_hours(st),
                inference_gpu_hours: cost.inference_gpu_hours(params),
                lifetime_gpu_hours: cost.total(params, st),
            }
        })
        .filter(|p| p.loss_mean.is_finite() && p.lifetime_gpu_hours.is_finite())
        .collect()
}

/// Per model size of the grid, its candidate of lowest expected loss (ties: the lowest index),
/// smallest size first. What a larger model trades when none is on the frontier (within the
/// budget a model past the optimum loses on both loss and cost) is read off these.
pub fn best_per_size(
    cost: &Cost,
    grid: &Grid,
    candidates: &[usize],
    stats: &[ConfigStats],
) -> Vec<Point> {
    let mut best: Vec<Option<Point>> = vec![None; grid.params.len()];
    for p in points(cost, grid, candidates, stats) {
        let slot = &mut best[grid.coords(p.index).0];
        let better = slot.is_none_or(|b| {
            p.loss_mean < b.loss_mean || (p.loss_mean == b.loss_mean && p.index < b.index)
        });
        if better {
            *slot = Some(p);
        }
    }
    best.into_iter().flatten().collect()
}

/// The candidates not beaten on both expected loss and lifetime cost, cheapest first (so the
/// loss falls along it). Of plans with the same cost only the lowest loss is kept, and of plans
/// with the same cost and loss the lowest index.
pub fn frontier(
    cost: &Cost,
    grid: &Grid,
    candidates: &[usize],
    stats: &[ConfigStats],
) -> Vec<Point> {
    let mut points = points(cost, grid, candidates, stats);
    points.sort_by(|a, b| {
        (a.lifetime_gpu_hours.total_cmp(&b.lifetime_gpu_hours))
            .then(a.loss_mean.total_cmp(&b.loss_mean))
            .then(a.index.cmp(&b.index))
    });
    let mut best = f64::INFINITY;
    points.retain(|p| {
        let keep = p.loss_mean < best;
        if keep {
            best = p.loss_mean;
        }
        keep
    });
    points
}
