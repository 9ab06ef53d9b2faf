//! The CPU backend: f64, all cores (rayon over P values), streaming over configurations × draws.
//!
//! Pass 1 (`oracle`): per draw, the argmin over feasible candidates and its refinement.
//! Pass 2 (`stats`): per configuration, every statistic of MODEL.md §5, using pass 1's L*.
//! Memory: the draw tables (n_tokens × draws), the per-P profile of pass 1 (n_params × draws) and
//! one column of draws per thread; never configurations × draws.

pub mod evaluate;
pub mod oracle;
pub mod ranks;
pub mod stats;

use rayon::prelude::*;

use super::{ConfigStats, DrawOptimum, Evaluation, OnProgress};
use crate::candidates::Candidates;
use crate::grid::Grid;
use crate::law::LawShape;
use crate::sampling::Draw;
use evaluate::Tables;

/// What the evaluation needs besides grid and draws.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub shape: LawShape,
    pub flops_per_param_token: f64,
    /// The attention term of the training FLOPs (`law::k_at`), when modelled.
    pub attention: Option<crate::law::Attention>,
    pub target_loss: Option<f64>,
    /// The candidate rule's completion share (`decision.min_completion`): the oracle, the
    /// reference of regret and p_best, is the best candidate of each draw (`crate::candidates`).
    pub min_completion: f64,
}

impl Settings {
    /// The candidate set of `grid` for these draws.
    pub fn candidates(&self, grid: &Grid, draws: &[Draw]) -> Candidates {
        let throughput: Vec<f64> = draws.iter().map(|d| d.throughput).collect();
        let cosine = crate::sampling::cut_runs_pay(draws);
        Candidates::new(
            grid,
            &throughput,
            self.flops_per_param_token,
            self.attention,
            self.min_completion,
            cosine,
        )
    }
}

/// What pass 1 hands to pass 2 (of either backend).
pub struct Oracle {
    /// The per-draw tables of the evaluation.
    pub tables: Tables,
    /// Each draw's best candidate (the reference of regret) and its refinement.
    pub optima: Vec<DrawOptimum>,
    /// How many draws each configuration is best in (the p_best tallies), by index.
    pub best_counts: Vec<u32>,
}

/// Pass 1, shared by both backends: the draw tables, each draw's optimum, and how many draws
/// each configuration is best in.
pub fn oracle_pass(settings: &Settings, grid: &Grid, draws: &[Draw]) -> Oracle {
    let tables = Tables::new(settings, grid, draws);
    let optima = oracle::optima(&tables, grid, &settings.candidates(grid, draws));
    let mut best_counts = vec![0u32; grid.len()];
    for o in &optima {
        best_counts[o.index] += 1;
    }
    Oracle {
        tables,
        optima,
        best_counts,
    }
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
    Evaluation {
        optima: oracle.optima,
        stats,
    }
}

/// Pass 2 given pass 1's output: every configuration's statistics, in index order.
pub fn statistics_pass(
    settings: &Settings,
    grid: &Grid,
    oracle: &Oracle,
    progress: OnProgress,
) -> Vec<ConfigStats> {
    let Oracle {
        tables,
        optima,
        best_counts,
    } = oracle;
    let l_star: Vec<f64> = optima.iter().map(|o| o.loss_grid).collect();
    let per_p: Vec<Vec<ConfigStats>> = (0..grid.params.len())
        .into_par_iter()
        .map(|p| {
            let block =
                stats::block_stats(tables, grid, p, &l_star, best_counts, settings.target_loss);
            progress(block.len());
            block
        })
        .collect();
    per_p.into_iter().flatten().collect()
}

/// Pass 1 and the frontier's light pass: each draw's optimum and every configuration's
/// (loss_mean, p_complete), without quantiles.
pub fn optima_and_means(
    settings: &Settings,
    grid: &Grid,
    draws: &[Draw],
) -> (Vec<DrawOptimum>, Vec<(f64, f64)>) {
    let Oracle { tables, optima, .. } = oracle_pass(settings, grid, draws);
    let means: Vec<(f64, f64)> = (0..grid.params.len())
        .into_par_iter()
        .flat_map_iter(|p| stats::block_means(&tables, grid, p))
        .collect();
    (optima, means)
}

/// The loss of configuration `index` in every draw (for sensitivity: one column of pass 2).
pub fn config_losses(settings: &Settings, grid: &Grid, draws: &[Draw], index: usize) -> Vec<f64> {
    let tables = Tables::new(settings, grid, draws);
    let (p, d, t) = grid.coords(index);
    let mut col = vec![0.0; draws.len()];
    tables.block(grid, p).column(&tables, grid, d, t, &mut col);
    col
}
