//! Variance-based sensitivity (MODEL.md §5): first-order and total Sobol indices of input
//! groups by pick-freeze, with bootstrap intervals.
//!
//! With two independent samples A and B of N draws and, per group G, the sample AB_G (A with
//! G's inputs taken from B), for an output f:
//!
//! - first order (Saltelli et al. 2010, Table 2 (b)): V_G = (1/N) Σ f(B)_j (f(AB_G)_j − f(A)_j),
//!   with f(B) centred on the mean of A and B (equal in expectation, far less noisy when the
//!   mean is large against the spread, as a loss is);
//! - total (Jansen 1999; Saltelli et al. 2010, Table 2 (f)): V_T = (1/2N) Σ (f(A)_j − f(AB_G)_j)²;
//!
//! each over the variance of f over A and B together. The 95% intervals are percentiles of 200
//! bootstrap resamples of the N rows (seeded, so reproducible).

use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Bootstrap resamples of the intervals.
pub const BOOTSTRAP: usize = 200;

/// One index with its 95% bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Index {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// First-order and total index of one group for one output.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Indices {
    pub first: Index,
    pub total: Index,
}

/// The point estimates over the rows `rows` (indices into the samples).
fn estimate(fa: &[f64], fb: &[f64], fab: &[f64], rows: &[usize]) -> (f64, f64) {
    let n = rows.len() as f64;
    let (mut sum, mut sum2) = (0.0, 0.0);
    for &j in rows {
        sum += fa[j] + fb[j];
        sum2 += fa[j] * fa[j] + fb[j] * fb[j];
    }
    let mean = sum / (2.0 * n);
    let var = sum2 / (2.0 * n) - mean * mean;
    let (mut v1, mut vt) = (0.0, 0.0);
    for &j in rows {
        // f(B) centred: the same estimator in expectation, without the noise of a large mean
        // (a loss of ~2.7 that varies by ~0.02) multiplying the differences.
        v1 += (fb[j] - mean) * (fab[j] - fa[j]);
        vt += (fa[j] - fab[j]) * (fa[j] - fab[j]);
    }
    if !(var > 0.0) {
        return (f64::NAN, f64::NAN);
    }
    (v1 / n / var, vt / (2.0 * n) / var)
}

/// The indices of one group from f(A), f(B) and f(AB_G) (all of length N), with intervals from
/// a bootstrap seeded by `seed`.
pub fn sobol(fa: &[f64], fb: &[f64], fab: &[f64], seed: u64) -> Indices {
    let n = fa.len();
    let all: Vec<usize> = (0..n).collect();
    let (s1, st) = estimate(fa, fb, fab, &all);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut firsts = Vec::with_capacity(BOOTSTRAP);
    let mut totals = Vec::with_capacity(BOOTSTRAP);
    let mut rows = vec![0; n];
    for _ in 0..BOOTSTRAP {
        for r in rows.iter_mut() {
            *r = rng.random_range(0..n);
        }
        let (a, b) = estimate(fa, fb, fab, &rows);
        if a.is_finite() && b.is_finite() {
            firsts.push(a);
            totals.push(b);
        }
    }
    let interval = |value: f64, v: &mut Vec<f64>| {
        if v.is_empty() {
            return Index {
                value,
                lo: f64::NAN,
                hi: f64::NAN,
            };
        }
        let (lo, hi) = crate::stats::percentile_interval(v, crate::stats::INTERVAL_95);
        Index { value, lo, hi }
    };
    Indices {
        first: interval(s1, &mut firsts),
        total: interval(st, &mut totals),
    }
}

/// Seeds the given-data bootstrap apart from the pick-freeze one of the same group and output.
const GIVEN_DATA_SEED: u64 = 0x6769_7665_6e00;

/// Bins of the given-data estimator over N draws: √N (90 of 91 draws at 8,192), 8 to 256.
fn bins(n: usize) -> usize {
    ((n as f64).sqrt() as usize).clamp(8, 256)
}

/// Equal-count bins of one input's draws: each row's bin, and how many bins there are.
struct Bins {
    bin: Vec<usize>,
    m: usize,
}

