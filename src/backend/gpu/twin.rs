//! The Rust twins of the shaders, in the shaders' shape (vello's habit):
//!
//! - `evaluate` twins `shaders/evaluate.wgsl`: the same steps in the same order (log space, host
//!   prepared draw), in f64; tests hold it against `law::loss`, the reference.
//! - `config_stats` twins `config_stats` of `shaders/stats.wgsl`: the 64 invocations of a
//!   workgroup as 64 strided accumulators, the same tree reductions, the same four passes and
//!   two-level 256-bin histograms, in f32. `Twin`, a `Backend`, runs it for every configuration
//!   with the host's preparation and merge, so tests/conformance.rs holds it to the f64 brute
//!   force with the GPU's tolerances, and compares it with the GPU's output where an adapter
//!   exists.

use super::layout::DrawGpu;
use crate::law::{Coeffs, Form, LawShape};
use crate::sampling::Draw;

/// The f64 form of a [`DrawGpu`] before rounding to f32.
#[derive(Debug, Clone, Copy)]
pub struct DrawPrep {
    pub e: f64,
    pub ln_a: f64,
    pub ln_b: f64,
    pub alpha: f64,
    pub beta: f64,
    pub c: f64,
    pub gamma: f64,
    pub ln_x: f64,
    pub ln_u: f64,
    pub rd_star: f64,
    pub rn_star: f64,
    pub ln_nopt: f64,
    pub alpha_d: f64,
    pub anneal: f64,
}

/// Host preparation of one draw (shader field meanings in `evaluate.wgsl`).
pub fn prepare(shape: LawShape, d: &Draw, k: f64) -> DrawPrep {
    let c: &Coeffs = &d.coeffs;
    let ln_u = if d.unique_tokens.is_finite() {
        d.unique_tokens.ln()
    } else {
        f64::from(super::layout::UNLIMITED)
    };
    let ln_nopt = if shape.effective_params && d.unique_tokens.is_finite() {
        let g = ((c.alpha * c.a) / (c.beta * c.b)).powf(1.0 / (c.alpha + c.beta));
        (c.beta / c.alpha) * (d.unique_tokens * g).ln() + g.ln()
    } else {
        0.0
    };
    let (ln_a, ln_b, alpha, beta) = match shape.form {
        Form::Additive => (c.a.ln(), c.b.ln(), c.alpha, c.beta),
        Form::Kaplan => (c.n_c.ln(), c.d_c.ln(), c.alpha_n / c.alpha_d, 0.0),
    };
    DrawPrep {
        e: c.e,
        ln_a,
        ln_b,
        alpha,
        beta,
        c: c.c,
        gamma: c.gamma,
        ln_x: (d.throughput * 3600.0 / k).ln(),
        ln_u,
        rd_star: c.r_d_star,
        rn_star: c.r_n_star,
        ln_nopt,
        alpha_d: c.alpha_d,
        anneal: d.anneal,
    }
}

impl DrawPrep {
    pub fn to_gpu(&self, l_star: f64) -> DrawGpu {
        DrawGpu {
            e: self.e as f32,
            ln_a: self.ln_a as f32,
            ln_b: self.ln_b as f32,
            alpha: self.alpha as f32,
            beta: self.beta as f32,
            c: self.c as f32,
            gamma: self.gamma as f32,
            ln_x: self.ln_x as f32,
            ln_u: self.ln_u as f32,
            rd_star: self.rd_star as f32,
            rn_star: self.rn_star as f32,
            ln_nopt: self.ln_nopt as f32,
            l_star: l_star as f32,
            alpha_d: self.alpha_d as f32,
            anneal: self.anneal as f32,
            _pad1: 0.0,
        }
    }
}

fn repetition_gain(r: f64, r_star: f64) -> f64 {
    (1.0 + r_star * (1.0 - (-r / r_star).exp())).ln()
}

/// Per grid P, ln(k(P)/k): the attention term of the training FLOPs (`law::k_at`), the last
/// block of the shader's `axes` (zeros when it is not modelled).
pub fn ln_k_ratios(settings: &crate::backend::Settings, grid: &crate::grid::Grid) -> Vec<f64> {
    grid.params
        .iter()
        .map(|&p| {
            let k = settings.flops_per_param_token;
            (crate::law::k_at(k, settings.attention, p) / k).ln()
        })
        .collect()
}

