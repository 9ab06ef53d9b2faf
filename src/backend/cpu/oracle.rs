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
    /// Under a cosine schedule, each draw's best with D free in the candidates' range (the grid's
    /// token axis snaps it otherwise, see [`Smooth`]); None where the grid's best is that already.
    smooth: Option<Smooth>,
}

/// Per draw, the best over T of the run whose D is free between the smallest candidate D and the
/// largest (unbounded when "until the deadline" is a candidate): its loss, tokens trained and T.
/// Under a cosine schedule the grid's D would snap each draw's optimum to the token axis (a
/// sawtooth in P* against throughput); with D free the best is D = cap
/// ([`PBlock::best_in_range`]), as smooth in throughput as the wsd optimum.
struct Smooth {
    loss: Vec<f64>,
    d_run: Vec<f64>,
    t: Vec<u32>,
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
            smooth: None,
        }
    }

    /// Each draw's refined-oracle inputs at this P: (loss, tokens trained, T's index), from
    /// [`Smooth`] where there is one, else from the grid argmin.
    fn refined(&self, i: usize, nt: usize) -> (f64, f64, usize) {
        match &self.smooth {
            Some(sm) => (sm.loss[i], sm.d_run[i], sm.t[i] as usize),
            None => (self.loss[i], self.d_run[i], self.arg[i] as usize % nt),
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
        // saturated in f64 after many epochs) tie with it, the until-the-deadline column too;
        // columns fall with D elementwise, so the tied D form a range, and the tie rule takes its
        // first, found by bisection.
        let tied_top = if grid.is_until_deadline(d) {
            finite.checked_sub(1).filter(|&last| {
                block.column(tables, grid, last, t, &mut other);
                other == col
            })
        } else {
            Some(d)
        };
        let d = match tied_top {
            None => d,
            Some(top) => {
                let (mut lo, mut hi) = (0, top);
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
            }
        };
        prof.offer(&col, (d * nt + t) as u32, |i| {
            block.d_run(tables, grid, d, t, i)
        });
    }
    prof
}

