//! Sampling: turns a scenario's uncertain inputs into S draws, each a pure function of
//! (seed, draw index, input name) (docs/MODEL.md §4).

pub mod inputs;
pub mod stream;

// The distributions live in their own leaf module; these paths stay for callers.
pub use crate::distributions::{dist, mvn, sobol};

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::law::Coeffs;
use crate::scenario::{Scenario, Schedule, Uncertainty};

/// Every input of one evaluation draw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Draw {
    pub coeffs: Coeffs,
    pub mfu: f64,
    pub goodput: f64,
    /// Unique tokens available; `f64::INFINITY` when unlimited.
    pub unique_tokens: f64,
    /// Sustained training throughput X = n · peak · mfu · goodput, FLOP/s.
    pub throughput: f64,
    /// What a full anneal of the schedule gains, nats (`Training::anneal`): the most a run cut
    /// before its anneal can lose. 0 under wsd.
    pub anneal: f64,
    /// The `law.mixture` member this draw's law comes from (0 for a single law).
    pub member: u32,
}

/// Stream keys of every input of a scenario, computed once.
struct Keys {
    mfu: [u8; 32],
    goodput: [u8; 32],
    unique: [u8; 32],
    anneal: [u8; 32],
    mixture: [u8; 32],
    /// Per mixture member (one for a single law): the stream of its joint uncertainty.
    group: Vec<[u8; 32]>,
    coeffs: Vec<[u8; 32]>,
}

impl Keys {
    fn new(s: &Scenario) -> Self {
        let seed = s.sampling.seed;
        Keys {
            mfu: stream::key(seed, "budget.mfu"),
            goodput: stream::key(seed, "budget.goodput"),
            unique: stream::key(seed, "data.unique_tokens"),
            anneal: stream::key(seed, "training.anneal_gain"),
            mixture: stream::key(seed, "law.mixture"),
            group: (0..s.law.mixture.len().max(1))
                .map(|m| {
                    stream::key(
                        seed,
                        match s.law.member(m).uncertainty {
                            Uncertainty::Draws { .. } => "law.draws",
                            _ => "law.mvn",
                        },
                    )
                })
                .collect(),
            coeffs: s
                .law
                .coefficients
                .iter()
                .map(|c| stream::key(seed, c.coeff.field()))
                .collect(),
        }
    }
}

/// Draws `range` of the scenario (in parallel; the result does not depend on thread count).
pub fn draws(s: &Scenario, range: std::ops::Range<usize>) -> Result<Vec<Draw>> {
    let keys = Keys::new(s);
    range
        .into_par_iter()
        .map(|i| draw(s, &keys, i as u64))
        .collect()
}

/// The one way a subset of a run's draws is taken: `n` of the indices 0..`total`, chosen
/// uniformly at random without replacement from the stream keyed by (`seed`, `purpose`), in
/// ascending order; all of them when `n` ≥ `total`. Since the draws are equally weighted, the
/// subset is an i.i.d. sample of the same distribution whatever order the draws come in: the
/// prior's are independent of their index anyway, but a posterior's resampled particles arrive
/// in ancestor order, where a prefix such as `draws[..n]` would over-represent a few ancestors.
/// The same (seed, purpose, total, n) always gives the same subset, so results stay reproducible
/// and two analyses that must pair draws (the frontier's levels) share one subset.
pub fn subsample(seed: u64, purpose: &str, total: usize, n: usize) -> Vec<usize> {
    if n >= total {
        return (0..total).collect();
    }
    subsamples(seed, purpose, total, &[n]).remove(0)
}

