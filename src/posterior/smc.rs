//! Sequential Monte Carlo with likelihood tempering (docs/MODEL.md §8; Del Moral, Doucet &
//! Jasra 2006, with adaptive steps as in Jasra et al. 2011): from the prior draws to the
//! posterior through p_φ ∝ prior · likelihood^φ, φ = 0 → 1. Each step takes φ as far as the
//! importance weights keep an effective sample size of half the particles, resamples them
//! systematically, and moves every particle with random-walk Metropolis steps in the latent
//! space (prior N(0, I)), the proposal scaled from the particles' own covariance
//! (2.38²/d, Roberts & Rosenthal 2001). A full set of distinct draws comes out, never a handful
//! of survivors; every random number comes from the seeded streams, so the result does not
//! depend on the thread count.

// Small dense matrices read best with their indices (a, b as in the formulas).
#![allow(clippy::needless_range_loop)]

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

use super::latent::Layout;
use super::likelihood::Model;
use crate::sampling::{stream, Draw};

/// One particle: its draw, anneal level, latents and log-likelihood.
#[derive(Debug, Clone)]
pub struct Particle {
    pub draw: Draw,
    pub g: f64,
    pub z: Vec<f64>,
    pub ll: f64,
}

/// One tempering step.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// The tempering exponent reached.
    pub phi: f64,
    /// Effective sample size of the step's importance weights, (Σw)²/Σw².
    pub ess: f64,
    /// Metropolis steps taken after resampling.
    pub moves: usize,
    /// Their mean acceptance rate.
    pub acceptance: f64,
}

/// Most tempering steps; a likelihood sharp enough to need more is refused by the caller with
/// the advice to loosen the noise (docs/MODEL.md §8).
pub const MAX_STAGES: usize = 200;

/// The acceptance rate the proposal's scale is tuned towards (Roberts, Gelman & Gilks 1997's
/// 0.234 for random-walk Metropolis in many dimensions), and the smallest scale factor.
const TARGET_ACCEPTANCE: f64 = 0.234;
const MIN_FACTOR: f64 = 1e-4;

/// Fewest and most Metropolis steps after each resampling: enough that a particle has moved
/// with probability 0.99 at the measured acceptance rate, within these bounds (judgement).
pub const MIN_MOVES: usize = 3;
pub const MAX_MOVES: usize = 40;

fn ess(w: &[f64]) -> f64 {
    let s: f64 = w.iter().sum();
    let s2: f64 = w.iter().map(|x| x * x).sum();
    if s2 > 0.0 {
        s * s / s2
    } else {
        0.0
    }
}

/// Weights exp(δ·(ll − max ll)).
fn weights(ps: &[Particle], delta: f64) -> Vec<f64> {
    let top = ps.iter().map(|p| p.ll).fold(f64::NEG_INFINITY, f64::max);
    ps.iter()
        .map(|p| {
            if p.ll == f64::NEG_INFINITY {
                0.0
            } else {
                (delta * (p.ll - top)).exp()
            }
        })
        .collect()
}

/// Systematic resampling (Kitagawa 1996): N evenly spaced points from one uniform offset.
fn systematic(w: &[f64], u: f64) -> Vec<usize> {
    let n = w.len();
    let total: f64 = w.iter().sum();
    let mut out = Vec::with_capacity(n);
    let mut acc = w[0] / total;
    let mut j = 0;
    for i in 0..n {
        let target = (i as f64 + u) / n as f64;
        while acc < target && j + 1 < n {
            j += 1;
            acc += w[j] / total;
        }
        out.push(j);
    }
    out
}

