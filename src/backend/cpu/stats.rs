//! Pass 2: every per-configuration statistic of MODEL.md §5 for the configurations of one P.

use super::evaluate::{lane_sum, PBlock, Tables, LANES};
use super::kernels::{self, extremes, sum_above, Histograms, Limits};
use super::ranks::{Binning, Ranker, NB};
use crate::backend::ConfigStats;
use crate::grid::Grid;
use crate::stats;

/// Statistics of configuration (p, d, t) for every d and t, in index order.
///
/// Per configuration: the column of losses (`PBlock::column`) and its extremes, one pass for the
/// moments (shifted sums), target count, near-best count, regret sum and extremes and the
/// histograms of both losses and regrets (`kernels::moments`, `ranks::Binning`; the regrets'
/// bins span the bounds [min L − max L*, max L − min L*], known before the pass), then exact
/// order statistics of the losses (p05, p50, p95 pairs and the CVaR threshold) and of the
/// regrets (p95 pair) from those histograms (`ranks::Ranker::select_binned`), and CVaR from the
/// threshold: (Σ x > t + (m − #{x > t})·t) / m.
pub fn block_stats(
    tables: &Tables,
    grid: &Grid,
    p: usize,
    l_star: &[f64],
    settings: &crate::backend::Settings,
) -> Vec<ConfigStats> {
    let target = settings.target_loss;
    let s = tables.draws;
    let n = s as f64;
    let block = tables.block(grid, p);
    let mut col = vec![0.0; s];
    let mut bins_x = vec![0u16; s];
    let mut bins_r = vec![0u16; s];
    let mut counts_x = [0u32; NB];
    let mut counts_r = [0u32; NB];
    let mut ranker = Ranker::new(0);
    let (ls_lo, ls_hi) = extremes(l_star);
    let m = stats::cvar_tail(s, stats::CVAR_LEVEL);
    let pos = [stats::Q05, stats::Q50, stats::Q95].map(|q| stats::type7_position(s, q));
    let pair = |(lo, _): (usize, f64)| [lo, (lo + 1).min(s - 1)];
    let loss_ranks = [
        pair(pos[0])[0],
        pair(pos[0])[1],
        pair(pos[1])[0],
        pair(pos[1])[1],
        pair(pos[2])[0],
        pair(pos[2])[1],
        s - m,
    ];
    let interp =
        |a: f64, b: f64, (_, t): (usize, f64)| if t == 0.0 { a } else { stats::lerp(a, b, t) };
    let target_value = target.unwrap_or(f64::NEG_INFINITY);
    // Runs past every draw's capacity share one column per (P, T) (see `CapBounds`): `past[t]`
    // holds its statistics once computed.
    let nt = grid.hours.len();
    let bounds = CapBounds::of(tables, &block, s, nt);
    let mut past: Vec<Option<ConfigStats>> = vec![None; nt];
    // A run that completes in every draw is base + D-term in every draw; without a time term
    // the base does not depend on T (`Tables::block`), so such a column is the same at every T
    // of one D, bit for bit (a cut-run penalty is 0 where the run completes). Its statistics
    // are computed at the first such T and reused at the later ones with their own hours.
    let t_free = !tables.shape.time_term;
    let mut out = Vec::with_capacity(grid.tokens.len() * nt);
    for d in 0..grid.tokens.len() {
        let mut completed: Option<ConfigStats> = None;
        for (t, shared) in past.iter_mut().enumerate() {
            let truncated = bounds.past_every_cap(grid.tokens[d], t);
            if let (true, Some(st)) = (truncated, *shared) {
                out.push(st);
                continue;
            }
            let hours_mean = grid.hours[t] * block.used(tables, grid, d, t) / n;
            let completes = bounds.completes_in_every_draw(grid.tokens[d], t);
            if let (true, true, Some(st)) = (t_free, completes, completed) {
                out.push(ConfigStats { hours_mean, ..st });
                continue;
            }
            let complete = block.column(tables, grid, d, t, &mut col);
            debug_assert_eq!(completes, complete == s);
            let same_at_every_t = t_free && completes;
            let shift = col[0];
            let (lo, hi) = extremes(&col);
            let binning = (Binning::new(lo, hi), Binning::new(lo - ls_hi, hi - ls_lo));
            let m = kernels::moments(
                &col,
                l_star,
                shift,
                Limits {
                    target: target_value,
                    eps: settings.near_best_within,
                },
                binning,
                &mut Histograms {
                    bins_x: &mut bins_x,
                    bins_r: &mut bins_r,
                    counts_x: &mut counts_x,
                    counts_r: &mut counts_r,
                },
            );
            let (s1, s2, hits, near) = (m.s1, m.s2, m.hits, m.near);
            let (r_sum, r_hi) = (m.r_sum, m.r_hi);
            let mean = shift + s1 / n;
            let sd = if s > 1 {
                ((s2 - s1 * s1 / n) / (n - 1.0)).max(0.0).sqrt()
            } else {
                f64::NAN
            };
            let m = stats::cvar_tail(s, stats::CVAR_LEVEL);
            let mut q = [0.0; 7];
            ranker.select_binned(&bins_x, &counts_x, |i| col[i], &loss_ranks, &mut q);
            let threshold = q[6];
            let (above, above_n) = sum_above(&col, threshold);
            let mut rq = [0.0; 2];
            ranker.select_binned(
                &bins_r,
                &counts_r,
                |i| col[i] - l_star[i],
                &pair(pos[2]),
                &mut rq,
            );
            let st = ConfigStats {
                loss_mean: mean,
                loss_sd: sd,
                loss_se: sd / n.sqrt(),
                loss_p05: interp(q[0], q[1], pos[0]),
                loss_p50: interp(q[2], q[3], pos[1]),
                loss_p95: interp(q[4], q[5], pos[2]),
                loss_cvar95: (above + (m - above_n) as f64 * threshold) / m as f64,
                p_complete: complete as f64 / n,
                p_target: if target.is_some() {
                    hits as f64 / n
                } else {
                    f64::NAN
                },
                regret_mean: r_sum / n,
                regret_p95: interp(rq[0], rq[1], pos[2]),
                regret_max: r_hi,
                p_near_best: near as f64 / n,
                hours_mean,
            };
            if truncated {
                *shared = Some(st);
            }
            if same_at_every_t {
                completed = Some(st);
            }
            out.push(st);
        }
    }
    out
}

