//! Pass 2: every per-configuration statistic of MODEL.md §5 for the configurations of one P.

use super::evaluate::Tables;
use crate::backend::ConfigStats;
use crate::grid::Grid;
use crate::stats;

/// Statistics of configuration (p, d, t) for every d and t, in index order.
pub fn block_stats(
    tables: &Tables,
    grid: &Grid,
    p: usize,
    l_star: &[f64],
    best_counts: &[u32],
    target: Option<f64>,
) -> Vec<ConfigStats> {
    let s = tables.draws;
    let n = s as f64;
    let block = tables.block(grid, p);
    let mut col = vec![0.0; s];
    let mut scratch = vec![0.0; s];
    let mut out = Vec::with_capacity(grid.tokens.len() * grid.hours.len());
    for d in 0..grid.tokens.len() {
        for t in 0..grid.hours.len() {
            let (complete, used) = block.column(tables, grid, d, t, &mut col);
            let (mean, sd) = stats::mean_sd(&col);
            let p_target = target.map_or(f64::NAN, |x| {
                col.iter().filter(|l| **l <= x).count() as f64 / n
            });
            let mut regret_sum = 0.0;
            let mut regret_max = f64::NEG_INFINITY;
            for i in 0..s {
                let r = col[i] - l_star[i];
                scratch[i] = r;
                regret_sum += r;
                regret_max = regret_max.max(r);
            }
            let regret_p95 = stats::quantile(&mut scratch, stats::Q95);
            let tail = stats::tail(&mut col);
            out.push(ConfigStats {
                loss_mean: mean,
                loss_sd: sd,
                loss_se: sd / n.sqrt(),
                loss_p05: tail.p05,
                loss_p50: tail.p50,
                loss_p95: tail.p95,
                loss_cvar95: tail.cvar95,
                p_complete: complete as f64 / n,
                p_target,
                regret_mean: regret_sum / n,
                regret_p95,
                regret_max,
                p_best: f64::from(best_counts[grid.index(p, d, t)]) / n,
                hours_mean: grid.hours[t] * used / n,
            });
        }
    }
    out
}

/// The light pass of the frontier: (loss_mean, p_complete) of every configuration of one P.
pub fn block_means(tables: &Tables, grid: &Grid, p: usize) -> Vec<(f64, f64)> {
    let n = tables.draws as f64;
    let block = tables.block(grid, p);
    let mut col = vec![0.0; tables.draws];
    let mut out = Vec::with_capacity(grid.tokens.len() * grid.hours.len());
    for d in 0..grid.tokens.len() {
        for t in 0..grid.hours.len() {
            let (complete, _) = block.column(tables, grid, d, t, &mut col);
            out.push((col.iter().sum::<f64>() / n, complete as f64 / n));
        }
    }
    out
}