/// Lower Cholesky factor of the particles' covariance over the latents `dims`, times 2.38²/d
/// (a diagonal one when the covariance is singular, e.g. every particle a copy of one).
fn proposal(ps: &[Particle], dims: &[usize], factor: f64) -> Vec<Vec<f64>> {
    let n = ps.len() as f64;
    let dim = dims.len();
    let mean: Vec<f64> = dims
        .iter()
        .map(|&k| ps.iter().map(|p| p.z[k]).sum::<f64>() / n)
        .collect();
    let mut cov = vec![vec![0.0; dim]; dim];
    for p in ps {
        for a in 0..dim {
            let da = p.z[dims[a]] - mean[a];
            for b in 0..=a {
                cov[a][b] += da * (p.z[dims[b]] - mean[b]);
            }
        }
    }
    let scale = factor * 2.38 * 2.38 / dim as f64;
    for a in 0..dim {
        for b in 0..=a {
            cov[a][b] *= scale / (n - 1.0).max(1.0);
            cov[b][a] = cov[a][b];
        }
        // A floor keeps a collapsed coordinate movable.
        cov[a][a] = cov[a][a].max(1e-6 * scale);
    }
    crate::distributions::mvn::cholesky(&cov, "observations").map_or_else(
        |_| {
            (0..dim)
                .map(|a| {
                    let mut row = vec![0.0; dim];
                    row[a] = cov[a][a].sqrt();
                    row
                })
                .collect()
        },
        |(l, _)| l,
    )
}

/// One Metropolis step of every particle at tempering exponent φ in the latents `dims`;
/// returns the acceptance rate.
fn move_all(
    ps: &mut [Particle],
    layout: &Layout,
    model: &Model,
    (dims, chol): (&[usize], &[Vec<f64>]),
    phi: f64,
    key: &[u8; 32],
) -> f64 {
    let dim = dims.len();
    let accepted: usize = ps
        .par_iter_mut()
        .enumerate()
        .map(|(i, p)| {
            let mut rng = stream::stream(key, i as u64);
            let xi: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect();
            let mut z = p.z.clone();
            for a in 0..dim {
                z[dims[a]] += (0..=a).map(|b| chol[a][b] * xi[b]).sum::<f64>();
            }
            let (draw, g) = layout.draw(&p.draw, p.g, &z);
            let ll = model.log_likelihood(&draw, g);
            let prior = |z: &[f64]| -0.5 * z.iter().map(|x| x * x).sum::<f64>();
            let log_a = phi * (ll - p.ll) + prior(&z) - prior(&p.z);
            let u: f64 = rng.random();
            if ll > f64::NEG_INFINITY && u.ln() < log_a {
                *p = Particle { draw, g, z, ll };
                1
            } else {
                0
            }
        })
        .sum();
    accepted as f64 / ps.len() as f64
}

/// Draw the latents the likelihood does not depend on afresh from their N(0, 1) prior: an exact
/// Gibbs step of the tempered target, which needs no acceptance.
fn refresh(ps: &mut [Particle], layout: &Layout, key: &[u8; 32]) {
    let dims = layout.uninformed();
    if dims.is_empty() {
        return;
    }
    ps.par_iter_mut().enumerate().for_each(|(i, p)| {
        let mut rng = stream::stream(key, i as u64);
        for &k in &dims {
            p.z[k] = StandardNormal.sample(&mut rng);
        }
        let (draw, g) = layout.draw(&p.draw, p.g, &p.z);
        p.draw = draw;
        p.g = g;
    });
}

