//! Every continuous input of a draw as a standard normal latent (docs/MODEL.md §8): a scalar
//! distribution through z = Φ⁻¹(F(x)) and x = F⁻¹(Φ(z)), the law's joint normal through its
//! Cholesky factor. The prior of the latents is N(0, I) whatever the inputs' distributions, so a
//! move step needs no density of theirs. Inputs with no such map (a column of values, bootstrap
//! rows of the law, the mixture member) stay fixed per particle and change only by resampling.

use statrs::distribution::{Beta, ContinuousCDF, Normal};

use crate::distributions::dist::Dist;
use crate::law::{Coeff, Coord};
use crate::sampling::Draw;
use crate::scenario::{Scenario, Schedule, Uncertainty};

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("standard normal")
}

/// Latents are kept inside ±`Z_MAX`: beyond it Φ rounds to 0 or 1 in f64.
const Z_MAX: f64 = 8.0;

/// F(x) of a continuous distribution (None for those without a latent: fixed, a column).
pub fn cdf(d: &Dist, x: f64) -> Option<f64> {
    let n = std_normal();
    Some(match d {
        Dist::Fixed(_) | Dist::Column { .. } => return None,
        Dist::Uniform { low, high } => (x - low) / (high - low),
        Dist::Normal { mean, sd, min, max } => {
            let lo = min.map_or(0.0, |m| n.cdf((m - mean) / sd));
            let hi = max.map_or(1.0, |m| n.cdf((m - mean) / sd));
            (n.cdf((x - mean) / sd) - lo) / (hi - lo)
        }
        Dist::LogNormal { median, sigma } => n.cdf((x / median).ln() / sigma),
        Dist::Triangular { low, mode, high } => {
            let w = high - low;
            if x <= *mode {
                (x - low).powi(2) / (w * (mode - low))
            } else {
                1.0 - (high - x).powi(2) / (w * (high - mode))
            }
        }
        Dist::Pert { low, mode, high } => {
            let w = high - low;
            let a = 1.0 + 4.0 * (mode - low) / w;
            let b = 1.0 + 4.0 * (high - mode) / w;
            Beta::new(a, b)
                .expect("validated PERT shape")
                .cdf((x - low) / w)
        }
    })
}

/// z = Φ⁻¹(F(x)), kept inside ±Z_MAX.
fn to_latent(d: &Dist, x: f64) -> f64 {
    let u = cdf(d, x).expect("only continuous inputs have latents");
    std_normal()
        .inverse_cdf(u.clamp(1e-15, 1.0 - 1e-15))
        .clamp(-Z_MAX, Z_MAX)
}

/// x = F⁻¹(Φ(z)).
fn from_latent(d: &Dist, z: f64) -> f64 {
    d.quantile(std_normal().cdf(z).clamp(1e-15, 1.0 - 1e-15))
}

/// Which scalar input a latent slot drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Coefficient(Coeff),
    Mfu,
    Goodput,
    Unique,
    /// The curve model's anneal level g, `training.anneal_gain` (docs/MODEL.md §2, §8); under
    /// cosine the draw's `anneal` is the schedule's scaling of it.
    Gap,
}

/// The joint normal of one mixture member over the coordinates it draws (those not overridden
/// by a coefficient's own distribution): mean, Cholesky factor.
#[derive(Debug, Clone)]
struct Group {
    names: Vec<Coord>,
    mean: Vec<f64>,
    chol: Vec<Vec<f64>>,
}

/// The latent layout of a scenario: slots 0..groups_dim drive the member's joint normal (a
/// member with fewer coordinates leaves the rest as free N(0, 1) slots that drive nothing), then
/// one slot per continuous scalar input.
#[derive(Debug, Clone)]
pub struct Layout {
    groups: Vec<Option<Group>>,
    groups_dim: usize,
    scalars: Vec<(Scalar, Dist)>,
    /// `Training::anneal(1)`: the draw's anneal per unit of g (0 under wsd).
    anneal_scale: f64,
    /// Per latent: whether the likelihood depends on it. The others are drawn afresh from
    /// their N(0, 1) prior in a move (exact, always accepted), so the random walk runs only in
    /// the dimensions the data inform.
    informed: Vec<bool>,
    budget: crate::scenario::Budget,
}

