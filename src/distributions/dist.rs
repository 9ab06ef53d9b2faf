//! Distributions of one uncertain scalar input (docs/MODEL.md §4) and how one value is drawn.

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal, Pert, Triangular};
use serde::Serialize;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Most rejection tries a truncated normal may take for one value before it is refused.
const MAX_TRUNCATION_TRIES: usize = 100_000;

/// One scalar input: a fixed value or a distribution to draw from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dist {
    Fixed(f64),
    Uniform {
        low: f64,
        high: f64,
    },
    /// Normal, optionally truncated to [min, max] (by rejection).
    Normal {
        mean: f64,
        sd: f64,
        min: Option<f64>,
        max: Option<f64>,
    },
    LogNormal {
        median: f64,
        sigma: f64,
    },
    Triangular {
        low: f64,
        mode: f64,
        high: f64,
    },
    Pert {
        low: f64,
        mode: f64,
        high: f64,
    },
    /// Rows of a CSV column, resampled uniformly with replacement.
    Column {
        file: String,
        column: String,
        #[serde(skip)]
        values: Arc<Vec<f64>>,
    },
}

impl Dist {
    /// True for a fixed value (no randomness, no stream used).
    pub fn is_fixed(&self) -> bool {
        matches!(self, Dist::Fixed(_))
    }

    /// The value used when every input sits at its point estimate: the fixed value, the mean of
    /// a uniform or normal, the median of a lognormal, the mode of a triangular or PERT, the
    /// mean of a CSV column.
    pub fn point(&self) -> f64 {
        match self {
            Dist::Fixed(x) => *x,
            Dist::Uniform { low, high } => 0.5 * (low + high),
            Dist::Normal { mean, min, max, .. } => {
                mean.clamp(min.unwrap_or(f64::MIN), max.unwrap_or(f64::MAX))
            }
            Dist::LogNormal { median, .. } => *median,
            Dist::Triangular { mode, .. } | Dist::Pert { mode, .. } => *mode,
            Dist::Column { values, .. } => values.iter().sum::<f64>() / values.len() as f64,
        }
    }