/// Temper `ps` from the prior to the posterior. `seed` keys every random number. Also returns
/// each particle's Eve: the prior particle it descends from (Chan & Lai 2013; Lee & Whiteley
/// 2018), which standard errors of posterior means cluster by
/// ([`crate::posterior::Posterior::mean_se`]).
pub fn run(
    mut ps: Vec<Particle>,
    layout: &Layout,
    model: &Model,
    seed: u64,
) -> crate::Result<(Vec<Particle>, Vec<Stage>, Vec<u32>)> {
    let n = ps.len();
    let mut stages = Vec::new();
    let mut eves: Vec<u32> = (0..n as u32).collect();
    let mut phi = 0.0;
    let mut factor: f64 = 1.0;
    while phi < 1.0 {
        if stages.len() == MAX_STAGES {
            return Err(crate::Error::input(
                "observations",
                format!("the posterior needed more than {MAX_STAGES} tempering steps (the observations are far sharper than the prior allows); raise observations.noise or observations.discrepancy, or check the rows against the law"),
            ));
        }
        if ps.iter().all(|p| p.ll == f64::NEG_INFINITY) {
            return Err(crate::Error::input(
                "observations",
                "no draw of the prior can produce these observations (every likelihood is 0); check the rows' units (tokens, nats) and the law",
            ));
        }
        // The largest step whose weights keep ESS ≥ N/2, by bisection.
        let rest = 1.0 - phi;
        let target = 0.5 * n as f64;
        let delta = if ess(&weights(&ps, rest)) >= target {
            rest
        } else {
            let (mut lo, mut hi) = (0.0, rest);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if ess(&weights(&ps, mid)) >= target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo.max(1e-12)
        };
        let w = weights(&ps, delta);
        let step_ess = ess(&w);
        phi = if delta == rest { 1.0 } else { phi + delta };
        let k = stages.len();
        let u: f64 = stream::stream(&stream::key(seed, "observations.resample"), k as u64).random();
        let picks = systematic(&w, u);
        eves = picks.iter().map(|&i| eves[i]).collect();
        ps = picks.into_iter().map(|i| ps[i].clone()).collect();
        // Move: the latents the data inform by random-walk Metropolis (one step to measure
        // acceptance, then enough for a particle to have moved with probability 0.9, 0.99 at the
        // last step), the others drawn afresh from their prior.
        let informed = layout.informed();
        let key = |m: usize| stream::key(seed, &format!("observations.move.{k}.{m}"));
        // The first step also tunes the proposal's scale for the rest: 2.38²/d is right for a
        // normal target, and a posterior on a thin curved ridge (a level learned from one size
        // of run) needs smaller steps; the scale carries to the next tempering step.
        let mut chol = proposal(&ps, &informed, factor);
        let mut extra = 0;
        let (first, wanted) = if informed.is_empty() {
            (1.0, 0)
        } else {
            let tried = move_all(&mut ps, layout, model, (&informed, &chol), phi, &key(0));
            factor = (factor * (tried / TARGET_ACCEPTANCE).powi(2).clamp(0.1, 4.0))
                .clamp(MIN_FACTOR, 4.0);
            chol = proposal(&ps, &informed, factor);
            let retuned = (tried / TARGET_ACCEPTANCE - 1.0).abs() >= 0.5;
            let first = if retuned {
                extra = 1;
                move_all(
                    &mut ps,
                    layout,
                    model,
                    (&informed, &chol),
                    phi,
                    &key(MAX_MOVES),
                )
            } else {
                tried
            };
            let miss: f64 = if phi >= 1.0 { 0.01 } else { 0.1 };
            let wanted = if first >= 1.0 {
                MIN_MOVES
            } else if first <= 0.0 {
                MAX_MOVES
            } else {
                (miss.ln() / (1.0 - first).ln()).ceil() as usize
            }
            .clamp(MIN_MOVES, MAX_MOVES);
            (first, wanted)
        };
        let mut acc = first;
        for m in 1..wanted {
            acc += move_all(&mut ps, layout, model, (&informed, &chol), phi, &key(m));
        }
        refresh(
            &mut ps,
            layout,
            &stream::key(seed, &format!("observations.refresh.{k}")),
        );
        stages.push(Stage {
            phi,
            ess: step_ess,
            moves: wanted + extra,
            acceptance: if wanted == 0 {
                1.0
            } else {
                acc / wanted as f64
            },
        });
    }
    // Resampled particles come in ancestor order: shuffle, so that any prefix or subset is an
    // i.i.d.-like sample of the posterior (Fisher–Yates on its own stream).
    let mut rng = stream::stream(&stream::key(seed, "observations.shuffle"), 0);
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        ps.swap(i, j);
        eves.swap(i, j);
    }
    Ok((ps, stages, eves))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systematic_resampling_keeps_expected_counts() {
        let w = [0.1, 0.0, 0.6, 0.3];
        let picks = systematic(&w, 0.5);
        let count = |k| picks.iter().filter(|&&i| i == k).count();
        assert_eq!(picks.len(), 4);
        assert_eq!(count(1), 0);
        // N·w = 0.4, 0, 2.4, 1.2: systematic resampling gives floor or ceil of each.
        assert!((2..=3).contains(&count(2)));
        assert!((1..=2).contains(&count(3)));
        assert!(count(0) <= 1);
    }

    #[test]
    fn ess_of_equal_and_degenerate_weights() {
        assert!((ess(&[1.0; 10]) - 10.0).abs() < 1e-12);
        assert!((ess(&[0.0, 0.0, 3.0]) - 1.0).abs() < 1e-12);
    }
}
