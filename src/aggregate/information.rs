//! The value of information (MODEL.md §5): what knowing a group of inputs before choosing would
//! be worth to the expected-loss decision.
//!
//! EVPPI_G = min_c E[L_c] − E_G[min_c E[L_c | G]] ≥ 0 (losses: knowing G can only lower the
//! expected loss of the best choice), over the expected-loss objective's candidate set,
//! estimated by regression (Strong, Oakley & Brennan 2014, "Estimating multiparameter partial
//! expected value of perfect information from a probabilistic sensitivity analysis sample: a
//! nonparametric regression approach"): E[L_c | G] is the least-squares fit of each
//! candidate's losses on a polynomial in G's inputs (quartic for one input, full quadratic for
//! several), over the run's own draws, so one sample serves every group. Then per draw
//! Δ_i = ĝ_{c*}(G_i) − min_c ĝ_c(G_i) with c* the plan of least expected loss, EVPPI = mean Δ and
//! its standard error sd(Δ)/√S (the regression's own error is not in it). EVPI, with every
//! input known, is mean_i (L_{c*}(θ_i) − min_c L_c(θ_i)): the plan's mean regret.

use rayon::prelude::*;
use serde::Serialize;

use super::groups;
use super::refine::{Evaluator, Plan};
use crate::backend::cpu;
use crate::grid::Grid;
use crate::sampling::Draw;
use crate::stats;

/// The candidates the estimate minimises over, at most: the ones of least expected loss.
pub const MAX_CANDIDATES: usize = 256;

/// The value of knowing one group (or, for `evpi`, everything) before choosing.
#[derive(Debug, Clone, Serialize)]
pub struct Value {
    pub group: String,
    pub inputs: Vec<String>,
    pub value: f64,
    pub se: f64,
    /// Per decile of the group's first input (of the plan's conditional loss for a group of
    /// several inputs): the size of the plan one would then choose most often.
    pub decile_params: Vec<f64>,
}

/// The fitted values of any y on the span of some columns: Q·Qᵀ·y with Q orthonormal by
/// modified Gram–Schmidt; columns that add less than 1e-9 of their norm are dropped (the law's
/// coefficients are nearly collinear).
pub struct Projector {
    q: Vec<Vec<f64>>,
}

impl Projector {
    pub fn new(columns: Vec<Vec<f64>>) -> Self {
        let mut q: Vec<Vec<f64>> = Vec::new();
        for mut v in columns {
            let norm0 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            for u in &q {
                let dot: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
                for (x, y) in v.iter_mut().zip(u) {
                    *x -= dot * y;
                }
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 1e-9 * norm0 && norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
                q.push(v);
            }
        }
        Projector { q }
    }

    /// The fitted values of `y`.
    pub fn fit(&self, y: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; y.len()];
        for u in &self.q {
            let dot: f64 = u.iter().zip(y).map(|(a, b)| a * b).sum();
            for (o, x) in out.iter_mut().zip(u) {
                *o += dot * x;
            }
        }
        out
    }
}

/// The regression design of some inputs (each standardised): 1, z, z², z³, z⁴ for one input;
/// 1, z_j and every product z_j·z_k (j ≤ k) for several.
pub fn design(inputs: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = inputs[0].len();
    let z: Vec<Vec<f64>> = inputs
        .iter()
        .map(|x| {
            let (m, sd) = stats::mean_sd(x);
            let sd = if sd > 0.0 { sd } else { 1.0 };
            x.iter().map(|v| (v - m) / sd).collect()
        })
        .collect();
    let mut cols = vec![vec![1.0; n]];
    if z.len() == 1 {
        for p in 1..=4 {
            cols.push(z[0].iter().map(|v| v.powi(p)).collect());
        }
    } else {
        cols.extend(z.iter().cloned());
        for j in 0..z.len() {
            for k in j..z.len() {
                cols.push(z[j].iter().zip(&z[k]).map(|(a, b)| a * b).collect());
            }
        }
    }
    cols
}

/// EVPPI from the candidates' loss columns, the index of the plan of least expected loss and a
/// group's projector; `key` orders the draws into deciles; `params[c]` is candidate c's size.
pub fn evppi(
    columns: &[Vec<f64>],
    best: usize,
    proj: &Projector,
    key: &[f64],
    params: &[f64],
) -> (f64, f64, Vec<f64>) {
    let s = key.len();
    let fitted: Vec<Vec<f64>> = columns.par_iter().map(|c| proj.fit(c)).collect();
    let mut min = vec![f64::INFINITY; s];
    let mut arg = vec![0usize; s];
    for (c, f) in fitted.iter().enumerate() {
        for i in 0..s {
            if f[i] < min[i] {
                min[i] = f[i];
                arg[i] = c;
            }
        }
    }
    let delta: Vec<f64> = (0..s).map(|i| fitted[best][i] - min[i]).collect();
    let (mean, sd) = stats::mean_sd(&delta);
    (
        mean,
        sd / (s as f64).sqrt(),
        decile_choices(key, &arg, params),
    )
}