/// Per grid P, ln(N/P): the parameters the law counts over the plan's total
/// (`LawShape::law_params`; non-embedding for Kaplan's fit with a vocabulary), the block after
/// [`ln_k_ratios`] in the shader's `axes` (zeros when the law counts P).
pub fn ln_law_ratios(settings: &crate::backend::Settings, grid: &crate::grid::Grid) -> Vec<f64> {
    grid.params
        .iter()
        .map(|&p| match settings.shape.embedding {
            None => 0.0,
            Some(_) => (settings.shape.law_params(p) / p).ln(),
        })
        .collect()
}

/// ln (1/0.55)^κ, the shader's `LN_NEVER_ANNEALED_TOKENS` (`law::never_annealed_tokens`).
pub fn ln_never_annealed_tokens() -> f64 {
    crate::law::never_annealed_tokens().ln()
}

/// `law_at()` of the shader: the law's loss at ln D_run tokens.
fn law_at(shape: LawShape, ln_run: f64, ln_peff: f64, ln_t: f64, dw: &DrawPrep) -> f64 {
    let mut ln_deff = ln_run;
    if ln_run > dw.ln_u {
        ln_deff = dw.ln_u + repetition_gain((ln_run - dw.ln_u).exp() - 1.0, dw.rd_star);
    }
    match shape.form {
        Form::Additive => {
            let mut l =
                dw.e + (dw.ln_a - dw.alpha * ln_peff).exp() + (dw.ln_b - dw.beta * ln_deff).exp();
            if shape.time_term {
                l += dw.c * (-dw.gamma * ln_t).exp();
            }
            l
        }
        Form::Kaplan => (dw.alpha_d
            * ((dw.alpha * (dw.ln_a - ln_peff)).exp() + (dw.ln_b - ln_deff).exp()).ln())
        .exp(),
    }
}

/// `evaluate()` of the shader: (loss, complete, used share of T); `ln_kr` = ln(k(P)/k), `ln_nr`
/// = ln(N/P), the law's parameter count over the plan's.
pub fn evaluate(
    shape: LawShape,
    (ln_p, ln_kr, ln_nr): (f64, f64, f64),
    ln_d: f64,
    ln_t: f64,
    dw: &DrawPrep,
) -> (f64, bool, f64) {
    let ln_cap = dw.ln_x + ln_t - ln_p - ln_kr;
    let ln_pl = ln_p + ln_nr;
    let ln_run = ln_d.min(ln_cap);
    let mut ln_peff = ln_pl;
    if shape.effective_params && dw.ln_u < f64::from(super::layout::UNLIMITED) {
        let ln_un = ln_pl.min(dw.ln_nopt);
        ln_peff = ln_un + repetition_gain(((ln_pl - ln_un).exp() - 1.0).max(0.0), dw.rn_star);
    }
    let loss = law_at(shape, ln_run, ln_peff, ln_t, dw);
    let loss = if ln_d > ln_cap && dw.anneal > 0.0 {
        let gross = dw.anneal
            * (crate::curve::GAP_SIZE_EXPONENT * (ln_p - crate::curve::GAP_REFERENCE_PARAMS.ln()))
                .exp();
        let credit = loss
            - law_at(
                shape,
                ln_cap + ln_never_annealed_tokens(),
                ln_peff,
                ln_t,
                dw,
            );
        loss + (gross - credit).max(0.0)
            * 0.5
            * (1.0 + (std::f64::consts::PI * (ln_cap - ln_d).exp()).cos())
    } else {
        loss
    };
    (loss, ln_d <= ln_cap, (ln_d - ln_cap).min(0.0).exp())
}

/// Invocations per workgroup, bins per histogram level, ranks resolved (as in stats.wgsl).
/// (tests/shaders.rs holds each to the shader's `const` of the same name.)
pub const WG: usize = 64;
pub const BINS: u32 = 256;
pub const RANKS: usize = 9;
pub const LOSS_RANKS: usize = 7;

/// One evaluation as the shader sees it: (loss, complete, used share of T), in f32.
pub type Eval = (f32, bool, f32);

/// The shader's `reduce_sum` / `reduce_min`: a tree over the 64 lanes in workgroup memory,
/// halving the active lanes each step, with `op` combining component-wise.
fn reduce(v: &mut [[f32; 4]; WG], op: fn(f32, f32) -> f32) -> [f32; 4] {
    let mut s = WG / 2;
    while s > 0 {
        let (low, high) = v.split_at_mut(s);
        for (a, b) in low.iter_mut().zip(high.iter()) {
            for (x, y) in a.iter_mut().zip(b) {
                *x = op(*x, *y);
            }
        }
        s /= 2;
    }
    v[0]
}

