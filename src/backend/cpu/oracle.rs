//! Pass 1: the per-draw oracle (MODEL.md §5).
//!
//! For each feasible P (in parallel) the profile min over feasible (D, T) is kept per draw; the
//! argmin over P then picks the grid optimum (ties: `candidates::Rank`), and a parabola in
//! ln P through the profile at the argmin and its two neighbours refines P*, with ln D_run
//! interpolated by the same quadratic. Loss is non-increasing in D_run, so along the profile the
//! optimal run trains up to its deadline (D_run = cap) unless the grid's D range stops it first.

use rayon::prelude::*;

use super::evaluate::{PBlock, Tables};
use crate::backend::DrawOptimum;
use crate::candidates::{Candidates, Rank};
use crate::grid::Grid;

/// Per-draw profile of one P: min over (D, T), the argmin's (d, t) and its D_run.
pub(crate) struct Profile {
    pub loss: Vec<f64>,
    pub arg: Vec<u32>,
    pub d_run: Vec<f64>,
    /// The expected loss of each draw's argmin, for the tie rule.
    arg_mean: Vec<f64>,
}

impl Profile {
    /// Draw `i`'s current argmin under the tie rule, by its code.
    fn rank(&self, i: usize) -> Rank {
        Rank {
            score: self.loss[i],
            mean: self.arg_mean[i],
            index: self.arg[i] as usize,
        }
    }

    fn new(draws: usize) -> Self {
        Profile {
            loss: vec![f64::INFINITY; draws],
            arg: vec![0; draws],
            d_run: vec![0.0; draws],
            arg_mean: vec![f64::INFINITY; draws],
        }
    }

    /// Offer the column of configuration `code` = d·n_hours + t: it becomes the argmin of each
    /// draw where it is lower, or equal with a lower expected loss, or equal on both with a
    /// lower code (MODEL.md §5). `d_run(i)` gives its tokens trained in draw i.
    fn offer(&mut self, col: &[f64], code: u32, d_run: impl Fn(usize) -> f64) {
        let mean = col.iter().sum::<f64>() / col.len() as f64;
        for (i, &value) in col.iter().enumerate() {
            let offered = Rank {
                score: value,
                mean,
                index: code as usize,
            };
            if offered.beats(&self.rank(i)) {
                self.loss[i] = value;
                self.arg[i] = code;
                self.arg_mean[i] = mean;
                self.d_run[i] = d_run(i);
            }
        }
    }
}