/// The profile of one P under a cosine schedule: a run cut short pays a penalty that grows with
/// its D, so loss is not monotone in D. In a draw with capacity cap, a candidate D at or below
/// the cap completes (its loss falls with D) and one above it is cut (its loss rises with D), so
/// the draw's best finite D is the last at or below its cap or the first above it. For each T
/// only the token entries between those of the smallest and the largest cap are scanned (widened
/// below where columns tie, see the body); the until-the-deadline entry is always offered. Ties: the lower expected loss, then the lower code (MODEL.md §5);
/// `tests::closed_form_profile_matches_brute_force` checks it against the full scan.
fn profile_scan(tables: &Tables, grid: &Grid, cands: &Candidates, block: &PBlock) -> Profile {
    let p = block.p;
    let s = tables.draws;
    let nt = grid.hours.len();
    let mut prof = Profile::new(s);
    let mut col = vec![0.0; s];
    let mut smooth = Smooth {
        loss: vec![f64::INFINITY; s],
        d_run: vec![0.0; s],
        t: vec![0; s],
    };
    let (mut loss, mut d_run) = (vec![0.0; s], vec![0.0; s]);
    for t in 0..grid.feasible_hours {
        let finite = cands.finite_at(grid, p, t);
        if finite > 0 {
            let caps = &block.cap[t * s..(t + 1) * s];
            let lo_cap = caps.iter().copied().fold(f64::INFINITY, f64::min);
            let hi_cap = caps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let tokens = &grid.tokens[..finite];
            let mut a = tokens.partition_point(|&v| v <= lo_cap).saturating_sub(1);
            let b = tokens.partition_point(|&v| v <= hi_cap).min(finite - 1);
            // Below `a` every run completes in every draw, so a column there is at or above
            // `a`'s in every draw, and a lower code wins the tie rule only from a column equal
            // to it in every draw (D_eff saturated in f64 after many epochs): widen while one
            // is equal in any draw. Above `b` every run is cut and a column is at or above `b`'s
            // in every draw, with a higher code: it never wins.
            let mut edge = vec![0.0; s];
            while a > 0 {
                block.column(tables, grid, a, t, &mut edge);
                block.column(tables, grid, a - 1, t, &mut col);
                if col.iter().zip(&edge).all(|(u, v)| u > v) {
                    break;
                }
                a -= 1;
            }
            for d in a..=b {
                block.column(tables, grid, d, t, &mut col);
                prof.offer(&col, (d * nt + t) as u32, |i| {
                    block.d_run(tables, grid, d, t, i)
                });
            }
        }
        if cands.deadline() {
            let d = grid.tokens.len() - 1;
            block.column(tables, grid, d, t, &mut col);
            prof.offer(&col, (d * nt + t) as u32, |i| {
                block.d_run(tables, grid, d, t, i)
            });
        }
        // D free over the candidates' range at this T.
        if finite > 0 {
            let upper = (!cands.deadline()).then_some(finite - 1);
            block.best_in_range(
                tables,
                grid,
                t,
                (grid.tokens[0], upper),
                &mut loss,
                &mut d_run,
            );
        } else if cands.deadline() {
            // Only "until the deadline": its column, just offered, is `col`.
            loss.copy_from_slice(&col);
            let d = grid.tokens.len() - 1;
            (0..s).for_each(|i| d_run[i] = block.d_run(tables, grid, d, t, i));
        } else {
            continue;
        }
        for i in 0..s {
            if loss[i] < smooth.loss[i] {
                smooth.loss[i] = loss[i];
                smooth.d_run[i] = d_run[i];
                smooth.t[i] = t as u32;
            }
        }
    }
    prof.smooth = Some(smooth);
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

/// Grid argmin over P of the per-P profiles (the reference of regret), and the refined
/// optimum: the argmin over P of each profile's refined inputs ([`Profile::refined`]: the grid's
/// own, or D free under cosine) and a parabola in ln P through it and its two neighbours.
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
            let grid_best =
                Rank::best((0..profiles.len()).map(at)).map_or(0, |r| grid.coords(r.index).0);
            let code = profiles[grid_best].arg[i] as usize;
            let index = grid.index(grid_best, code / nt, code % nt);
            let loss_grid = profiles[grid_best].loss[i];
            let refined: Vec<(f64, f64, usize)> =
                profiles.iter().map(|pr| pr.refined(i, nt)).collect();
            // Without a smooth profile this is the grid argmin again (the same losses, and the
            // tie rule's first P among equals).
            let best = if profiles.iter().all(|pr| pr.smooth.is_none()) {
                grid_best
            } else {
                (0..refined.len())
                    .reduce(|a, b| if refined[b].0 < refined[a].0 { b } else { a })
                    .unwrap_or(0)
            };
            let (y0, d0, t) = refined[best];
            let ln_d0 = d0.ln();
            let (mut ln_p, mut ln_d, mut loss) = (grid.ln_params[best], ln_d0, y0);
            if best > 0 && best + 1 < profiles.len() {
                let (ym, yp) = (refined[best - 1].0, refined[best + 1].0);
                let curv = ym - 2.0 * y0 + yp;
                if curv > 0.0 {
                    let delta = (0.5 * (ym - yp) / curv).clamp(-0.5, 0.5);
                    let quad = |a: f64, b: f64, c: f64| {
                        b + 0.5 * delta * (c - a) + 0.5 * delta * delta * (a - 2.0 * b + c)
                    };
                    loss = quad(ym, y0, yp);
                    ln_p += delta * h;
                    ln_d = quad(refined[best - 1].1.ln(), ln_d0, refined[best + 1].1.ln());
                }
            }
            DrawOptimum {
                index,
                loss_grid,
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

    /// The exhaustive scan over every candidate (d, t) that the closed-form and pruned profiles
    /// replace, with the tie rule of MODEL.md §5: the smallest loss, then the lower expected loss,
    /// then the lower code.
    fn brute_force(
        tables: &Tables,
        grid: &Grid,
        cands: &Candidates,
        p: usize,
    ) -> (Vec<f64>, Vec<u32>) {
        let s = tables.draws;
        let block = tables.block(grid, p);
        let nt = grid.hours.len();
        let mut cols: Vec<Vec<f64>> = Vec::new();
        let mut codes = Vec::new();
        for d in 0..grid.tokens.len() {
            for t in 0..grid.feasible_hours {
                if !cands.contains(grid, grid.index(p, d, t)) {
                    continue;
                }
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

    /// A grid of 40 token counts (and "until the deadline" when asked), 12 sizes, 4 hours.
    fn grid(until_deadline: bool) -> Grid {
        let mut tokens: Vec<f64> = (0..40).map(|i| 1e9 * 1.25f64.powi(i)).collect();
        if until_deadline {
            tokens.push(f64::INFINITY);
        }
        let params: Vec<f64> = (0..12).map(|i| 5e7 * 1.6f64.powi(i)).collect();
        Grid {
            ln_params: params.iter().map(|v| v.ln()).collect(),
            ln_tokens: tokens.iter().map(|v| v.ln().min(1e3)).collect(),
            params,
            tokens,
            hours: vec![6.0, 24.0, 72.0, 200.0],
            feasible_params: 12,
            feasible_hours: 3,
            until_deadline,
        }
    }

    /// 64 draws whose coefficients and throughput spread; `anneal(i)` the cosine gain of draw i.
    fn draws(unique: f64, anneal: impl Fn(usize) -> f64) -> Vec<Draw> {
        (0..64)
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
                    anneal: anneal(i),
                    member: 0,
                    throughput: 1e13 * 1.15f64.powi(i as i32),
                }
            })
            .collect()
    }

    #[test]
    fn closed_form_profile_matches_brute_force() {
        // Cosine gains: none (wsd), spread, and zero in every fifth draw (there every cut run
        // ties, so the pruned scan must widen to the whole axis); wsd with and without the
        // until-the-deadline entry, cosine with it.
        let spread = |i: usize| 0.03 + 0.001 * i as f64;
        let some_zero = |i: usize| if i.is_multiple_of(5) { 0.0 } else { 0.05 };
        let none = |_: usize| 0.0;
        type Gain<'a> = &'a dyn Fn(usize) -> f64;
        let cases: [(Gain, bool); 5] = [
            (&none, false),
            (&none, true),
            (&spread, true),
            (&spread, false),
            (&some_zero, true),
        ];
        for (gain, until_deadline) in cases {
            let grid = grid(until_deadline);
            for (form, unique, time_term) in [
                (Form::Additive, f64::INFINITY, false),
                (Form::Additive, 2e10, true),
                (Form::Kaplan, 5e9, false),
                // 500 epochs and more on the whole axis: D_eff saturates, columns tie.
                (Form::Additive, 2e6, false),
            ] {
                let shape = LawShape {
                    form,
                    effective_params: unique.is_finite(),
                    time_term,
                    embedding: None,
                };
                let draws = draws(unique, gain);
                let cosine = crate::sampling::cut_runs_pay(&draws);
                let tables = Tables::with(shape, &grid, &draws, 6.0, None);
                let throughput: Vec<f64> = draws.iter().map(|d| d.throughput).collect();
                let cands = Candidates::new(&grid, &throughput, 6.0, None, 0.0, cosine);
                for p in 0..grid.params.len() {
                    let fast = profile(&tables, &grid, &cands, &tables.block(&grid, p));
                    let (loss, arg) = brute_force(&tables, &grid, &cands, p);
                    let case = format!("{form:?} U={unique} cosine={cosine} ∞={until_deadline}");
                    assert_eq!(fast.loss, loss, "{case} p{p}");
                    assert_eq!(fast.arg, arg, "{case} p{p}");
                }
            }
        }
    }

    /// Under cosine each draw's refined inputs are the best over D free in the candidates'
    /// range: no run on a token axis 40 times finer than the grid's, over the same range, beats
    /// them, and one on it comes within its spacing; with the until-the-deadline plan a
    /// candidate the range has no top, and a capacity past the axis is the law at it.
    #[test]
    fn smooth_profile_is_the_best_over_free_tokens() {
        let spread = |i: usize| 0.03 + 0.001 * i as f64;
        for until_deadline in [false, true] {
            let grid = grid(until_deadline);
            let draws = draws(f64::INFINITY, spread);
            let shape = LawShape {
                form: Form::Additive,
                effective_params: false,
                time_term: false,
                embedding: None,
            };
            let tables = Tables::with(shape, &grid, &draws, 6.0, None);
            let throughput: Vec<f64> = draws.iter().map(|d| d.throughput).collect();
            let cands = Candidates::new(&grid, &throughput, 6.0, None, 0.0, true);
            for p in [0, 5, 11] {
                let prof = profile(&tables, &grid, &cands, &tables.block(&grid, p));
                let sm = prof.smooth.as_ref().expect("cosine has a smooth profile");
                let pv = grid.params[p];
                for (i, dr) in draws.iter().enumerate() {
                    // Every (D, T) on the fine axis by the reference formula.
                    let (lo, hi) = (grid.tokens[0].ln(), grid.tokens[39].ln());
                    let mut fine_best = f64::INFINITY;
                    for t in 0..grid.feasible_hours {
                        let tv = grid.hours[t];
                        let cap = crate::law::capacity(dr.throughput, tv, 6.0 * pv);
                        for j in 0..=1600 {
                            let dv = (lo + (hi - lo) * j as f64 / 1600.0).exp();
                            let at = (pv, dv, cap, tv, dr.unique_tokens);
                            let l = crate::law::planned_loss(shape, &dr.coeffs, dr.anneal, at);
                            fine_best = fine_best.min(l);
                        }
                        if until_deadline && cap >= grid.tokens[0] {
                            let at_cap =
                                crate::law::loss(shape, &dr.coeffs, pv, cap, tv, dr.unique_tokens);
                            fine_best = fine_best.min(at_cap);
                        }
                    }
                    let got = sm.loss[i];
                    assert!(
                        got <= fine_best * (1.0 + 1e-12),
                        "p{p} draw {i}: {got} > {fine_best}"
                    );
                    assert!(got > fine_best - 2e-4, "p{p} draw {i}: {got} ≪ {fine_best}");
                }
            }
        }
    }
}
