//! Evaluation of one configuration against every draw, in f64, through per-draw tables.
//!
//! For a grid, the law separates: L = E + A·P'^−α + B·D_eff^−β (+ c·T^−γ) where D_run is either
//! the grid's D (the run completes) or the run's capacity cap(P, T) (it is stopped at its
//! deadline). So per draw we tabulate the D term at every grid D once ([`Tables`]), and per
//! (P, T) the base term and the D term at the cap ([`PBlock`]); a configuration's column of
//! losses over all draws is then a select and an add per draw. Kaplan's form is not additive and
//! takes one `powf` per element. `crate::law::loss` is the formula these tables are tested against.

use crate::grid::Grid;
use crate::law::{
    cut_penalty, cut_scale, effective_data, effective_params, Coeffs, Form, LawShape,
};
use crate::sampling::Draw;

/// Per-draw data shared by every configuration.
pub struct Tables {
    pub shape: LawShape,
    pub draws: usize,
    pub k: f64,
    pub attention: Option<crate::law::Attention>,
    pub coeffs: Vec<Coeffs>,
    pub throughput: Vec<f64>,
    pub unique: Vec<f64>,
    /// D term at grid D: `dterm[d * draws + i]`.
    pub dterm: Vec<f64>,
    /// Each draw's anneal level (`Draw::anneal`), for the cut-run penalty's scale.
    pub anneal: Vec<f64>,
    /// Whether any run pays the penalty (a cosine schedule): then a cut run's loss depends on
    /// its D, not only on its capacity.
    pub cosine: bool,
}

/// The D term of one draw at `d_run` tokens: B·D_eff^−β, or D_c/D_eff for Kaplan.
#[inline]
fn d_term(shape: LawShape, k: &Coeffs, unique: f64, d_run: f64, ln_d_run: f64) -> f64 {
    let limited = unique.is_finite() && d_run > unique;
    match shape.form {
        Form::Additive => {
            if limited {
                k.b * effective_data(d_run, unique, k.r_d_star).powf(-k.beta)
            } else {
                k.b * (-k.beta * ln_d_run).exp()
            }
        }
        Form::Kaplan => {
            k.d_c
                / if limited {
                    effective_data(d_run, unique, k.r_d_star)
                } else {
                    d_run
                }
        }
    }
}

/// The P-and-T part of one draw: E + A·P'^−α + c·T^−γ, or (N_c/P')^(α_N/α_D) for Kaplan.
#[inline]
fn base_term(shape: LawShape, k: &Coeffs, unique: f64, p: f64, ln_p: f64, t: f64) -> f64 {
    let p_eff = if shape.effective_params && unique.is_finite() {
        Some(effective_params(p, unique, k))
    } else {
        None
    };
    match shape.form {
        Form::Additive => {
            let pt = match p_eff {
                Some(pe) => k.a * pe.powf(-k.alpha),
                None => k.a * (-k.alpha * ln_p).exp(),
            };
            let time = if shape.time_term {
                k.c * t.powf(-k.gamma)
            } else {
                0.0
            };
            k.e + pt + time
        }
        Form::Kaplan => (k.n_c / p_eff.unwrap_or(p)).powf(k.alpha_n / k.alpha_d),
    }
}

/// Loss from the two parts.
#[inline]
fn combine(shape: LawShape, k: &Coeffs, base: f64, dterm: f64) -> f64 {
    match shape.form {
        Form::Additive => base + dterm,
        Form::Kaplan => (base + dterm).powf(k.alpha_d),
    }
}

impl Tables {
    pub fn new(settings: &super::Settings, grid: &Grid, draws: &[Draw]) -> Self {
        Tables::with(
            settings.shape,
            grid,
            draws,
            settings.flops_per_param_token,
            settings.attention,
        )
    }

