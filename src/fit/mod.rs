//! `scalerisk fit`: a sweep of training runs → the coefficients of E + A/P^α + B/D^β and their
//! bootstrap draws, which a scenario then uses as `law.uncertainty = "draws"`.
//!
//! The objective is Hoffmann et al. 2022 App. D.2 (`objective`), minimised by L-BFGS (argmin)
//! from a grid of starting points ([`start_grid`]); each bootstrap refit starts from the point
//! estimate. Resample b draws its indices from the ChaCha8 stream (seed, "fit.bootstrap", b), so
//! the draws do not depend on thread count.

pub mod objective;
pub mod report;
pub mod runs;

use argmin::core::{CostFunction, Error as ArgminError, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use rand::Rng;
use rayon::prelude::*;

use crate::law::Coeffs;
use crate::sampling::stream;
use objective::{Objective, Point};
use runs::Run;

/// Coefficients fitted: E, A, B, α, β.
pub const N_COEFFS: usize = 5;

/// Most runs a fit reads.
pub const MAX_RUNS: usize = 100_000;
/// Most bootstrap refits.
pub const MAX_BOOTSTRAP: usize = 100_000;
/// Most work a fit may ask for, in runs × (starting points + bootstrap refits): about five
/// minutes on 2 cores (240 runs × 5500 take 8 s).
pub const MAX_WORK: f64 = 5e7;
/// L-BFGS iterations per start.
pub const MAX_ITERS: u64 = 1000;
/// Objective evaluations per start, line searches included: argmin's More-Thuente line search
/// has no iteration limit of its own, and on some data it never stops; a start that
/// spends this many is dropped as diverged.
pub const MAX_EVALS: u32 = 20_000;

/// Hoffmann's Huber δ.
pub const DEFAULT_DELTA: f64 = 1e-3;
/// The range of Huber δ `fit` takes: residuals of log loss are 1e-4 to 1 on real runs.
pub const MIN_DELTA: f64 = 1e-6;
pub const MAX_DELTA: f64 = 10.0;

/// One fit: the coefficients and the objective at them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fitted {
    pub e: f64,
    pub a: f64,
    pub b: f64,
    pub alpha: f64,
    pub beta: f64,
    /// Sum of Huber losses at the optimum.
    pub objective: f64,
}

impl Fitted {
    fn from_theta(t: &[f64], objective: f64) -> Fitted {
        Fitted {
            a: t[0].exp(),
            b: t[1].exp(),
            e: t[2].exp(),
            alpha: t[3],
            beta: t[4],
            objective,
        }
    }

    fn theta(&self) -> Vec<f64> {
        vec![self.a.ln(), self.b.ln(), self.e.ln(), self.alpha, self.beta]
    }

    /// (E, A, B, α, β), the column order of a draws CSV.
    pub fn row(&self) -> [f64; 5] {
        [self.e, self.a, self.b, self.alpha, self.beta]
    }

    /// As law coefficients (the additive form's terms only).
    pub fn coeffs(&self) -> Coeffs {
        Coeffs {
            e: self.e,
            a: self.a,
            b: self.b,
            alpha: self.alpha,
            beta: self.beta,
            ..Coeffs::default()
        }
    }

    /// Why these coefficients are outside the law's domain (what `run` accepts in a draws
    /// file), or None when they are inside it.
    pub fn out_of_domain(&self) -> Option<String> {
        let max = crate::scenario::MAX_TERM;
        for (name, v) in [("E", self.e), ("A", self.a), ("B", self.b)] {
            if !(v.is_finite() && v >= 0.0 && v <= max) {
                return Some(format!("{name} = {v:e} (must be in [0, {max:e}])"));
            }
        }
        for (name, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v.is_finite() && v > 0.0) {
                return Some(format!("{name} = {v} (must be > 0)"));
            }
        }
        (self.a <= 0.0 || self.b <= 0.0).then(|| "A or B = 0 (must be > 0)".to_string())
    }

    /// The compute-optimal exponent a = β/(α+β) of P_opt ∝ C^a.
    pub fn exponent_a(&self) -> f64 {
        self.beta / (self.alpha + self.beta)
    }
}

/// Hoffmann's grid of starting points (App. D.2): α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1},
/// a, b ∈ {0, 5, …, 25}: 5·5·5·6·6 = 4500 starts of θ = (a, b, e, α, β).
pub fn start_grid() -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(4500);
    for a in (0..6).map(|i| 5.0 * f64::from(i)) {
        for b in (0..6).map(|i| 5.0 * f64::from(i)) {
            for e in (0..5).map(|i| -1.0 + 0.5 * f64::from(i)) {
                for alpha in (0..5).map(|i| 0.5 * f64::from(i)) {
                    for beta in (0..5).map(|i| 0.5 * f64::from(i)) {
                        out.push(vec![a, b, e, alpha, beta]);
                    }
                }
            }
        }
    }
    out
}

