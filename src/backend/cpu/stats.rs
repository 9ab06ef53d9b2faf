//! Pass 2: every per-configuration statistic of MODEL.md §5 for the configurations of one P.

use super::evaluate::{lane_sum, PBlock, Tables, LANES};
use super::ranks::{Binning, Ranker, NB};
use crate::backend::ConfigStats;
use crate::grid::Grid;
use crate::stats;

/// Statistics of configuration (p, d, t) for every d and t, in index order.
///
/// Per configuration: the column of losses (`PBlock::column`) and its extremes, one fused pass
/// for the moments (shifted sums), target count, near-best count, regret sum and extremes and
/// the histograms of both losses and regrets (`ranks::Binning`; the regrets' bins span the bounds
/// [min L − max L*, max L − min L*], known before the pass), then exact order statistics of the
/// losses (p05, p50, p95 pairs and the CVaR threshold) and of the regrets (p95 pair) from those
/// histograms (`ranks::Ranker::select_binned`), and CVaR from the threshold:
/// (Σ x > t + (m − #{x > t})·t) / m.
///
/// Compiled twice, for the default target and for AVX2 (chosen at run time where the CPU has
/// it): the same operations in the same order, so the same bits (a test holds them to each
/// other), four f64 lanes at a time where the default target (SSE2) does two.
#[multiversion::multiversion(targets("x86_64+avx+avx2+fma"))]
pub fn block_stats(
    tables: &Tables,
    grid: &Grid,
    p: usize,
    l_star: &[f64],
    settings: &crate::backend::Settings,
) -> Vec<ConfigStats> {
    block_stats_body(tables, grid, p, l_star, settings)
}

/// The pass itself, inlined into each of `block_stats`'s copies.
#[inline(always)]
fn block_stats_body(
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
            let (complete, used) = block.column(tables, grid, d, t, &mut col);
            let hours_mean = grid.hours[t] * used / n;
            let same_at_every_t = t_free && complete == s;
            if let (true, Some(st)) = (same_at_every_t, completed) {
                out.push(ConfigStats { hours_mean, ..st });
                continue;
            }
            let shift = col[0];
            let (lo, hi) = extremes(&col);
            let binning = (Binning::new(lo, hi), Binning::new(lo - ls_hi, hi - ls_lo));
            counts_x.fill(0);
            counts_r.fill(0);
            let m = moments(
                &col,
                l_star,
                shift,
                (target_value, settings.near_best_within),
                binning,
                (&mut bins_x, &mut bins_r),
                (&mut counts_x, &mut counts_r),
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

/// Σ and count of the values above `t`, branch-free in lanes.
#[inline(always)]
fn sum_above(col: &[f64], t: f64) -> (f64, usize) {
    let mut sum = [0.0f64; LANES];
    let mut cnt = [0u64; LANES];
    let chunks = col.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            let over = c[l] > t;
            sum[l] += if over { c[l] } else { 0.0 };
            cnt[l] += u64::from(over);
        }
    }
    for &x in rest {
        sum[0] += if x > t { x } else { 0.0 };
        cnt[0] += u64::from(x > t);
    }
    (lane_sum(&sum), cnt.iter().sum::<u64>() as usize)
}

/// Per T of one P block: the largest capacity and smallest 1/capacity over the draws.
///
/// A run whose D exceeds every draw's capacity is stopped at its deadline in every draw: its
/// column is base + D-term at the cap whatever D is, so all such D of one (P, T) share one
/// column. The test also requires D·(1/cap) ≥ 1 in every draw, so that the hours used are
/// exactly T in floating point too. Under a cosine schedule a cut run's penalty depends on
/// cap/D, so columns differ with D and nothing is shared.
struct CapBounds(Option<Vec<(f64, f64)>>);

impl CapBounds {
    fn of(tables: &Tables, block: &PBlock, s: usize, nt: usize) -> CapBounds {
        CapBounds((!tables.cosine).then(|| {
            (0..nt)
                .map(|t| {
                    let cap = &block.cap[t * s..(t + 1) * s];
                    let inv = &block.inv_cap[t * s..(t + 1) * s];
                    (extremes(cap).1, extremes(inv).0)
                })
                .collect()
        }))
    }

    fn past_every_cap(&self, tokens: f64, t: usize) -> bool {
        self.0.as_ref().is_some_and(|b| {
            let (max_cap, min_inv) = b[t];
            tokens > max_cap && tokens * min_inv >= 1.0
        })
    }
}