/// The prior of the curve model's anneal level g: lognormal around the calibration on Luo et
/// al.'s curves (docs/MODEL.md §8), the default of `training.anneal_gain`.
pub fn gap_prior() -> Dist {
    crate::scenario::anneal_gain_default()
}

impl Layout {
    /// `losses`: loss rows inform the law, the anneal level g and limited data; `mfu`,
    /// `goodput`: those inputs are measured.
    pub fn new(s: &Scenario, losses: bool, mfu: bool, goodput: bool) -> Layout {
        let with_gap = losses;
        let members = s.law.mixture.len().max(1);
        let groups: Vec<Option<Group>> = (0..members)
            .map(|m| {
                let law = s.law.member(m);
                let Uncertainty::Mvn(mvn) = &law.uncertainty else {
                    return None;
                };
                let keep: Vec<usize> = (0..mvn.names.len())
                    .filter(|&i| !law.is_overridden(mvn.names[i].coeff))
                    .collect();
                if keep.is_empty() {
                    return None;
                }
                let chol = if keep.len() == mvn.names.len() {
                    mvn.chol.clone()
                } else {
                    let cov: Vec<Vec<f64>> = keep
                        .iter()
                        .map(|&i| keep.iter().map(|&j| mvn.cov[i][j]).collect())
                        .collect();
                    crate::distributions::mvn::cholesky(&cov, "law.mvn")
                        .expect("a principal submatrix of a factored covariance")
                        .0
                };
                Some(Group {
                    names: keep.iter().map(|&i| mvn.names[i]).collect(),
                    mean: keep.iter().map(|&i| mvn.mean[i]).collect(),
                    chol,
                })
            })
            .collect();
        let groups_dim = groups
            .iter()
            .map(|g| g.as_ref().map_or(0, |g| g.names.len()))
            .max()
            .unwrap_or(0);
        let mut scalars = Vec::new();
        let continuous = |d: &Dist| cdf(d, d.point()).is_some();
        for c in &s.law.coefficients {
            if c.overridden && continuous(&c.dist) {
                scalars.push((Scalar::Coefficient(c.coeff), c.dist.clone()));
            }
        }
        if continuous(&s.budget.mfu) {
            scalars.push((Scalar::Mfu, s.budget.mfu.clone()));
        }
        if continuous(&s.budget.goodput) {
            scalars.push((Scalar::Goodput, s.budget.goodput.clone()));
        }
        if let Some(u) = &s.data.unique_tokens {
            if continuous(u) {
                scalars.push((Scalar::Unique, u.clone()));
            }
        }
        // One input for the curve's level and the engine's cut-run penalty: what the loss rows
        // say about the anneal is what a cosine plan pays for missing it.
        let cosine = s.training.schedule == Schedule::Cosine;
        if (with_gap || cosine) && continuous(&s.training.anneal_gain) {
            scalars.push((Scalar::Gap, s.training.anneal_gain.clone()));
        }
        let informed = (0..groups_dim)
            .map(|_| losses)
            .chain(scalars.iter().map(|(which, _)| match which {
                Scalar::Coefficient(_) | Scalar::Unique | Scalar::Gap => losses,
                Scalar::Mfu => mfu,
                Scalar::Goodput => goodput,
            }))
            .collect();
        Layout {
            groups,
            groups_dim,
            scalars,
            informed,
            anneal_scale: s.training.anneal(1.0),
            budget: s.budget.clone(),
        }
    }

    /// Number of latent dimensions.
    pub fn dim(&self) -> usize {
        self.groups_dim + self.scalars.len()
    }

    /// The latent dimensions the likelihood depends on.
    pub fn informed(&self) -> Vec<usize> {
        (0..self.dim()).filter(|&k| self.informed[k]).collect()
    }