    pub fn with(
        shape: LawShape,
        grid: &Grid,
        draws: &[Draw],
        k: f64,
        attention: Option<crate::law::Attention>,
    ) -> Self {
        let s = draws.len();
        let mut dterm = vec![0.0; grid.tokens.len() * s];
        for (d, (&dv, &ln_d)) in grid.tokens.iter().zip(&grid.ln_tokens).enumerate() {
            for (i, dr) in draws.iter().enumerate() {
                dterm[d * s + i] = d_term(shape, &dr.coeffs, dr.unique_tokens, dv, ln_d);
            }
        }
        Tables {
            shape,
            draws: s,
            k,
            attention,
            coeffs: draws.iter().map(|d| d.coeffs).collect(),
            throughput: draws.iter().map(|d| d.throughput).collect(),
            unique: draws.iter().map(|d| d.unique_tokens).collect(),
            dterm,
            anneal: draws.iter().map(|d| d.anneal).collect(),
            cosine: crate::sampling::cut_runs_pay(draws),
        }
    }

    /// Tables of one P value over every T of the grid and every draw.
    pub fn block(&self, grid: &Grid, p: usize) -> PBlock {
        let s = self.draws;
        let nt = grid.hours.len();
        let (pv, ln_p) = (grid.params[p], grid.ln_params[p]);
        let kp = crate::law::flops_per_token(self.k, self.attention, pv);
        // The law's own parameter count (non-embedding for Kaplan's fit with a vocabulary).
        let (lp, ln_lp) = match self.shape.embedding {
            None => (pv, ln_p),
            Some(_) => {
                let n = self.shape.law_params(pv);
                (n, n.ln())
            }
        };
        let mut base = vec![0.0; nt * s];
        let mut cap = vec![0.0; nt * s];
        let mut inv_cap = vec![0.0; nt * s];
        let mut dcap = vec![0.0; nt * s];
        let mut scale = vec![0.0; if self.cosine { nt * s } else { 0 }];
        // Without a time term the base term does not depend on T: one `exp` per draw, copied
        // to every T (the same expression with the same inputs, so the same bits).
        let shared_base: Option<Vec<f64>> = (!self.shape.time_term).then(|| {
            (0..s)
                .map(|i| base_term(self.shape, &self.coeffs[i], self.unique[i], lp, ln_lp, 0.0))
                .collect()
        });
        for (t, &tv) in grid.hours.iter().enumerate() {
            if let Some(b) = &shared_base {
                base[t * s..(t + 1) * s].copy_from_slice(b);
            }
            for i in 0..s {
                let k = &self.coeffs[i];
                let c = crate::law::capacity(self.throughput[i], tv, kp);
                if shared_base.is_none() {
                    base[t * s + i] = base_term(self.shape, k, self.unique[i], lp, ln_lp, tv);
                }
                cap[t * s + i] = c;
                inv_cap[t * s + i] = 1.0 / c;
                dcap[t * s + i] = d_term(self.shape, k, self.unique[i], c, c.ln());
                if self.cosine {
                    let at = (pv, c, tv, self.unique[i]);
                    scale[t * s + i] = cut_scale(self.shape, k, self.anneal[i], at);
                }
            }
        }
        PBlock {
            p,
            base,
            cap,
            inv_cap,
            dcap,
            scale,
        }
    }
}

/// One P value's tables: `base`, `cap` (tokens the run can process) and `dcap` (the D term at
/// the cap), each indexed `[t * draws + i]`.
pub struct PBlock {
    pub p: usize,
    pub base: Vec<f64>,
    pub cap: Vec<f64>,
    /// 1 / cap, so the share of T used is a multiply.
    pub inv_cap: Vec<f64>,
    pub dcap: Vec<f64>,
    /// Under a cosine schedule, the cut-run penalty's scale at the cap ([`cut_scale`]); empty
    /// otherwise.
    pub scale: Vec<f64>,
}

/// Lanes of the accumulators in the hot loops: floating-point sums only vectorise when the code
/// itself keeps independent partial sums (the compiler may not reassociate), so every reduction
/// is split into `LANES` running sums, combined at the end in a fixed order (deterministic).
pub const LANES: usize = 4;