/// Minimum and maximum, in lanes.
#[inline(always)]
fn extremes(v: &[f64]) -> (f64, f64) {
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            lo[l] = if c[l] < lo[l] { c[l] } else { lo[l] };
            hi[l] = if c[l] > hi[l] { c[l] } else { hi[l] };
        }
    }
    for &x in rest {
        lo[0] = lo[0].min(x);
        hi[0] = hi[0].max(x);
    }
    (
        lo.into_iter().fold(f64::INFINITY, f64::min),
        hi.into_iter().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// What the fused pass over one column returns.
struct Moments {
    /// Σ (x − shift), Σ (x − shift)²: shifted sums, accurate when shift is near the mean.
    s1: f64,
    s2: f64,
    /// #{x ≤ target}.
    hits: usize,
    /// #{x − L* ≤ ε}.
    near: usize,
    r_sum: f64,
    r_hi: f64,
}

/// One pass over a column: moments, target count, near-best count (regret ≤ ε), regret sum and
/// maximum, and the histograms of losses and regrets (`bins.0[i]`, `bins.1[i]` their bins of
/// value i). The floating sums run in `LANES` independent accumulators.
#[inline(always)]
fn moments(
    col: &[f64],
    l_star: &[f64],
    shift: f64,
    (target, eps): (f64, f64),
    binning: (Binning, Binning),
    bins: (&mut [u16], &mut [u16]),
    counts: (&mut [u32; NB], &mut [u32; NB]),
) -> Moments {
    let s = col.len();
    let (l_star, bx, br) = (&l_star[..s], &mut bins.0[..s], &mut bins.1[..s]);
    let (cx, cr) = counts;
    let mut s1 = [0.0f64; LANES];
    let mut s2 = [0.0f64; LANES];
    let mut hits = [0u64; LANES];
    let mut near = [0u64; LANES];
    let mut rs = [0.0f64; LANES];
    let mut rhi = [f64::NEG_INFINITY; LANES];
    let mut step = |l: usize, i: usize| {
        let x = col[i];
        let y = x - shift;
        s1[l] += y;
        s2[l] += y * y;
        hits[l] += u64::from(x <= target);
        let r = x - l_star[i];
        near[l] += u64::from(r <= eps);
        rs[l] += r;
        rhi[l] = if r > rhi[l] { r } else { rhi[l] };
        let kx = binning.0.bin(x);
        bx[i] = kx as u16;
        cx[kx] += 1;
        let kr = binning.1.bin(r);
        br[i] = kr as u16;
        cr[kr] += 1;
    };
    let whole = s - s % LANES;
    for c in (0..whole).step_by(LANES) {
        for l in 0..LANES {
            step(l, c + l);
        }
    }
    for i in whole..s {
        step(0, i);
    }
    Moments {
        s1: lane_sum(&s1),
        s2: lane_sum(&s2),
        hits: hits.iter().sum::<u64>() as usize,
        near: near.iter().sum::<u64>() as usize,
        r_sum: lane_sum(&rs),
        r_hi: rhi.into_iter().fold(f64::NEG_INFINITY, f64::max),
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
            let (complete, _) = block.column(tables, grid, d, t, &mut col);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Oracle;

    /// The AVX2 copy of the statistics pass gives the default target's bits, configuration by
    /// configuration: a cosine law with limited data, a law with a time term and Kaplan's form.
    #[test]
    fn the_avx2_copy_gives_the_portable_bits() {
        let common = "[budget]\ngpu = \"a100-80gb\"\nhours = 72\nmfu = { uniform = [0.3, 0.5] }\n\
                      [search]\nparams = { min = 3e7, max = 3e9, points = 9 }\n\
                      tokens = { min = 1e9, max = 1e12, points = 11 }\nhours = [18, 36, 72]\n\
                      [decision]\ntarget_loss = 2.9\n[sampling]\ndraws = 1001\n";
        let cases = [
            "name = \"a\"\n[law]\npreset = \"epoch2024\"\nuncertainty = \"mvn\"\n\
             [training]\nschedule = \"cosine\"\n[data]\nunique_tokens = { uniform = [5e9, 5e10] }\n",
            "name = \"b\"\n[law]\npreset = \"seed\"\nE = { normal = [1.6, 0.1] }\nA = 4.0\nB = 6.0\nc = 0.4\n",
            "name = \"c\"\n[law]\npreset = \"kaplan2020\"\nuncertainty = \"none\"\n",
        ];
        for case in cases {
            let text = format!("{case}{common}");
            let s = crate::scenario::from_str(&text, std::path::Path::new("."), &[]).unwrap();
            let grid = Grid::new(&s);
            let draws = crate::sampling::draws(&s, 0..s.sampling.draws).unwrap();
            let settings = crate::pipeline::settings(&s);
            let oracle = Oracle::new(&settings, &grid, &draws);
            let l_star: Vec<f64> = oracle.optima.iter().map(|o| o.loss_grid).collect();
            for p in 0..grid.params.len() {
                let fast = block_stats(&oracle.tables, &grid, p, &l_star, &settings);
                // The body inlined here, in a function compiled for the default target.
                let portable = block_stats_body(&oracle.tables, &grid, p, &l_star, &settings);
                assert_eq!(
                    format!("{fast:?}"),
                    format!("{portable:?}"),
                    "{case}: P index {p}"
                );
            }
        }
    }
}