    /// The latent dimensions it does not depend on.
    pub fn uninformed(&self) -> Vec<usize> {
        (0..self.dim()).filter(|&k| !self.informed[k]).collect()
    }

    /// The latents of a prior draw and its anneal level g. The free slots of a member with
    /// fewer joint coordinates take `free` (independent N(0, 1) values: they start at their
    /// prior).
    pub fn latents(&self, d: &Draw, g: f64, free: &[f64]) -> Vec<f64> {
        let mut z = vec![0.0; self.dim()];
        z[..self.groups_dim].copy_from_slice(&free[..self.groups_dim]);
        if let Some(grp) = &self.groups[d.member as usize] {
            // Forward substitution: L z = x − μ.
            for i in 0..grp.names.len() {
                let x = grp.names[i].get(&d.coeffs) - grp.mean[i];
                let acc: f64 = (0..i).map(|k| grp.chol[i][k] * z[k]).sum();
                z[i] = (x - acc) / grp.chol[i][i];
            }
        }
        for (k, (which, dist)) in self.scalars.iter().enumerate() {
            let x = match which {
                Scalar::Coefficient(c) => c.get(&d.coeffs),
                Scalar::Mfu => d.mfu,
                Scalar::Goodput => d.goodput,
                Scalar::Unique => d.unique_tokens,
                Scalar::Gap => g,
            };
            z[self.groups_dim + k] = to_latent(dist, x);
        }
        z
    }

    /// The draw and anneal level g that latents `z` give, the particle's fixed inputs (member,
    /// columns, bootstrap rows) taken from `base`.
    pub fn draw(&self, base: &Draw, base_g: f64, z: &[f64]) -> (Draw, f64) {
        let mut d = *base;
        let mut g = base_g;
        if let Some(grp) = &self.groups[d.member as usize] {
            let n = grp.names.len();
            let x = crate::distributions::mvn::transform(&grp.mean, &grp.chol, &z[..n]);
            for (coord, v) in grp.names.iter().zip(x) {
                coord.set(&mut d.coeffs, v);
            }
        }
        for (k, (which, dist)) in self.scalars.iter().enumerate() {
            let x = from_latent(dist, z[self.groups_dim + k]);
            match which {
                Scalar::Coefficient(c) => c.set(&mut d.coeffs, x),
                Scalar::Mfu => d.mfu = x,
                Scalar::Goodput => d.goodput = x,
                Scalar::Unique => d.unique_tokens = x,
                Scalar::Gap => {
                    g = x;
                    d.anneal = x * self.anneal_scale;
                }
            }
        }
        d.throughput = self.budget.throughput(d.mfu, d.goodput);
        (d, g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latents_round_trip_through_every_continuous_distribution() {
        let dists = [
            Dist::Uniform {
                low: 0.3,
                high: 0.5,
            },
            Dist::Normal {
                mean: 1.0,
                sd: 0.2,
                min: Some(0.9),
                max: Some(1.5),
            },
            Dist::LogNormal {
                median: 3.0,
                sigma: 0.4,
            },
            Dist::Triangular {
                low: 0.0,
                mode: 1.0,
                high: 4.0,
            },
            Dist::Pert {
                low: 0.2,
                mode: 0.35,
                high: 0.6,
            },
        ];
        for d in &dists {
            for u in [0.01, 0.2, 0.5, 0.77, 0.99] {
                let x = d.quantile(u);
                // F(F⁻¹(u)) = u: the CDF here is the inverse of the quantile the sampler uses.
                let back = cdf(d, x).unwrap();
                assert!((back - u).abs() < 1e-7, "{d:?} at {u}: {back}");
                let z = to_latent(d, x);
                assert!(
                    (from_latent(d, z) - x).abs() < 1e-7 * x.abs().max(1.0),
                    "{d:?} {u}"
                );
            }
        }
        assert!(cdf(&Dist::Fixed(1.0), 1.0).is_none());
    }
}