/// Disjoint subsets of the draws 0..`total`, of the given `sizes` (their sum at most `total`),
/// each uniformly random and independent of the others' positions (the pick-freeze split into
/// A and B needs two such), each in ascending order; reproducible as [`subsample`].
pub fn subsamples(seed: u64, purpose: &str, total: usize, sizes: &[usize]) -> Vec<Vec<usize>> {
    let all: usize = sizes.iter().sum();
    assert!(all <= total, "{all} draws asked of {total}");
    let mut rng = stream::stream(&stream::key(seed, purpose), 0);
    // rand's index sample comes fully shuffled, so consecutive runs of it are independent
    // uniform subsets.
    let picked = rand::seq::index::sample(&mut rng, total, all).into_vec();
    let mut start = 0;
    sizes
        .iter()
        .map(|&n| {
            let mut part = picked[start..start + n].to_vec();
            part.sort_unstable();
            start += n;
            part
        })
        .collect()
}

/// Where draw i's randomness comes from: keyed ChaCha8 streams (`random`) or one scrambled
/// Sobol dimension per input (`sobol`).
enum Source<'a> {
    Random(&'a Keys),
    Sobol { seed: u64, dims: sobol::Dimensions },
}

impl Source<'_> {
    /// The source of scenario `s`'s draws.
    fn of<'k>(s: &Scenario, keys: &'k Keys) -> Source<'k> {
        if s.sampling.method == crate::scenario::Method::Sobol {
            let group_len = match &s.law.uncertainty {
                Uncertainty::Mvn(m) => m.names.len(),
                _ => 1,
            };
            Source::Sobol {
                seed: s.sampling.seed,
                dims: sobol::Dimensions::new(group_len),
            }
        } else {
            Source::Random(keys)
        }
    }

    /// Draw i's uniform in Sobol dimension `dim`.
    fn uniform(&self, i: u64, dim: u32) -> f64 {
        match self {
            Source::Sobol { seed, .. } => sobol::uniform(i, dim, *seed),
            Source::Random(_) => unreachable!("random draws use their streams"),
        }
    }

    /// Draw i of a scalar input: from its stream (`key`), or its Sobol dimension `dim`.
    fn scalar(&self, i: u64, d: &dist::Dist, key: &[u8; 32], dim: u32, field: &str) -> Result<f64> {
        match self {
            Source::Random(_) => d.sample(&mut stream::stream(key, i), field),
            Source::Sobol { .. } => Ok(d.quantile(self.uniform(i, dim))),
        }
    }
}

/// Draw i's mixture member, by weight, from its own stream (a single law, or Sobol draws:
/// member 0, no draw).
fn member(s: &Scenario, source: &Source, i: u64) -> usize {
    match source {
        Source::Random(keys) if s.law.mixture.len() > 1 => {
            let u: f64 = rand::Rng::random(&mut stream::stream(&keys.mixture, i));
            let mut acc = 0.0;
            let last = s.law.mixture.len() - 1;
            s.law
                .mixture
                .iter()
                .position(|m| {
                    acc += m.weight;
                    u < acc
                })
                .unwrap_or(last)
        }
        _ => 0,
    }
}

/// The law's jointly uncertain coefficients of draw i (joint normal or a bootstrap row), into
/// `k`, except those the scenario gives a distribution of their own.
fn joint_coefficients(
    law: &crate::scenario::Law,
    member: usize,
    source: &Source,
    i: u64,
    k: &mut Coeffs,
) {
    match &law.uncertainty {
        Uncertainty::None => {}
        Uncertainty::Mvn(m) => {
            let z: Vec<f64> = match source {
                Source::Random(keys) => {
                    let mut rng = stream::stream(&keys.group[member], i);
                    (0..m.names.len())
                        .map(|_| StandardNormal.sample(&mut rng))
                        .collect()
                }
                Source::Sobol { dims, .. } => (0..m.names.len())
                    .map(|j| standard_normal_quantile(source.uniform(i, dims.group + j as u32)))
                    .collect(),
            };
            for (coord, v) in m.names.iter().zip(mvn::transform(&m.mean, &m.chol, &z)) {
                if !law.is_overridden(coord.coeff) {
                    coord.set(k, v);
                }
            }
        }
        Uncertainty::Draws { rows, .. } => {
            let r = match source {
                Source::Random(keys) => rand::Rng::random_range(
                    &mut stream::stream(&keys.group[member], i),
                    0..rows.len(),
                ),
                Source::Sobol { dims, .. } => ((source.uniform(i, dims.group) * rows.len() as f64)
                    as usize)
                    .min(rows.len() - 1),
            };
            for (coeff, v) in crate::law::BOOTSTRAP_COLUMNS.into_iter().zip(rows[r]) {
                if !law.is_overridden(coeff) {
                    coeff.set(k, v);
                }
            }
        }
    }
}