/// The objective with a budget of evaluations: past it, an error ends the start.
struct Bounded<'a> {
    f: Objective<'a>,
    left: std::cell::Cell<u32>,
}

impl Bounded<'_> {
    fn spend(&self) -> Result<(), ArgminError> {
        let left = self.left.get();
        if left == 0 {
            return Err(ArgminError::msg("evaluation budget spent"));
        }
        self.left.set(left - 1);
        Ok(())
    }
}

impl CostFunction for Bounded<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, t: &Vec<f64>) -> Result<f64, ArgminError> {
        self.spend()?;
        self.f.cost(t)
    }
}

impl Gradient for Bounded<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, t: &Vec<f64>) -> Result<Vec<f64>, ArgminError> {
        self.spend()?;
        self.f.gradient(t)
    }
}

/// L-BFGS from `start`: the best θ it reached and the objective there (None if it diverged or
/// spent [`MAX_EVALS`]).
fn minimize(f: &Objective, start: Vec<f64>) -> Option<(Vec<f64>, f64)> {
    let linesearch = MoreThuenteLineSearch::new();
    let solver = LBFGS::new(linesearch, 10)
        .with_tolerance_grad(1e-12)
        .ok()?
        .with_tolerance_cost(1e-15)
        .ok()?;
    let bounded = Bounded {
        f: *f,
        left: std::cell::Cell::new(MAX_EVALS),
    };
    let res = Executor::new(bounded, solver)
        .configure(|s| s.param(start).max_iters(MAX_ITERS))
        .run()
        .ok()?;
    let state = res.state();
    let t = state.get_best_param()?.clone();
    let v = state.get_best_cost();
    (v.is_finite() && t.iter().all(|x| x.is_finite())).then_some((t, v))
}

/// The best of the L-BFGS runs from `starts`.
fn best_of(points: &[Point], delta: f64, starts: Vec<Vec<f64>>) -> Option<Fitted> {
    let f = Objective { points, delta };
    starts
        .into_par_iter()
        .filter_map(|s| minimize(&f, s))
        .min_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(t, v)| Fitted::from_theta(&t, v))
}

/// The point estimate: the best fit over [`start_grid`].
pub fn fit(runs: &[Run], delta: f64) -> Option<Fitted> {
    fit_from(runs, delta, start_grid())
}

/// The best fit from the given starts θ = (a, b, e, α, β) (for coarser grids than Hoffmann's).
pub fn fit_from(runs: &[Run], delta: f64, starts: Vec<Vec<f64>>) -> Option<Fitted> {
    let points: Vec<Point> = runs.iter().map(Point::from).collect();
    best_of(&points, delta, starts)
}

/// `n` bootstrap refits (resampling runs with replacement), each started from `point`.
pub fn bootstrap(runs: &[Run], delta: f64, point: &Fitted, n: usize, seed: u64) -> Vec<Fitted> {
    let key = stream::key(seed, "fit.bootstrap");
    let all: Vec<Point> = runs.iter().map(Point::from).collect();
    (0..n)
        .into_par_iter()
        .filter_map(|b| {
            let mut rng = stream::stream(&key, b as u64);
            let sample: Vec<Point> = (0..all.len())
                .map(|_| all[rng.random_range(0..all.len())])
                .collect();
            let f = Objective {
                points: &sample,
                delta,
            };
            minimize(&f, point.theta()).map(|(t, v)| Fitted::from_theta(&t, v))
        })
        .collect()
}

/// Point estimate, bootstrap standard error and 95% percentile interval of one quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub point: f64,
    pub se: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// `values` are the bootstrap replicates of the quantity whose estimate is `point`.
    pub fn of(point: f64, values: &[f64]) -> Interval {
        let mut v = values.to_vec();
        let (_, sd) = crate::stats::mean_sd(&v);
        let (lo, hi) = crate::stats::percentile_interval(&mut v, crate::stats::INTERVAL_95);
        Interval {
            point,
            se: sd,
            lo,
            hi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A start whose objective is NaN everywhere (one run with a NaN log loss): argmin's
    /// More-Thuente line search has no iteration limit and never meets its conditions on NaN,
    /// so without [`MAX_EVALS`] this start never returns.
    #[test]
    fn a_start_on_a_nan_objective_ends() {
        let points = [
            Point {
                ln_p: 20.0,
                ln_d: 23.0,
                ln_l: f64::NAN,
            },
            Point {
                ln_p: 21.0,
                ln_d: 24.0,
                ln_l: 0.5,
            },
        ];
        let f = Objective {
            points: &points,
            delta: DEFAULT_DELTA,
        };
        let t = std::time::Instant::now();
        assert!(minimize(&f, vec![6.0, 7.0, 0.5, 0.3, 0.3]).is_none());
        assert!(t.elapsed().as_secs() < 30, "{:?}", t.elapsed());
    }
}
