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

    /// The smallest and largest value the distribution can produce (infinite when unbounded).
    pub fn support(&self) -> (f64, f64) {
        match self {
            Dist::Fixed(x) => (*x, *x),
            Dist::Uniform { low, high }
            | Dist::Triangular { low, high, .. }
            | Dist::Pert { low, high, .. } => (*low, *high),
            Dist::Normal { min, max, .. } => (
                min.unwrap_or(f64::NEG_INFINITY),
                max.unwrap_or(f64::INFINITY),
            ),
            Dist::LogNormal { .. } => (f64::MIN_POSITIVE, f64::INFINITY),
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