/// The coefficients the scenario gives distributions of their own, of draw i, into `k`;
/// returns the next free Sobol dimension (the anneal gain's).
fn own_coefficients(
    law: &crate::scenario::Law,
    keys: &Keys,
    source: &Source,
    i: u64,
    k: &mut Coeffs,
) -> Result<u32> {
    let mut dim = match source {
        Source::Sobol { dims, .. } => dims.coeffs,
        Source::Random(_) => 0,
    };
    for (c, key) in law.coefficients.iter().zip(&keys.coeffs) {
        if c.overridden && !c.dist.is_fixed() {
            let field = c.coeff.field();
            let v = match source {
                Source::Random(_) => c.dist.sample(&mut stream::stream(key, i), field)?,
                Source::Sobol { .. } => {
                    dim += 1;
                    c.dist.quantile(source.uniform(i, dim - 1))
                }
            };
            check_domain(field, v, c.domain_min, i)?;
            c.coeff.set(k, v);
        }
    }
    Ok(dim)
}

/// Draw i of scenario `s`: the law's coefficients (its mixture member, the joint part, the
/// coefficients of their own), MFU, goodput, unique tokens and, under cosine, the anneal gain.
fn draw(s: &Scenario, keys: &Keys, i: u64) -> Result<Draw> {
    let source = Source::of(s, keys);
    let member = member(s, &source, i);
    let law = s.law.member(member);
    let mut k = Coeffs::default();
    for c in &law.coefficients {
        c.coeff.set(&mut k, c.dist.point());
    }
    joint_coefficients(law, member, &source, i, &mut k);
    let dim_anneal = own_coefficients(law, keys, &source, i, &mut k)?;
    let mfu = source.scalar(
        i,
        &s.budget.mfu,
        &keys.mfu,
        sobol::Dimensions::MFU,
        "budget.mfu",
    )?;
    let goodput = source.scalar(
        i,
        &s.budget.goodput,
        &keys.goodput,
        sobol::Dimensions::GOODPUT,
        "budget.goodput",
    )?;
    let in_unit = |v: f64| v > 0.0 && v <= 1.0;
    if !in_unit(mfu) || !in_unit(goodput) {
        let (field, v) = if !in_unit(mfu) {
            ("budget.mfu", mfu)
        } else {
            ("budget.goodput", goodput)
        };
        return Err(Error::input(
            field,
            format!("draw {i} gave {v}, outside (0, 1]; truncate the distribution with min/max"),
        ));
    }
    let unique_tokens = match &s.data.unique_tokens {
        None => f64::INFINITY,
        Some(d) => {
            let v = source.scalar(
                i,
                d,
                &keys.unique,
                sobol::Dimensions::UNIQUE,
                "data.unique_tokens",
            )?;
            check_domain("data.unique_tokens", v, 0.0, i)?;
            v
        }
    };
    // Under cosine the anneal gain is an input; its Sobol dimension follows the coefficients'.
    let anneal = match s.training.schedule {
        Schedule::Wsd => 0.0,
        Schedule::Cosine => {
            let g = &s.training.anneal_gain;
            let v = if g.is_fixed() {
                g.point()
            } else {
                source.scalar(i, g, &keys.anneal, dim_anneal, "training.anneal_gain")?
            };
            s.training.anneal(v)
        }
    };
    Ok(Draw {
        coeffs: k,
        mfu,
        goodput,
        unique_tokens,
        throughput: s.budget.throughput(mfu, goodput),
        anneal,
        member: member as u32,
    })
}