/// Per T of one P block: the smallest and largest capacity and the smallest 1/capacity over the
/// draws.
///
/// A run whose D is at most every draw's capacity completes in every draw (`dv <= cap[i]` for
/// every i is `dv <= min cap`, exactly).
///
/// A run whose D exceeds every draw's capacity is stopped at its deadline in every draw: its
/// column is base + D-term at the cap whatever D is, so all such D of one (P, T) share one
/// column. The test also requires D·(1/cap) ≥ 1 in every draw, so that the hours used are
/// exactly T in floating point too. Under a cosine schedule a cut run's penalty depends on
/// cap/D, so columns differ with D and nothing is shared.
struct CapBounds {
    min_cap: Vec<f64>,
    past: Option<Vec<(f64, f64)>>,
}

impl CapBounds {
    fn of(tables: &Tables, block: &PBlock, s: usize, nt: usize) -> CapBounds {
        let caps: Vec<(f64, f64)> = (0..nt)
            .map(|t| extremes(&block.cap[t * s..(t + 1) * s]))
            .collect();
        CapBounds {
            min_cap: caps.iter().map(|c| c.0).collect(),
            past: (!tables.cosine).then(|| {
                (0..nt)
                    .map(|t| (caps[t].1, extremes(&block.inv_cap[t * s..(t + 1) * s]).0))
                    .collect()
            }),
        }
    }

    fn completes_in_every_draw(&self, tokens: f64, t: usize) -> bool {
        tokens <= self.min_cap[t]
    }

    fn past_every_cap(&self, tokens: f64, t: usize) -> bool {
        self.past.as_ref().is_some_and(|b| {
            let (max_cap, min_inv) = b[t];
            tokens > max_cap && tokens * min_inv >= 1.0
        })
    }
}

/// The light pass of the frontier: (loss_mean, p_complete) of every configuration of one P.
/// With `deadline_only` only the until-the-deadline entries are computed and every finite D
/// reads (∞, 0): for callers that know no finite D can be the expected-loss choice
/// ([`super::optima_and_means`]).
pub fn block_means(
    tables: &Tables,
    grid: &Grid,
    block: &PBlock,
    deadline_only: bool,
) -> Vec<(f64, f64)> {
    let n = tables.draws as f64;
    let s = tables.draws;
    let mut col = vec![0.0; s];
    let nt = grid.hours.len();
    // As in `block_stats`: past every draw's capacity the column no longer depends on D.
    let bounds = CapBounds::of(tables, block, s, nt);
    let mut past: Vec<Option<(f64, f64)>> = vec![None; nt];
    let mut out = Vec::with_capacity(grid.tokens.len() * nt);
    for d in 0..grid.tokens.len() {
        if deadline_only && !grid.is_until_deadline(d) {
            out.extend(std::iter::repeat_n((f64::INFINITY, 0.0), nt));
            continue;
        }
        for (t, shared) in past.iter_mut().enumerate() {
            let truncated = bounds.past_every_cap(grid.tokens[d], t);
            if let (true, Some(v)) = (truncated, *shared) {
                out.push(v);
                continue;
            }
            let complete = block.column(tables, grid, d, t, &mut col);
            let mut lanes = [0.0f64; LANES];
            for c in col.chunks_exact(LANES) {
                for l in 0..LANES {
                    lanes[l] += c[l];
                }
            }
            let rest: f64 = col.chunks_exact(LANES).remainder().iter().sum();
            let sum = lane_sum(&lanes) + rest;
            let v = (sum / n, complete as f64 / n);
            if truncated {
                *shared = Some(v);
            }
            out.push(v);
        }
    }
    out
}