impl Bins {
    /// Equal-count bins of `x`'s order (ties kept in one bin when `x` takes no more distinct
    /// values than there are bins, as a discrete input does).
    fn of(x: &[f64]) -> Bins {
        let n = x.len();
        let m = bins(n);
        let mut distinct: Vec<f64> = x.to_vec();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() <= m {
            let at = |v: f64| distinct.partition_point(|d| d.total_cmp(&v).is_lt());
            return Bins {
                bin: x.iter().map(|&v| at(v)).collect(),
                m: distinct.len(),
            };
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        let mut bin = vec![0; n];
        for (rank, &i) in order.iter().enumerate() {
            bin[i] = rank * m / n;
        }
        Bins { bin, m }
    }

    /// S = V̂_between / V̂ of `y` over `rows`: the one-way analysis of variance's unbiased
    /// between-bin component, (SSB − (M − 1)·SSW/(N − M)) / N, over SST / N. Without the
    /// correction, noise alone would give (M − 1)/N (0.011 at 8,192 draws in 91 bins).
    fn share(&self, y: &[f64], rows: &[usize]) -> f64 {
        let (bin, m) = (&self.bin, self.m);
        let n = rows.len();
        let (mut count, mut sum) = (vec![0usize; m], vec![0.0; m]);
        let mut total = 0.0;
        for &j in rows {
            count[bin[j]] += 1;
            sum[bin[j]] += y[j];
            total += y[j];
        }
        let mean = total / n as f64;
        let (mut ssw, mut sst) = (0.0, 0.0);
        for &j in rows {
            let mb = sum[bin[j]] / count[bin[j]] as f64;
            ssw += (y[j] - mb) * (y[j] - mb);
            sst += (y[j] - mean) * (y[j] - mean);
        }
        let used = count.iter().filter(|&&c| c > 0).count();
        if !(sst > 0.0) || n <= used {
            return f64::NAN;
        }
        let ssb = sst - ssw;
        (ssb - (used as f64 - 1.0) * ssw / (n - used) as f64) / sst
    }

    /// The first-order index of the binned input for the output `y` (one value per row), with
    /// a 95% interval of ± 1.96 standard errors from 200 bootstrap resamples of the rows (bins
    /// fixed); `seed` seeds the resampling.
    fn first_order(&self, y: &[f64], seed: u64) -> Index {
        let n = self.bin.len();
        let all: Vec<usize> = (0..n).collect();
        let value = self.share(y, &all);
        if !value.is_finite() {
            return Index {
                value,
                lo: f64::NAN,
                hi: f64::NAN,
            };
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut rows = vec![0; n];
        let mut v = Vec::with_capacity(BOOTSTRAP);
        for _ in 0..BOOTSTRAP {
            for r in rows.iter_mut() {
                *r = rng.random_range(0..n);
            }
            let b = self.share(y, &rows);
            if b.is_finite() {
                v.push(b);
            }
        }
        // The interval is the estimate ± 1.96 bootstrap standard errors, not the bootstrap's
        // percentiles: a resample repeats rows, which shrinks the within-bin scatter and shifts
        // every replicate up by about (M − 1)/N, so its percentiles miss an index of 0.
        let (_, sd) = crate::stats::mean_sd(&v);
        Index {
            value,
            lo: value - 1.96 * sd,
            hi: value + 1.96 * sd,
        }
    }
}

/// The first-order index of one scalar input `x` for the output `y`, from the run's draws as
/// they are ("given data": Plischke 2010; Strong, Oakley & Brennan 2014 for the same conditional
/// expectation), by equal-count binning of `x` ([`Bins`]). No evaluation beyond the draws'.
pub fn first_order_given_data(x: &[f64], y: &[f64], seed: u64) -> Index {
    Bins::of(x).first_order(y, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ishigami (a = 7, b = 0.1) on U(−π, π)³, with its analytic first-order and total indices
    /// (Saltelli et al. 2008 / Ishigami & Homma 1990).
    fn ishigami(x: [f64; 3]) -> f64 {
        x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin()
    }
    const ISHIGAMI_FIRST: [f64; 3] = [0.3139, 0.4424, 0.0];
    const ISHIGAMI_TOTAL: [f64; 3] = [0.5576, 0.4424, 0.2437];

    /// The given-data estimator on Ishigami draws and on
    /// a discrete input (y = x + noise, x ∈ {0, 1, 2} equally likely, noise sd 1: S1 is
    /// (2/3) / (2/3 + 1) = 0.4): each interval covers the truth.
    #[test]
    fn given_data_first_order_recovers_analytic_values() {
        let f = ishigami;
        let n = 8192;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let pi = std::f64::consts::PI;
        let xs: Vec<[f64; 3]> = (0..n)
            .map(|_| [0; 3].map(|_| rng.random_range(-pi..pi)))
            .collect();
        let y: Vec<f64> = xs.iter().map(|x| f(*x)).collect();
        for (g, want) in ISHIGAMI_FIRST.into_iter().enumerate() {
            let x: Vec<f64> = xs.iter().map(|v| v[g]).collect();
            let ix = first_order_given_data(&x, &y, g as u64);
            assert!(
                ix.lo <= want && want <= ix.hi,
                "x{}: {want} outside [{}, {}] ({})",
                g + 1,
                ix.lo,
                ix.hi,
                ix.value
            );
            assert!(ix.hi - ix.lo < 0.05, "x{}: {ix:?}", g + 1);
        }
        let normal = rand_distr::StandardNormal;
        let x: Vec<f64> = (0..n).map(|_| rng.random_range(0..3) as f64).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|v| v + rand_distr::Distribution::<f64>::sample(&normal, &mut rng))
            .collect();
        let ix = first_order_given_data(&x, &y, 5);
        assert!(ix.lo <= 0.4 && 0.4 <= ix.hi, "{ix:?}");
    }

    /// Pick-freeze on Ishigami: each estimate's own 95% bootstrap interval must cover the
    /// analytic value.
    #[test]
    fn ishigami_indices_are_recovered() {
        let f = ishigami;
        let n = 20_000;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut draw = || {
            let pi = std::f64::consts::PI;
            [0; 3].map(|_| rng.random_range(-pi..pi))
        };
        let a: Vec<[f64; 3]> = (0..n).map(|_| draw()).collect();
        let b: Vec<[f64; 3]> = (0..n).map(|_| draw()).collect();
        let fa: Vec<f64> = a.iter().map(|x| f(*x)).collect();
        let fb: Vec<f64> = b.iter().map(|x| f(*x)).collect();
        let (want_first, want_total) = (ISHIGAMI_FIRST, ISHIGAMI_TOTAL);
        for g in 0..3 {
            let fab: Vec<f64> = a
                .iter()
                .zip(&b)
                .map(|(x, y)| {
                    let mut m = *x;
                    m[g] = y[g];
                    f(m)
                })
                .collect();
            let ix = sobol(&fa, &fb, &fab, g as u64);
            for (what, got, want) in [
                ("first", ix.first, want_first[g]),
                ("total", ix.total, want_total[g]),
            ] {
                assert!(
                    got.lo <= want && want <= got.hi,
                    "x{} {what}: {want} outside [{}, {}] (estimate {})",
                    g + 1,
                    got.lo,
                    got.hi,
                    got.value
                );
                assert!(got.hi - got.lo < 0.1, "interval too wide to mean anything");
            }
        }
    }
}

/// Draws per sample (A and B) of the run's indices at most: two disjoint uniformly random
/// subsets of the run's draws (`sampling::subsamples`), so A and B are independent samples of
/// the prior or the posterior whatever order the draws come in (a resampled posterior comes
/// in ancestor order). With N = 2048 the bootstrap intervals of the total indices are a few
/// hundredths wide.
pub const MAX_N: usize = 2048;

/// The indices of one group for the four outputs the report reads.
#[derive(Debug, Clone, Serialize)]
pub struct GroupIndices {
    pub group: String,
    pub inputs: Vec<String>,
    /// Of the recommended plan's loss.
    pub loss_plan: Indices,
    /// Of the per-draw optimum's size P*, tokens D* and loss L*.
    pub params_opt: Indices,
    pub tokens_opt: Indices,
    pub loss_opt: Indices,
}

/// The four outputs the indices describe, as columns over a sample's draws: the plan's loss,
/// P*, D*, L*.
fn columns(plan_losses: Vec<f64>, optima: &[crate::backend::DrawOptimum]) -> [Vec<f64>; 4] {
    [
        plan_losses,
        optima.iter().map(|o| o.params).collect(),
        optima.iter().map(|o| o.tokens).collect(),
        optima.iter().map(|o| o.loss).collect(),
    ]
}

/// The run's outputs over all its draws, for the given-data first-order indices.
pub struct Outputs<'a> {
    /// The plan's loss in every draw.
    pub plan_losses: &'a [f64],
    /// The per-draw optimum of every draw.
    pub optima: &'a [crate::backend::DrawOptimum],
}

/// Grouped Sobol indices of a run (MODEL.md §5) for `plan` (the first objective's). Total
/// indices, and the first-order index of a group of several inputs, by pick-freeze: A and B are
/// disjoint random subsets of N = min(S/2, [`MAX_N`]) draws each; the per-draw optimum of each
/// mixed draw by the CPU oracle pass over the run's grid. The first-order index of a group of one
/// input from all S draws as they are ([`first_order_given_data`]): no mixing needed, and S
/// draws instead of N.
pub fn of_run(
    s: &crate::scenario::Scenario,
    grid: &crate::grid::Grid,
    draws: &[crate::sampling::Draw],
    settings: &crate::backend::cpu::Settings,
    plan: &super::refine::Plan,
    all: &Outputs,
) -> Vec<GroupIndices> {
    use super::groups;
    let n = (draws.len() / 2).min(MAX_N);
    if n < 16 {
        return Vec::new();
    }
    let mut parts =
        crate::sampling::subsamples(s.sampling.seed, "sensitivity.indices", draws.len(), &[n, n]);
    // The subsets come in ascending index order; pick-freeze pairs A's j-th draw with B's j-th,
    // so B is put in a random order: with draws that arrive sorted (by MFU, say), two ascending
    // subsets would pair draws of nearly equal MFU and hide its effect.
    {
        use rand::seq::SliceRandom;
        let key = crate::sampling::stream::key(s.sampling.seed, "sensitivity.indices.pairing");
        parts[1].shuffle(&mut crate::sampling::stream::stream(&key, 0));
    }
    let pick =
        |idx: &[usize]| -> Vec<crate::sampling::Draw> { idx.iter().map(|&i| draws[i]).collect() };
    let (a, b) = (pick(&parts[0]), pick(&parts[1]));
    let both: Vec<crate::sampling::Draw> = a.iter().chain(&b).copied().collect();
    let groups: Vec<groups::Group> = groups::groups(s, &both)
        .into_iter()
        .filter(|g| !g.information_only)
        .collect();
    let outputs = |sample: &[crate::sampling::Draw]| -> [Vec<f64>; 4] {
        let eval = super::refine::Evaluator::new(settings, sample, &[]);
        let optima = crate::backend::cpu::oracle_pass(settings, grid, sample).optima;
        columns(eval.column(plan), &optima)
    };
    let given = columns(all.plan_losses.to_vec(), all.optima);
    // A and B are draws of the run: their outputs are the run's own, not a second oracle pass.
    let of_draws = |idx: &[usize]| -> [Vec<f64>; 4] {
        std::array::from_fn(|k| idx.iter().map(|&i| given[k][i]).collect())
    };
    let (fa, fb) = (of_draws(&parts[0]), of_draws(&parts[1]));
    groups
        .iter()
        .enumerate()
        .map(|(gi, g)| {
            let mixed: Vec<crate::sampling::Draw> = a
                .iter()
                .zip(&b)
                .map(|(x, y)| groups::mix(s, x, y, g))
                .collect();
            let fab = outputs(&mixed);
            // A group of one input: its draws binned once, for the four outputs.
            let bins = match g.inputs[..] {
                [input] => Some(Bins::of(
                    &draws.iter().map(|d| input.value(d)).collect::<Vec<f64>>(),
                )),
                _ => None,
            };
            let ix = |k: usize| {
                let mut ix = sobol(&fa[k], &fb[k], &fab[k], (gi * 4 + k) as u64);
                if let Some(bins) = &bins {
                    ix.first = bins.first_order(&given[k], (gi * 4 + k) as u64 ^ GIVEN_DATA_SEED);
                }
                ix
            };
            GroupIndices {
                group: g.name.clone(),
                inputs: g.inputs.iter().map(|i| i.name()).collect(),
                loss_plan: ix(0),
                params_opt: ix(1),
                tokens_opt: ix(2),
                loss_opt: ix(3),
            }
        })
        .collect()
}