fn bin_of(x: f32, lo: f32, width: f32) -> u32 {
    if width <= 0.0 {
        return 0;
    }
    (((x - lo) / width).max(0.0) as u32).min(BINS - 1)
}

/// `config_stats` of stats.wgsl for one configuration: `eval(i)` is draw i's evaluation,
/// `l_star(i)` its best loss, `ranks` as `Params.ranks`. Returns the shader's output row.
pub fn config_stats(
    n: usize,
    ranks: [[u32; 4]; 3],
    (target, eps): (Option<f32>, f32),
    eval: impl Fn(usize) -> Eval,
    l_star: impl Fn(usize) -> f32,
) -> super::layout::StatsRow {
    let rank = |k: usize| ranks[k / 4][k % 4];
    let shift = eval(0).0;

    // 1. moments.
    let mut s1 = [[0.0f32; 4]; WG];
    let mut s2 = [[0.0f32; 4]; WG];
    let mut mm = [[3.0e38f32; 4]; WG];
    for lid in 0..WG {
        for i in (lid..n).step_by(WG) {
            let (loss, complete, used) = eval(i);
            let x = loss - shift;
            let r = loss - l_star(i);
            let a = [x, x * x, r, used];
            let hit = target.is_some_and(|t| loss <= t);
            let b = [
                f32::from(u8::from(complete)),
                f32::from(u8::from(hit)),
                f32::from(u8::from(r <= eps)),
                0.0,
            ];
            let c = [loss, -loss, r, -r];
            for k in 0..4 {
                s1[lid][k] += a[k];
                s2[lid][k] += b[k];
                mm[lid][k] = mm[lid][k].min(c[k]);
            }
        }
    }
    let s1 = reduce(&mut s1, |a, b| a + b);
    let s2 = reduce(&mut s2, |a, b| a + b);
    let mm = reduce(&mut mm, f32::min);
    let (lo_l, w_l) = (mm[0], (-mm[1] - mm[0]) / BINS as f32);
    let (lo_r, w_r) = (mm[2], (-mm[3] - mm[2]) / BINS as f32);

    // 2. level-1 histograms (loss bins, then regret bins) and the bin of each rank.
    let mut hist1 = vec![0u32; 2 * BINS as usize];
    for i in 0..n {
        let l = eval(i).0;
        hist1[bin_of(l, lo_l, w_l) as usize] += 1;
        hist1[(BINS + bin_of(l - l_star(i), lo_r, w_r)) as usize] += 1;
    }
    let mut sel = [0u32; RANKS];
    let mut below = [0u32; RANKS];
    for k in 0..RANKS {
        let base = if k < LOSS_RANKS { 0 } else { BINS };
        let (mut cum, mut b) = (0u32, 0u32);
        loop {
            let h = hist1[(base + b) as usize];
            if cum + h > rank(k) || b == BINS - 1 {
                break;
            }
            cum += h;
            b += 1;
        }
        sel[k] = b;
        below[k] = cum;
    }

    // 3. level-2 histograms inside each rank's bin.
    let mut hist2 = vec![0u32; RANKS * BINS as usize];
    for i in 0..n {
        let l = eval(i).0;
        let r = l - l_star(i);
        let bl = bin_of(l, lo_l, w_l);
        let br = bin_of(r, lo_r, w_r);
        for k in 0..RANKS {
            let fine = if k < LOSS_RANKS {
                (bl == sel[k]).then(|| bin_of(l, lo_l + bl as f32 * w_l, w_l / BINS as f32))
            } else {
                (br == sel[k]).then(|| bin_of(r, lo_r + br as f32 * w_r, w_r / BINS as f32))
            };
            if let Some(f) = fine {
                hist2[k * BINS as usize + f as usize] += 1;
            }
        }
    }
    let mut value = [0.0f32; RANKS];
    for k in 0..RANKS {
        let (lo, w) = if k < LOSS_RANKS {
            (lo_l, w_l)
        } else {
            (lo_r, w_r)
        };
        let (mut cum, mut b) = (below[k], 0u32);
        loop {
            let h = hist2[k * BINS as usize + b as usize];
            if cum + h > rank(k) || b == BINS - 1 {
                break;
            }
            cum += h;
            b += 1;
        }
        value[k] = lo + sel[k] as f32 * w + (b as f32 + 0.5) * (w / BINS as f32);
    }

    // 4. CVaR: losses above the threshold value.
    let thr = value[6];
    let mut tail = [[0.0f32; 4]; WG];
    for (lid, acc) in tail.iter_mut().enumerate() {
        for i in (lid..n).step_by(WG) {
            let l = eval(i).0;
            if l > thr {
                acc[0] += l - thr;
            }
        }
    }
    let tail = reduce(&mut tail, |a, b| a + b);

    let mut ranks = [0.0f32; RANKS];
    ranks.copy_from_slice(&value);
    super::layout::StatsRow {
        shift,
        sum: s1[0],
        sum_sq: s1[1],
        regret_sum: s1[2],
        used: s1[3],
        complete: s2[0],
        hits: s2[1],
        regret_max: -mm[3],
        near: s2[2],
        tail_sum: tail[0],
        ranks,
        ..Default::default()
    }
}

