//! Conditioning the draws on what was measured (docs/MODEL.md §8): the stage between sampling
//! and the backends when a scenario has `[observations]`.
//!
//! `likelihood` is the observation model (the loss-curve model of `crate::curve`, a per-run
//! discrepancy, noise; measured MFU and goodput), `latent` maps every continuous input to a
//! standard normal so that moves need no density, `smc` tempers the prior draws into posterior
//! draws. What comes out is a sample of equally weighted draws in random order, as many as went
//! in, so every later stage (backends, aggregation, exports) describes the posterior with no
//! second path.

pub mod checks;
pub mod latent;
pub mod likelihood;
pub mod smc;

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::sampling::{stream, Draw};
use crate::scenario::Scenario;
use latent::Layout;
use likelihood::Model;
use smc::{Particle, Stage};

/// Per observed run: what the model predicts for the loss at its planned end, before and after
/// conditioning (observed.csv, docs/OUTPUTS.md).
#[derive(Debug, Clone, Serialize)]
pub struct ObservedRun {
    pub run: String,
    pub params: f64,
    pub planned_tokens: f64,
    /// Rows in the file, and rows the likelihood used (thinned, past `observations.first`).
    pub rows: usize,
    pub rows_used: usize,
    pub last_tokens: f64,
    pub last_loss: f64,
    /// σ of one loss, nats, and whether it was estimated from the run's scatter.
    pub noise: f64,
    pub noise_estimated: bool,
    pub prior_mean: f64,
    pub prior_p05: f64,
    pub prior_p95: f64,
    pub mean: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    /// The smallest effective sample size of the tempering steps.
    pub ess: f64,
}

/// The conditioned sample and how it was reached.
#[derive(Debug, Clone)]
pub struct Posterior {
    pub draws: Vec<Draw>,
    /// Each draw's anneal level g of the curve model (nats at 10⁸ parameters).
    pub gaps: Vec<f64>,
    pub stages: Vec<Stage>,
    pub runs: Vec<ObservedRun>,
    /// What a user should check before trusting the posterior: a run that informs nothing, a
    /// collapse of the sample, a measurement the posterior could not honour (report, run.json).
    pub warnings: Vec<String>,
    /// Each draw's Eve: the prior draw it descends from through the resamplings.
    pub eves: Vec<u32>,
}

impl Posterior {
    /// The mean of `v` (one value per draw) and its standard error. Draws that descend from
    /// the same prior draw are correlated (the moves after each resampling do not separate
    /// siblings fully), those of different Eves close to independent, so the variance of the
    /// mean is Σ over Eves of (Σ (v − mean))² / N² (Chan & Lai 2013's estimator, Lee & Whiteley
    /// 2018), times G/(G − 1) for G Eves (judgement: the usual few-cluster correction). With
    /// every draw its own Eve it is the independent draws' se².
    pub fn mean_se(&self, v: &[f64]) -> (f64, f64) {
        let n = v.len();
        assert_eq!(n, self.eves.len(), "one value per draw");
        let mean = v.iter().sum::<f64>() / n as f64;
        let mut sums = vec![0.0; n];
        let mut seen = vec![false; n];
        for (&e, x) in self.eves.iter().zip(v) {
            sums[e as usize] += x - mean;
            seen[e as usize] = true;
        }
        let g = seen.iter().filter(|&&s| s).count() as f64;
        let ss: f64 = sums.iter().map(|s| s * s).sum();
        let var = ss / (n as f64 * n as f64) * if g > 1.0 { g / (g - 1.0) } else { 1.0 };
        (mean, var.sqrt())
    }

    /// How many prior draws the posterior draws descend from.
    pub fn eve_count(&self) -> usize {
        let mut e = self.eves.clone();
        e.sort_unstable();
        e.dedup();
        e.len()
    }

    /// The smallest effective sample size of the tempering steps (the number of draws when no
    /// step was needed).
    pub fn min_ess(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| s.ess)
            .fold(self.draws.len() as f64, f64::min)
    }
}

/// The prior particles: each prior draw with its anneal level g (under cosine the level its
/// `anneal` was drawn from, else from g's own stream), and the free latent slots from theirs.
fn particles(s: &Scenario, prior: Vec<Draw>, layout: &Layout, model: &Model) -> Vec<Particle> {
    let seed = s.sampling.seed;
    let (kg, kf) = (
        stream::key(seed, "observations.gap"),
        stream::key(seed, "observations.free"),
    );
    let gap = &s.training.anneal_gain;
    let per_level = s.training.anneal(1.0);
    prior
        .into_par_iter()
        .enumerate()
        .map(|(i, draw)| {
            let g = if per_level > 0.0 {
                draw.anneal / per_level
            } else {
                let zg: f64 = StandardNormal.sample(&mut stream::stream(&kg, i as u64));
                gap.quantile(statrs_cdf(zg))
            };
            let mut rf = stream::stream(&kf, i as u64);
            let free: Vec<f64> = (0..layout.dim())
                .map(|_| StandardNormal.sample(&mut rf))
                .collect();
            let z = layout.latents(&draw, g, &free);
            let ll = model.log_likelihood(&draw, g);
            Particle { draw, g, z, ll }
        })
        .collect()
}