/// Φ⁻¹(u) of the standard normal (statrs).
fn standard_normal_quantile(u: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::new(0.0, 1.0)
        .expect("standard normal")
        .inverse_cdf(u)
}

fn check_domain(field: &str, v: f64, min_exclusive: f64, i: u64) -> Result<()> {
    if v > min_exclusive && v.is_finite() {
        Ok(())
    } else {
        Err(Error::input(field, format!("draw {i} gave {v}, must be > {min_exclusive}; truncate the distribution with min/max")))
    }
}

/// Whether runs cut before their planned D pay for it in these draws (a cosine schedule with a
/// non-zero anneal gain): then a cut run's loss depends on D, not only on its capacity.
pub fn cut_runs_pay(draws: &[Draw]) -> bool {
    draws.iter().any(|d| d.anneal != 0.0)
}

/// Every input at its point value (MODEL.md §5 baselines): coefficients at their presets (or
/// the mean of a custom joint normal, or an override's point), MFU, goodput and unique data at
/// their distributions' points.
pub fn point_draw(s: &Scenario) -> Draw {
    // A mixture's point is its heaviest member's (the first of equals).
    let member = s
        .law
        .mixture
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |b, (i, m)| {
            if m.weight > b.1 {
                (i, m.weight)
            } else {
                b
            }
        })
        .0;
    let law = s.law.member(member);
    let mut k = Coeffs::default();
    for c in &law.coefficients {
        c.coeff.set(&mut k, c.dist.point());
    }
    if let Uncertainty::Mvn(m) = &law.uncertainty {
        for (coord, v) in m.names.iter().zip(&m.mean) {
            if !law.is_overridden(coord.coeff) {
                coord.set(&mut k, *v);
            }
        }
    }
    let mfu = s.budget.mfu.point();
    let goodput = s.budget.goodput.point();
    Draw {
        coeffs: k,
        mfu,
        goodput,
        unique_tokens: s
            .data
            .unique_tokens
            .as_ref()
            .map_or(f64::INFINITY, |d| d.point()),
        throughput: s.budget.throughput(mfu, goodput),
        anneal: s.training.anneal(s.training.anneal_gain.point()),
        member: member as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::subsample;

    /// All when n ≥ total; otherwise n distinct indices, reproducible, spread over the whole
    /// range (not a prefix): of 100 picked from 10,000, the largest is above 9,000 except with
    /// probability 0.9^100 ≈ 3e-5, and their mean is within 4 standard errors of 4999.5 (sd of
    /// a uniform index 2887, over √100).
    #[test]
    fn subsample_is_a_reproducible_uniform_subset() {
        assert_eq!(subsample(7, "x", 5, 5), vec![0, 1, 2, 3, 4]);
        assert_eq!(subsample(7, "x", 5, 9), vec![0, 1, 2, 3, 4]);
        let a = subsample(7, "frontier", 10_000, 100);
        assert_eq!(a, subsample(7, "frontier", 10_000, 100));
        assert_ne!(a, subsample(8, "frontier", 10_000, 100));
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a[99] < 10_000);
        assert!(a[99] > 9_000, "{a:?}");
        let mean = a.iter().sum::<usize>() as f64 / 100.0;
        assert!((mean - 4999.5).abs() < 4.0 * 2887.0 / 10.0, "{mean}");
    }

    /// Two halves of a split are disjoint and each spread over the whole range: not the lower
    /// and upper halves of one sorted subset (each half's largest above 9,000, as above).
    #[test]
    fn subsamples_are_disjoint_and_each_uniform() {
        let parts = super::subsamples(7, "indices", 10_000, &[100, 100]);
        let (a, b) = (&parts[0], &parts[1]);
        assert!(a.iter().all(|i| !b.contains(i)));
        assert!(a[99] > 9_000 && b[99] > 9_000, "{a:?} {b:?}");
        assert!(a[0] < 1_000 && b[0] < 1_000, "{a:?} {b:?}");
    }
}