/// The lanes' partial sums combined in a fixed order: halves first, pairwise, so four lanes give
/// (a[0] + a[1]) + (a[2] + a[3]) and any other `LANES` every lane (no sum is left out when the
/// lane count changes).
pub fn lane_sum(a: &[f64; LANES]) -> f64 {
    fn pairwise(a: &[f64]) -> f64 {
        match a.len() {
            0 => 0.0,
            1 => a[0],
            n => pairwise(&a[..n / 2]) + pairwise(&a[n / 2..]),
        }
    }
    pairwise(a)
}

impl PBlock {
    /// Losses of configuration (p, d, t) for every draw into `out`; returns the number of draws
    /// in which the run completes (D ≤ cap). An additive law's select and add is
    /// `kernels::select_add`.
    pub fn column(
        &self,
        tables: &Tables,
        grid: &Grid,
        d: usize,
        t: usize,
        out: &mut [f64],
    ) -> usize {
        let s = tables.draws;
        let dv = grid.tokens[d];
        let base = &self.base[t * s..(t + 1) * s];
        let cap = &self.cap[t * s..(t + 1) * s];
        let dcap = &self.dcap[t * s..(t + 1) * s];
        let dterm = &tables.dterm[d * s..(d + 1) * s];
        let mut complete = 0usize;
        match tables.shape.form {
            Form::Additive => {
                let parts = super::kernels::ColumnParts {
                    cap,
                    base,
                    dterm,
                    dcap,
                };
                complete = super::kernels::select_add(dv, parts, &mut out[..s]);
            }
            Form::Kaplan => {
                for i in 0..s {
                    let done = dv <= cap[i];
                    complete += usize::from(done);
                    out[i] = combine(
                        tables.shape,
                        &tables.coeffs[i],
                        base[i],
                        if done { dterm[i] } else { dcap[i] },
                    );
                }
            }
        }
        if tables.cosine {
            let scale = &self.scale[t * s..(t + 1) * s];
            for i in 0..s {
                out[i] += cut_penalty(scale[i], dv, cap[i]);
            }
        }
        complete
    }

    /// The summed fraction of T that configuration (p, d, t) uses over the draws, Σ min(1, D/cap)
    /// (additive laws in lanes as D·(1/cap), Kaplan's in order as D/cap): a pass over one table,
    /// so that a column whose statistics are reused from another T costs only this.
    pub fn used(&self, tables: &Tables, grid: &Grid, d: usize, t: usize) -> f64 {
        let s = tables.draws;
        let dv = grid.tokens[d];
        if let Form::Kaplan = tables.shape.form {
            let cap = &self.cap[t * s..(t + 1) * s];
            return cap.iter().fold(0.0, |u, &c| u + (dv / c).min(1.0));
        }
        super::kernels::used(dv, &self.inv_cap[t * s..(t + 1) * s])
    }

    /// Each draw's best run at (p, t) when the schedule's D may be any value in `range` = [lower,
    /// the token entry upper] (upper None: unbounded, the until-the-deadline plan a candidate):
    /// the loss into `out`, the tokens it trains into `d_run`. Under a cosine schedule a run
    /// completing below its cap leaves tokens untrained and one cut above it pays a penalty that
    /// grows with D, so the best D is the cap itself, clamped to the range: D = cap (the law at
    /// the cap, no penalty), the range's top below the cap (that entry's column), or its bottom
    /// above the cap (cut there). Under wsd the same D is best (the penalty is 0).
    pub fn best_in_range(
        &self,
        tables: &Tables,
        grid: &Grid,
        t: usize,
        (lower, upper): (f64, Option<usize>),
        out: &mut [f64],
        d_run: &mut [f64],
    ) {
        let s = tables.draws;
        let base = &self.base[t * s..(t + 1) * s];
        let cap = &self.cap[t * s..(t + 1) * s];
        let dcap = &self.dcap[t * s..(t + 1) * s];
        let top = upper.map_or(f64::INFINITY, |d| grid.tokens[d]);
        for i in 0..s {
            let k = &tables.coeffs[i];
            let c = cap[i];
            (out[i], d_run[i]) = if c > top {
                let d = upper.expect("a finite top");
                let dterm = tables.dterm[d * s + i];
                (combine(tables.shape, k, base[i], dterm), top)
            } else {
                let law = combine(tables.shape, k, base[i], dcap[i]);
                let scale = if tables.cosine {
                    self.scale[t * s + i]
                } else {
                    0.0
                };
                (law + cut_penalty(scale, lower, c), c)
            };
        }
    }