fn statrs_cdf(z: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::new(0.0, 1.0).expect("standard normal").cdf(z)
}

/// The loss each particle predicts at a run's planned end: the curve model, the run's offset
/// given its rows, and one loss's noise (what a logged loss there would read).
fn predict(run: &likelihood::RunModel, model: &Model, ps: &[Particle], key: &[u8; 32]) -> Vec<f64> {
    ps.par_iter()
        .enumerate()
        .map(|(i, p)| {
            let shape = model.shape(&p.draw);
            let (m, sd) = run.offset(shape, &p.draw, p.g);
            let mut rng = stream::stream(key, i as u64);
            let (a, b): (f64, f64) = (
                StandardNormal.sample(&mut rng),
                StandardNormal.sample(&mut rng),
            );
            run.expected(shape, &p.draw, p.g, &run.end) + m + sd * a + run.noise * b
        })
        .collect()
}

fn band(mut v: Vec<f64>) -> (f64, f64, f64, f64) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let q = |v: &mut [f64], p| crate::stats::quantile(v, p);
    (mean, q(&mut v, 0.05), q(&mut v, 0.5), q(&mut v, 0.95))
}

/// Condition `prior` (the scenario's draws) on the scenario's observations. Deterministic in
/// the scenario's seed, whatever the thread count.
pub fn condition(s: &Scenario, prior: Vec<Draw>) -> Result<Posterior> {
    let o = s
        .observations
        .as_ref()
        .expect("condition is called for scenarios with observations");
    let model = Model::new(s, o);
    let live = o.live.is_some();
    let layout = Layout::new(
        s,
        model.has_losses(),
        o.mfu.is_some() || live,
        o.goodput.is_some() || live,
    );
    let seed = s.sampling.seed;
    let start = particles(s, prior, &layout, &model);
    let prior_key = stream::key(seed, "observations.predict.prior");
    let prior_bands: Vec<_> = model
        .runs
        .iter()
        .map(|r| band(predict(r, &model, &start, &prior_key)))
        .collect();
    let surprises = checks::prior_surprises(&model, &start);
    let (ps, stages, eves) = smc::run(start, &layout, &model, seed)?;
    let key = stream::key(seed, "observations.predict");
    let min_ess = stages.iter().map(|s| s.ess).fold(ps.len() as f64, f64::min);
    let runs = model
        .runs
        .iter()
        .zip(prior_bands)
        .map(|(r, prior)| {
            let (mean, p05, p50, p95) = band(predict(r, &model, &ps, &key));
            ObservedRun {
                run: r.name.clone(),
                params: r.params,
                planned_tokens: r.end.tokens,
                rows: r.rows,
                rows_used: r.points.len(),
                last_tokens: r.last.0,
                last_loss: r.last.1,
                noise: r.noise,
                noise_estimated: r.noise_estimated,
                prior_mean: prior.0,
                prior_p05: prior.1,
                prior_p95: prior.3,
                mean,
                p05,
                p50,
                p95,
                ess: min_ess,
            }
        })
        .collect();
    let mut post = Posterior {
        gaps: ps.iter().map(|p| p.g).collect(),
        draws: ps.into_iter().map(|p| p.draw).collect(),
        stages,
        runs,
        warnings: surprises,
        eves,
    };
    let after = checks::after(o, &model, &post);
    post.warnings.extend(after);
    Ok(post)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posterior(eves: Vec<u32>) -> Posterior {
        Posterior {
            draws: Vec::new(),
            gaps: Vec::new(),
            stages: Vec::new(),
            runs: Vec::new(),
            warnings: Vec::new(),
            eves,
        }
    }

    /// With every draw its own Eve the clustered standard error is the independent draws'
    /// sd/√N; with every value drawn twice from one Eve it is that of the distinct values
    /// (the copies add nothing), √2 larger than counting the copies as independent.
    #[test]
    fn standard_errors_cluster_by_eve() {
        let v: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64 / 10.0).collect();
        let (m, sd) = crate::stats::mean_sd(&v);
        let (mean, se) = posterior((0..200).collect()).mean_se(&v);
        assert!((mean - m).abs() < 1e-12);
        assert!((se - sd / 200f64.sqrt()).abs() < 1e-12 * se, "{se}");
        let twice: Vec<f64> = v.iter().flat_map(|&x| [x, x]).collect();
        let eves: Vec<u32> = (0..200).flat_map(|i| [i, i]).collect();
        let (_, clustered) = posterior(eves).mean_se(&twice);
        assert!((clustered - se).abs() < 1e-12 * se, "{clustered} vs {se}");
        let (_, naive) = posterior((0..400).collect()).mean_se(&twice);
        assert!(
            (clustered / naive - 2f64.sqrt()).abs() < 0.01,
            "{clustered} / {naive}"
        );
    }
}