/// The twins as a backend: every configuration through `config_stats`, prepared and merged as
/// the GPU backend does (the oracle on the host in f64, evaluations rounded to f32 as the shader
/// holds them), on the CPU.
#[derive(Debug, Clone, Copy, Default)]
pub struct Twin;

impl crate::backend::Backend for Twin {
    fn name(&self) -> &'static str {
        "twin"
    }

    fn describe(&self) -> String {
        "the Rust twins of the shaders (f32, on the CPU)".into()
    }

    fn statistics(
        &self,
        settings: &crate::backend::Settings,
        grid: &crate::grid::Grid,
        draws: &[Draw],
        oracle: &crate::backend::Oracle,
        progress: crate::backend::OnProgress,
    ) -> crate::error::Result<Vec<crate::backend::ConfigStats>> {
        use rayon::prelude::*;
        let s = draws.len();
        let preps: Vec<DrawPrep> = draws
            .iter()
            .map(|d| prepare(settings.shape, d, settings.flops_per_param_token))
            .collect();
        let l_star: Vec<f32> = oracle.optima.iter().map(|o| o.loss_grid as f32).collect();
        let ln_kr = ln_k_ratios(settings, grid);
        let ln_nr = ln_law_ratios(settings, grid);
        let ranks = super::ranks(s);
        let target = settings.target_loss.map(|t| t as f32);
        let eps = settings.near_best_within as f32;
        let stats = (0..grid.len())
            .into_par_iter()
            .map(|index| {
                let (p, d, t) = grid.coords(index);
                let (ln_p, ln_d, ln_t) = (grid.ln_params[p], grid.ln_tokens[d], grid.hours[t].ln());
                let eval = |i: usize| {
                    let (l, c, u) = evaluate(
                        settings.shape,
                        (ln_p, ln_kr[p], ln_nr[p]),
                        ln_d,
                        ln_t,
                        &preps[i],
                    );
                    (l as f32, c, u as f32)
                };
                let row = config_stats(s, ranks, (target, eps), eval, |i| l_star[i]);
                let merged = super::merge(&row, s, grid.hours[t], target.is_some());
                progress(1);
                merged
            })
            .collect();
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::law;

    /// The twin follows the reference formula to f64 rounding for every form.
    #[test]
    fn twin_matches_the_reference() {
        let k = Coeffs::test_fixture();
        for (form, effective_params, time_term) in [
            (Form::Additive, false, false),
            (Form::Additive, true, true),
            (Form::Kaplan, false, false),
        ] {
            let shape = LawShape {
                form,
                effective_params,
                time_term,
                embedding: None,
            };
            for unique in [f64::INFINITY, 2e10] {
                let d = Draw {
                    coeffs: k,
                    mfu: 0.4,
                    goodput: 1.0,
                    unique_tokens: unique,
                    anneal: 0.0,
                    member: 0,
                    throughput: 2e14,
                };
                let prep = prepare(shape, &d, 6.0);
                let cases: [(f64, f64, f64); 4] = [
                    (1e8, 3e9, 10.0),
                    (2e9, 1e11, 72.0),
                    (5e9, 4e11, 200.0),
                    (4e10, 1e12, 30.0),
                ];
                for (p, dv, t) in cases {
                    let cap = 2e14 * 3600.0 * t / (6.0 * p);
                    let want = law::loss(shape, &k, p, dv.min(cap), t, unique);
                    let (got, complete, used) = evaluate(
                        shape,
                        (f64::ln(p), 0.0, 0.0),
                        f64::ln(dv),
                        f64::ln(t),
                        &prep,
                    );
                    assert!(
                        (got / want - 1.0).abs() < 1e-12,
                        "{shape:?} U={unique} P={p:e}: {got} vs {want}"
                    );
                    assert_eq!(complete, dv <= cap);
                    assert!((used - (dv / cap).min(1.0)).abs() < 1e-12);
                }
            }
        }
    }
}