/// The profile of one P over the candidates, without scanning D: loss never increases with
/// D_run = min(D, cap), so for each T the largest candidate D is at least as good as every other
/// candidate D in every draw; it is the until-the-deadline plan when that is a candidate, else
/// the last candidate D on the axis. Where plans tie in a draw (every D at or past the cap), the
/// tie rule of MODEL.md §5 (lower expected loss, then lower index) picks it as well, since it
/// dominates them. Across T, ties go to the lower expected loss, then the lower index. That is
/// O(T × draws) per P instead of O(D × T × draws); `tests::closed_form_profile_matches_brute_force`
/// checks it against the exhaustive scan with the same tie rule.
pub(crate) fn profile(tables: &Tables, grid: &Grid, cands: &Candidates, block: &PBlock) -> Profile {
    if tables.cosine {
        return profile_scan(tables, grid, cands, block);
    }
    let p = block.p;
    let s = tables.draws;
    let nt = grid.hours.len();
    let mut prof = Profile::new(s);
    let mut col = vec![0.0; s];
    let mut other = vec![0.0; s];
    for t in 0..grid.feasible_hours {
        let finite = cands.finite_at(grid, p, t);
        let d = if cands.deadline() {
            grid.tokens.len() - 1
        } else if finite > 0 {
            // Candidate D at or past every draw's capacity share one column (each run stops at
            // its deadline); the tie rule then takes the first of them.
            let max_cap = block.cap[t * s..(t + 1) * s]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            grid.tokens[..finite]
                .partition_point(|&dv| dv < max_cap)
                .min(finite - 1)
        } else {
            continue;
        };
        block.column(tables, grid, d, t, &mut col);
        // Lower finite D whose column is the same in every draw (e.g. where D_eff has
        // saturated in f64 after many epochs) tie with it; columns fall with D elementwise, so
        // the tied D form a range, and the tie rule takes its first, found by bisection.
        let d = if grid.is_until_deadline(d) {
            d
        } else {
            let (mut lo, mut hi) = (0, d);
            while lo < hi {
                let mid = (lo + hi) / 2;
                block.column(tables, grid, mid, t, &mut other);
                if other != col {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        prof.offer(&col, (d * nt + t) as u32, |i| {
            block.d_run(tables, grid, d, t, i)
        });
    }
    prof
}

/// The profile of one P under a cosine schedule: a run cut short pays a penalty that depends on
/// its D, so loss is no longer monotone in D and every candidate (d, t) is scanned, O(D × T ×
/// draws) per P. Ties: the lower expected loss, then the lower code (MODEL.md §5).
fn profile_scan(tables: &Tables, grid: &Grid, cands: &Candidates, block: &PBlock) -> Profile {
    let p = block.p;
    let s = tables.draws;
    let nt = grid.hours.len();
    let mut prof = Profile::new(s);
    let mut col = vec![0.0; s];
    for d in 0..grid.tokens.len() {
        for t in 0..grid.feasible_hours {
            let candidate = if grid.is_until_deadline(d) {
                cands.deadline()
            } else {
                d < cands.finite_at(grid, p, t)
            };
            if !candidate {
                continue;
            }
            block.column(tables, grid, d, t, &mut col);
            prof.offer(&col, (d * nt + t) as u32, |i| {
                block.d_run(tables, grid, d, t, i)
            });
        }
    }
    prof
}

/// The oracle of every draw.
pub fn optima(tables: &Tables, grid: &Grid, cands: &Candidates) -> Vec<DrawOptimum> {
    let profiles: Vec<Profile> = (0..grid.feasible_params)
        .into_par_iter()
        .map(|p| profile(tables, grid, cands, &tables.block(grid, p)))
        .collect();
    refine(tables.draws, grid, &profiles)
}

/// Grid argmin over P of the per-P profiles and its refinement between grid points.
pub(crate) fn refine(draws: usize, grid: &Grid, profiles: &[Profile]) -> Vec<DrawOptimum> {
    let nt = grid.hours.len();
    let h = if grid.params.len() > 1 {
        grid.ln_params[1] - grid.ln_params[0]
    } else {
        0.0
    };
    (0..draws)
        .map(|i| {
            // Across P the same rule, by configuration index.
            let at = |p: usize| {
                let code = profiles[p].arg[i] as usize;
                Rank {
                    index: grid.index(p, code / nt, code % nt),
                    ..profiles[p].rank(i)
                }
            };
            let best =
                Rank::best((0..profiles.len()).map(at)).map_or(0, |r| grid.coords(r.index).0);
            let code = profiles[best].arg[i] as usize;
            let (d, t) = (code / nt, code % nt);
            let y0 = profiles[best].loss[i];
            let ln_d0 = profiles[best].d_run[i].ln();
            let (mut ln_p, mut ln_d, mut loss) = (grid.ln_params[best], ln_d0, y0);
            if best > 0 && best + 1 < profiles.len() {
                let (ym, yp) = (profiles[best - 1].loss[i], profiles[best + 1].loss[i]);
                let curv = ym - 2.0 * y0 + yp;
                if curv > 0.0 {
                    let delta = (0.5 * (ym - yp) / curv).clamp(-0.5, 0.5);
                    let quad = |a: f64, b: f64, c: f64| {
                        b + 0.5 * delta * (c - a) + 0.5 * delta * delta * (a - 2.0 * b + c)
                    };
                    loss = quad(ym, y0, yp);
                    ln_p += delta * h;
                    ln_d = quad(
                        profiles[best - 1].d_run[i].ln(),
                        ln_d0,
                        profiles[best + 1].d_run[i].ln(),
                    );
                }
            }
            DrawOptimum {
                index: grid.index(best, d, t),
                loss_grid: y0,
                params: ln_p.exp(),
                tokens: ln_d.exp(),
                hours: grid.hours[t],
                loss,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::law::{Coeffs, Form, LawShape};
    use crate::sampling::Draw;

    /// The exhaustive scan over every (d, t) that the closed-form profile replaces, with the tie
    /// rule of MODEL.md §5: the smallest loss, then the lower expected loss, then the lower code.
    fn brute_force(tables: &Tables, grid: &Grid, p: usize) -> (Vec<f64>, Vec<u32>) {
        let s = tables.draws;
        let block = tables.block(grid, p);
        let nt = grid.hours.len();
        let mut cols: Vec<Vec<f64>> = Vec::new();
        let mut codes = Vec::new();
        for d in 0..grid.tokens.len() {
            for t in 0..grid.feasible_hours {
                let mut col = vec![0.0; s];
                block.column(tables, grid, d, t, &mut col);
                cols.push(col);
                codes.push((d * nt + t) as u32);
            }
        }
        // Expected loss compared exactly enough: the sum of the elementwise differences (a
        // column one ulp lower in a single draw must win, where the rounded means may tie).
        let lower_mean = |a: usize, b: usize| {
            cols[a]
                .iter()
                .zip(&cols[b])
                .map(|(x, y)| x - y)
                .sum::<f64>()
                < 0.0
        };
        let mut loss = vec![f64::INFINITY; s];
        let mut arg = vec![0u32; s];
        let mut best = vec![usize::MAX; s];
        for c in 0..cols.len() {
            for i in 0..s {
                let v = cols[c][i];
                let wins = v < loss[i]
                    || (v == loss[i]
                        && (lower_mean(c, best[i])
                            || (!lower_mean(best[i], c) && codes[c] < arg[i])));
                if wins {
                    loss[i] = v;
                    arg[i] = codes[c];
                    best[i] = c;
                }
            }
        }
        (loss, arg)
    }

    #[test]
    fn closed_form_profile_matches_brute_force() {
        let tokens: Vec<f64> = (0..40).map(|i| 1e9 * 1.25f64.powi(i)).collect();
        let params: Vec<f64> = (0..12).map(|i| 5e7 * 1.6f64.powi(i)).collect();
        let grid = Grid {
            ln_params: params.iter().map(|v| v.ln()).collect(),
            ln_tokens: tokens.iter().map(|v| v.ln()).collect(),
            params,
            tokens,
            hours: vec![6.0, 24.0, 72.0, 200.0],
            feasible_params: 12,
            feasible_hours: 3,
            until_deadline: false,
        };
        for (form, unique, time_term) in [
            (Form::Additive, f64::INFINITY, false),
            (Form::Additive, 2e10, true),
            (Form::Kaplan, 5e9, false),
        ] {
            let shape = LawShape {
                form,
                effective_params: unique.is_finite(),
                time_term,
                embedding: None,
            };
            let draws: Vec<Draw> = (0..64)
                .map(|i| {
                    let f = 1.0 + 0.01 * i as f64;
                    let coeffs = Coeffs {
                        a: 480.0 * f,
                        b: 2100.0 / f,
                        beta: 0.36 * f.sqrt(),
                        c: 0.2,
                        ..Coeffs::test_fixture()
                    };
                    Draw {
                        coeffs,
                        mfu: 0.4,
                        goodput: 1.0,
                        unique_tokens: unique,
                        anneal: 0.0,
                        member: 0,
                        throughput: 1e13 * 1.15f64.powi(i),
                    }
                })
                .collect();
            let tables = Tables::with(shape, &grid, &draws, 6.0, None);
            let throughput: Vec<f64> = draws.iter().map(|d| d.throughput).collect();
            let cands = Candidates::new(&grid, &throughput, 6.0, None, 0.0, false);
            for p in 0..grid.params.len() {
                let fast = profile(&tables, &grid, &cands, &tables.block(&grid, p));
                let (loss, arg) = brute_force(&tables, &grid, p);
                assert_eq!(fast.loss, loss, "{form:?} p{p}");
                assert_eq!(fast.arg, arg, "{form:?} p{p}");
            }
        }
    }
}
