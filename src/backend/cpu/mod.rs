//! The CPU backend: f64, all cores (rayon over P values), streaming over configurations × draws.
//!
//! Pass 1 (`oracle`): per draw, the argmin over feasible candidates and its refinement.
//! Pass 2 (`stats`): per configuration, every statistic of MODEL.md §5, using pass 1's L*.
//! Memory: the draw tables (n_tokens × draws), the per-P profile of pass 1 (n_params × draws) and
//! one column of draws per thread; never configurations × draws.

pub mod evaluate;
pub mod kernels;
pub mod oracle;
pub mod ranks;
pub mod stats;

use rayon::prelude::*;

use super::{ConfigStats, DrawOptimum, Evaluation, OnProgress};
use crate::grid::Grid;
use crate::sampling::Draw;
use evaluate::Tables;

/// Pass 1's output (re-exported here, where it was first defined).
pub use super::Oracle;
/// The settings type every stage uses, defined with the backends (re-exported here, where it
/// was first defined).
pub use super::Settings;

/// The f64 reference on every CPU core.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu;

impl super::Backend for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn describe(&self) -> String {
        format!("{} CPU threads (f64)", rayon::current_num_threads())
    }

    fn statistics(
        &self,
        settings: &Settings,
        grid: &Grid,
        _draws: &[Draw],
        oracle: &Oracle,
        progress: OnProgress,
    ) -> crate::error::Result<Vec<ConfigStats>> {
        Ok(statistics_pass(settings, grid, oracle, progress))
    }
}

/// Pass 1, shared by every backend: see [`Oracle::new`].
pub fn oracle_pass(settings: &Settings, grid: &Grid, draws: &[Draw]) -> Oracle {
    Oracle::new(settings, grid, draws)
}

/// Evaluate every configuration of `grid` against `draws`, reporting progress per P block.
pub fn evaluate(
    settings: &Settings,
    grid: &Grid,
    draws: &[Draw],
    progress: OnProgress,
) -> Evaluation {
    let oracle = oracle_pass(settings, grid, draws);
    let stats = statistics_pass(settings, grid, &oracle, progress);
    oracle.into_evaluation(stats)
}

/// Pass 2 given pass 1's output: every configuration's statistics, in index order.
pub fn statistics_pass(
    settings: &Settings,
    grid: &Grid,
    oracle: &Oracle,
    progress: OnProgress,
) -> Vec<ConfigStats> {
    let Oracle { tables, optima } = oracle;
    let l_star: Vec<f64> = optima.iter().map(|o| o.loss_grid).collect();
    let per_p: Vec<Vec<ConfigStats>> = (0..grid.params.len())
        .into_par_iter()
        .map(|p| {
            progress(0);
            let block = stats::block_stats(tables, grid, p, &l_star, settings);
            progress(block.len());
            block
        })
        .collect();
    per_p.into_iter().flatten().collect()
}

/// The frontier's light pass: each draw's optimum and every configuration's (loss_mean,
/// p_complete), without quantiles; each P's tables are built once for both. Where no finite D
/// can be the expected-loss choice (below) the finite D entries read (∞, 0).
pub fn optima_and_means(
    settings: &Settings,
    grid: &Grid,
    draws: &[Draw],
) -> (Vec<DrawOptimum>, Vec<(f64, f64)>) {
    let tables = Tables::new(settings, grid, draws);
    let cands = settings.candidates(grid, draws);
    // Without a cosine penalty a run's loss falls with the tokens it trains (every law's D term
    // does, repeated data included), and "until the deadline" trains its capacity, as much as any
    // finite D of the same (P, T) in every draw and more in a draw where that D completes below
    // its capacity. Of the candidates (a finite D that never completes is none) the expected-loss
    // choice is then an until-the-deadline plan, and only those entries need their means: the
    // finite token axis, 160 entries of 161 on a100-3days, is skipped.
    let deadline_only = cands.deadline() && !tables.cosine;
    // Per P: its oracle profile (feasible P only) and every configuration's (mean, p_complete).
    type PerP = (Option<oracle::Profile>, Vec<(f64, f64)>);
    let per_p: Vec<PerP> = (0..grid.params.len())
        .into_par_iter()
        .map(|p| {
            let block = tables.block(grid, p);
            let profile =
                (p < grid.feasible_params).then(|| oracle::profile(&tables, grid, &cands, &block));
            (
                profile,
                stats::block_means(&tables, grid, &block, deadline_only),
            )
        })
        .collect();
    let (profiles, means): (Vec<_>, Vec<_>) = per_p.into_iter().unzip();
    let profiles: Vec<oracle::Profile> = profiles.into_iter().flatten().collect();
    (
        oracle::refine(tables.draws, grid, &profiles),
        means.into_iter().flatten().collect(),
    )
}