    /// The range draws can reach: exact for bounded kinds; an untruncated normal side ends at
    /// 8 standard deviations from the mean and a lognormal at exp(±8σ) times its median (a draw
    /// beyond has probability about 1e-15), so that validation can refuse distributions whose
    /// draws would leave an input's domain before any work starts.
    pub fn support(&self) -> (f64, f64) {
        const TAIL: f64 = 8.0;
        match self {
            Dist::Fixed(x) => (*x, *x),
            Dist::Uniform { low, high }
            | Dist::Triangular { low, high, .. }
            | Dist::Pert { low, high, .. } => (*low, *high),
            Dist::Normal { mean, sd, min, max } => (
                min.unwrap_or(mean - TAIL * sd),
                max.unwrap_or(mean + TAIL * sd),
            ),
            Dist::LogNormal { median, sigma } => (
                median * (-TAIL * sigma).exp(),
                median * (TAIL * sigma).exp(),
            ),
            Dist::Column { values, .. } => values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                }),
        }
    }

    /// Draw one value from `rng` (the stream of one input and one draw, see `sampling::stream`).
    /// `field` names the input in errors.
    pub fn sample<R: Rng>(&self, rng: &mut R, field: &str) -> Result<f64> {
        let bad =
            |e: &dyn std::fmt::Display| Error::input(field, format!("invalid distribution: {e}"));
        Ok(match self {
            Dist::Fixed(x) => *x,
            Dist::Uniform { low, high } => low + (high - low) * rng.random::<f64>(),
            Dist::Normal { mean, sd, min, max } => {
                let n = Normal::new(*mean, *sd).map_err(|e| bad(&e))?;
                let (lo, hi) = (
                    min.unwrap_or(f64::NEG_INFINITY),
                    max.unwrap_or(f64::INFINITY),
                );
                let mut tries = 0;
                loop {
                    let x = n.sample(rng);
                    if x >= lo && x <= hi {
                        break x;
                    }
                    tries += 1;
                    if tries == MAX_TRUNCATION_TRIES {
                        return Err(Error::input(
                            field,
                            format!("normal({mean}, {sd}) truncated to [{lo}, {hi}] holds almost no mass; widen min/max or move the mean"),
                        ));
                    }
                }
            }
            Dist::LogNormal { median, sigma } => LogNormal::new(median.ln(), *sigma)
                .map_err(|e| bad(&e))?
                .sample(rng),
            Dist::Triangular { low, mode, high } => Triangular::new(*low, *high, *mode)
                .map_err(|e| bad(&e))?
                .sample(rng),
            Dist::Pert { low, mode, high } => Pert::new(*low, *high)
                .with_mode(*mode)
                .map_err(|e| bad(&e))?
                .sample(rng),
            Dist::Column { values, .. } => values[rng.random_range(0..values.len())],
        })
    }

    /// The inverse CDF at `u` in (0, 1): the value of a quasi-random draw (`sampling.method =
    /// "sobol"`). A truncated normal inverts within its bounds; PERT is rand_distr's (shape 4):
    /// low + (high − low)·Beta⁻¹(u; 1 + 4(mode − low)/(high − low), 1 + 4(high − mode)/(high − low)).
    pub fn quantile(&self, u: f64) -> f64 {
        use statrs::distribution::{Beta, ContinuousCDF, Normal as StdNormal};
        let std_normal = StdNormal::new(0.0, 1.0).expect("standard normal");
        match self {
            Dist::Fixed(x) => *x,
            Dist::Uniform { low, high } => low + (high - low) * u,
            Dist::Normal { mean, sd, min, max } => {
                let lo = min.map_or(0.0, |m| std_normal.cdf((m - mean) / sd));
                let hi = max.map_or(1.0, |m| std_normal.cdf((m - mean) / sd));
                let x = mean + sd * std_normal.inverse_cdf(lo + u * (hi - lo));
                x.clamp(
                    min.unwrap_or(f64::NEG_INFINITY),
                    max.unwrap_or(f64::INFINITY),
                )
            }
            Dist::LogNormal { median, sigma } => median * (sigma * std_normal.inverse_cdf(u)).exp(),
            Dist::Triangular { low, mode, high } => {
                let w = high - low;
                if u < (mode - low) / w {
                    low + (u * w * (mode - low)).sqrt()
                } else {
                    high - ((1.0 - u) * w * (high - mode)).sqrt()
                }
            }
            Dist::Pert { low, mode, high } => {
                let w = high - low;
                let a = 1.0 + 4.0 * (mode - low) / w;
                let b = 1.0 + 4.0 * (high - mode) / w;
                low + w * Beta::new(a, b)
                    .expect("validated PERT shape")
                    .inverse_cdf(u)
            }
            Dist::Column { values, .. } => {
                values[((u * values.len() as f64) as usize).min(values.len() - 1)]
            }
        }
    }

    /// The log density at `x` of a prior that has one (−∞ outside its support), for a move step
    /// of a posterior sampler; None for a fixed value (a point mass) and a CSV column (an
    /// empirical distribution on its rows): those have no density, and the rule for them is
    /// docs/MODEL.md's (they change only by resampling). A truncated normal is renormalised to
    /// its bounds; PERT is the Beta of [`quantile`](Self::quantile) on [low, high].
    pub fn ln_pdf(&self, x: f64) -> Option<f64> {
        use statrs::distribution::{Beta, Continuous, ContinuousCDF, Normal as StdNormal};
        let std_normal = StdNormal::new(0.0, 1.0).expect("standard normal");
        let inside = |lo: f64, hi: f64, v: f64| {
            if (lo..=hi).contains(&x) {
                v
            } else {
                f64::NEG_INFINITY
            }
        };
        Some(match self {
            Dist::Fixed(_) | Dist::Column { .. } => return None,
            Dist::Uniform { low, high } => inside(*low, *high, -(high - low).ln()),
            Dist::Normal { mean, sd, min, max } => {
                let z = |v: f64| (v - mean) / sd;
                let mass = max.map_or(1.0, |m| std_normal.cdf(z(m)))
                    - min.map_or(0.0, |m| std_normal.cdf(z(m)));
                inside(
                    min.unwrap_or(f64::NEG_INFINITY),
                    max.unwrap_or(f64::INFINITY),
                    std_normal.ln_pdf(z(x)) - sd.ln() - mass.ln(),
                )
            }
            Dist::LogNormal { median, sigma } => {
                if x > 0.0 {
                    std_normal.ln_pdf((x / median).ln() / sigma) - sigma.ln() - x.ln()
                } else {
                    f64::NEG_INFINITY
                }
            }
            Dist::Triangular { low, mode, high } => {
                let w = high - low;
                let p = if x < *mode {
                    2.0 * (x - low) / (w * (mode - low))
                } else if x > *mode {
                    2.0 * (high - x) / (w * (high - mode))
                } else {
                    2.0 / w
                };
                inside(*low, *high, p.ln())
            }
            Dist::Pert { low, mode, high } => {
                let w = high - low;
                let a = 1.0 + 4.0 * (mode - low) / w;
                let b = 1.0 + 4.0 * (high - mode) / w;
                let beta = Beta::new(a, b).expect("validated PERT shape");
                inside(*low, *high, beta.ln_pdf((x - low) / w) - w.ln())
            }
        })
    }

    /// A short human description, e.g. `uniform 0.3–0.5`.
    pub fn describe(&self) -> String {
        match self {
            Dist::Fixed(x) => format!("{x}"),
            Dist::Uniform { low, high } => format!("{low}–{high}"),
            Dist::Normal { mean, sd, .. } => format!("N({mean}, {sd})"),
            Dist::LogNormal { median, sigma } => format!("lognormal({median}, {sigma})"),
            Dist::Triangular { low, mode, high } => format!("tri({low}, {mode}, {high})"),
            Dist::Pert { low, mode, high } => format!("pert({low}, {mode}, {high})"),
            Dist::Column { file, column, .. } => format!("{file}:{column}"),
        }
    }
}