    /// Tokens a run of configuration (p, d, t) actually trains in draw i: min(D, cap).
    pub fn d_run(&self, tables: &Tables, grid: &Grid, d: usize, t: usize, i: usize) -> f64 {
        grid.tokens[d].min(self.cap[t * tables.draws + i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::law;

    /// Every lane counts, in the documented order: with four lanes the pairwise sum of
    /// 1e16, 1, −1e16, 1 is (1e16 + 1) + (−1e16 + 1) = 0 in f64, where a left-to-right sum gives 1.
    #[test]
    fn lane_sum_adds_every_lane_pairwise() {
        let mut ones = [0.0; LANES];
        ones.iter_mut().for_each(|x| *x = 1.0);
        assert_eq!(lane_sum(&ones), LANES as f64);
        if LANES == 4 {
            let a: [f64; LANES] = std::array::from_fn(|i| [1e16, 1.0, -1e16, 1.0][i]);
            assert_eq!(lane_sum(&a), 0.0);
        }
    }

    /// The tables reproduce the reference formula for every law form, data limited or not.
    #[test]
    fn columns_match_the_reference_formula() {
        let grid = Grid {
            params: vec![1e8, 3e9],
            tokens: vec![2e9, 5e10, 4e11],
            hours: vec![10.0, 40.0],
            ln_params: vec![1e8f64.ln(), 3e9f64.ln()],
            ln_tokens: vec![2e9f64.ln(), 5e10f64.ln(), 4e11f64.ln()],
            feasible_params: 2,
            feasible_hours: 2,
            until_deadline: false,
        };
        let k = Coeffs::test_fixture();
        let shapes = [
            LawShape {
                form: Form::Additive,
                effective_params: false,
                time_term: false,
                embedding: None,
            },
            LawShape {
                form: Form::Additive,
                effective_params: true,
                time_term: true,
                embedding: None,
            },
            LawShape {
                form: Form::Kaplan,
                effective_params: false,
                time_term: false,
                embedding: None,
            },
        ];
        for shape in shapes {
            for unique in [f64::INFINITY, 3e10] {
                let draws: Vec<Draw> = [1e14, 3e15]
                    .iter()
                    .map(|&x| Draw {
                        coeffs: k,
                        mfu: 0.4,
                        goodput: 1.0,
                        unique_tokens: unique,
                        anneal: 0.0,
                        member: 0,
                        throughput: x,
                    })
                    .collect();
                let tables = Tables::with(shape, &grid, &draws, 6.0, None);
                let mut out = vec![0.0; draws.len()];
                for p in 0..2 {
                    let block = tables.block(&grid, p);
                    for d in 0..3 {
                        for t in 0..2 {
                            block.column(&tables, &grid, d, t, &mut out);
                            for (i, dr) in draws.iter().enumerate() {
                                let d_run = block.d_run(&tables, &grid, d, t, i);
                                let want = law::loss(
                                    shape,
                                    &dr.coeffs,
                                    grid.params[p],
                                    d_run,
                                    grid.hours[t],
                                    unique,
                                );
                                assert!(
                                    (out[i] / want - 1.0).abs() < 1e-13,
                                    "{shape:?} U={unique} p{p} d{d} t{t}: {} vs {want}",
                                    out[i]
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