/// Per decile of `key`, the size of the candidate chosen most often (ties: the smaller index).
fn decile_choices(key: &[f64], arg: &[usize], params: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..key.len()).collect();
    order.sort_by(|&a, &b| key[a].total_cmp(&key[b]));
    order
        .chunks(key.len().div_ceil(10).max(1))
        .map(|chunk| {
            let mut counts = std::collections::BTreeMap::new();
            for &i in chunk {
                *counts.entry(arg[i]).or_insert(0usize) += 1;
            }
            let (c, _) = counts
                .into_iter()
                .fold((0, 0), |a, (c, n)| if n > a.1 { (c, n) } else { a });
            params[c]
        })
        .collect()
}

/// EVPI and EVPPI of every group for the expected-loss decision of a run: over the candidates
/// of least expected loss (at most [`MAX_CANDIDATES`]; under wsd with the until-the-deadline
/// plans only those, which dominate every fixed D of their (P, T) in every draw), on the run's
/// draws. `means[i]` is configuration i's expected loss.
pub fn values(
    s: &crate::scenario::Scenario,
    grid: &Grid,
    draws: &[Draw],
    settings: &cpu::Settings,
    means: &[f64],
) -> Vec<Value> {
    let cands = settings.candidates(grid, draws);
    let cosine = crate::sampling::cut_runs_pay(draws);
    let mut pool: Vec<usize> = cands
        .indices(grid)
        .into_iter()
        .filter(|&i| cosine || !cands.deadline() || grid.is_until_deadline(grid.coords(i).1))
        .collect();
    pool.sort_by(|&a, &b| means[a].total_cmp(&means[b]).then(a.cmp(&b)));
    pool.truncate(MAX_CANDIDATES);
    if pool.is_empty() || draws.len() < 2 {
        return Vec::new();
    }
    let eval = Evaluator::new(settings, draws, &[]);
    let columns: Vec<Vec<f64>> = pool
        .par_iter()
        .map(|&i| {
            let (params, tokens, hours) = grid.config(i);
            eval.column(&Plan {
                params,
                tokens,
                hours,
            })
        })
        .collect();
    let params: Vec<f64> = pool.iter().map(|&i| grid.config(i).0).collect();
    let n = draws.len();
    let col_mean = |c: &Vec<f64>| c.iter().sum::<f64>() / n as f64;
    let best = (0..columns.len())
        .min_by(|&a, &b| col_mean(&columns[a]).total_cmp(&col_mean(&columns[b])))
        .unwrap_or(0);
    let regret: Vec<f64> = (0..n)
        .map(|i| {
            let m = columns.iter().map(|c| c[i]).fold(f64::INFINITY, f64::min);
            columns[best][i] - m
        })
        .collect();
    let (evpi, sd) = stats::mean_sd(&regret);
    let mut out = vec![Value {
        group: "all".into(),
        inputs: Vec::new(),
        value: evpi,
        se: sd / (n as f64).sqrt(),
        decile_params: Vec::new(),
    }];
    for g in groups::groups(s, draws) {
        let inputs: Vec<Vec<f64>> = g
            .inputs
            .iter()
            .map(|input| draws.iter().map(|d| input.regressor(d)).collect())
            .collect();
        let proj = Projector::new(design(&inputs));
        let key = if inputs.len() == 1 {
            inputs[0].clone()
        } else {
            proj.fit(&columns[best])
        };
        let (value, se, decile_params) = evppi(&columns, best, &proj, &key, &params);
        out.push(Value {
            group: g.name.clone(),
            inputs: g.inputs.iter().map(|i| i.name()).collect(),
            value,
            se,
            decile_params,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    /// Two actions: L1 = 0, L2 = a + b·X + c·Y with X, Y independent standard normals. Knowing X
    /// is worth E[max(0, −(a + bX))] = b·φ(a/b) − a·Φ(−a/b) (a normal's partial expectation);
    /// the estimate must be within three of its standard errors of it.
    #[test]
    fn evppi_of_a_linear_gaussian_decision() {
        let (a, b, c) = (0.3, 0.5, 1.0);
        let n = 20_000;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let x: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        let y: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        let l1 = vec![0.0; n];
        let l2: Vec<f64> = (0..n).map(|i| a + b * x[i] + c * y[i]).collect();
        let proj = Projector::new(design(std::slice::from_ref(&x)));
        let (value, se, _) = evppi(&[l1, l2], 0, &proj, &x, &[1.0, 2.0]);
        use statrs::distribution::{Continuous, ContinuousCDF, Normal};
        let z = Normal::new(0.0, 1.0).unwrap();
        let exact = b * z.pdf(a / b) - a * z.cdf(-a / b);
        assert!(
            (value - exact).abs() < 3.0 * se,
            "EVPPI {value} ± {se} vs closed form {exact}"
        );
        assert!(se < 0.01 * exact.max(0.05) * 10.0);
    }
}