#[cfg(test)]
mod ln_pdf_tests {
    use super::Dist;

    /// Closed forms by hand.
    #[test]
    fn log_densities_match_closed_forms() {
        let close = |d: Dist, x: f64, want: f64| {
            let got = d.ln_pdf(x).unwrap();
            assert!((got - want).abs() < 1e-12, "{d:?} at {x}: {got} vs {want}");
        };
        let ln_phi0 = -0.5 * (2.0 * std::f64::consts::PI).ln();
        close(
            Dist::Uniform {
                low: 0.0,
                high: 2.0,
            },
            1.0,
            0.5f64.ln(),
        );
        let n = |min, max| Dist::Normal {
            mean: 1.0,
            sd: 2.0,
            min,
            max,
        };
        close(n(None, None), 1.0, ln_phi0 - 2f64.ln());
        close(n(None, None), 3.0, ln_phi0 - 0.5 - 2f64.ln());
        // Half the mass kept: the density doubles.
        close(n(Some(1.0), None), 1.0, ln_phi0 - 2f64.ln() + 2f64.ln());
        // Median 1, σ 1 at x = e: φ(1)/(σ·x).
        close(
            Dist::LogNormal {
                median: 1.0,
                sigma: 1.0,
            },
            std::f64::consts::E,
            ln_phi0 - 0.5 - 1.0,
        );
        let tri = Dist::Triangular {
            low: 0.0,
            mode: 1.0,
            high: 2.0,
        };
        close(tri.clone(), 1.0, 0.0);
        close(tri.clone(), 0.5, 0.5f64.ln());
        // PERT(0, 0.5, 1) is Beta(3, 3): 30·x²·(1 − x)² = 1.875 at 0.5.
        close(
            Dist::Pert {
                low: 0.0,
                mode: 0.5,
                high: 1.0,
            },
            0.5,
            1.875f64.ln(),
        );
        assert_eq!(tri.ln_pdf(2.5), Some(f64::NEG_INFINITY));
        assert_eq!(n(Some(1.0), None).ln_pdf(0.9), Some(f64::NEG_INFINITY));
        assert_eq!(Dist::Fixed(1.0).ln_pdf(1.0), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed forms: Φ⁻¹(0.975) = 1.959963984540054; Φ⁻¹(0.75) = 0.6744897501960817 (a normal
    /// truncated at its mean, at u = 0.5); triangular(0, 1, 2) has F(0.5) = 0.125; symmetric
    /// distributions have their median at the mode; a lognormal's median is its median.
    #[test]
    fn quantiles_match_closed_forms() {
        let n = Dist::Normal {
            mean: 1.0,
            sd: 2.0,
            min: None,
            max: None,
        };
        assert!((n.quantile(0.975) - (1.0 + 2.0 * 1.959_963_984_540_054)).abs() < 1e-9);
        let half = Dist::Normal {
            mean: 0.0,
            sd: 1.0,
            min: Some(0.0),
            max: None,
        };
        assert!((half.quantile(0.5) - 0.674_489_750_196_081_7).abs() < 1e-9);
        let tri = Dist::Triangular {
            low: 0.0,
            mode: 1.0,
            high: 2.0,
        };
        assert!((tri.quantile(0.125) - 0.5).abs() < 1e-12);
        assert!((tri.quantile(0.5) - 1.0).abs() < 1e-12);
        assert!((tri.quantile(0.875) - 1.5).abs() < 1e-12);
        let pert = Dist::Pert {
            low: 0.0,
            mode: 1.0,
            high: 2.0,
        };
        assert!((pert.quantile(0.5) - 1.0).abs() < 1e-9);
        let ln = Dist::LogNormal {
            median: 3.0,
            sigma: 0.4,
        };
        assert!((ln.quantile(0.5) - 3.0).abs() < 1e-12);
        let u = Dist::Uniform {
            low: 0.3,
            high: 0.5,
        };
        assert!((u.quantile(0.25) - 0.35).abs() < 1e-15);
    }

    /// The inverse CDF and rand_distr's sampler describe the same PERT: the mean of many
    /// quantiles on a fine grid matches the closed-form mean (low + 4·mode + high) / 6.
    #[test]
    fn pert_quantile_has_the_pert_mean() {
        let pert = Dist::Pert {
            low: 0.2,
            mode: 0.35,
            high: 0.6,
        };
        let n = 20_000;
        let mean = (0..n)
            .map(|j| pert.quantile((j as f64 + 0.5) / n as f64))
            .sum::<f64>()
            / n as f64;
        assert!(
            (mean - (0.2 + 4.0 * 0.35 + 0.6) / 6.0).abs() < 1e-5,
            "{mean}"
        );
    }
}
