//! The loss curve of one run under its learning-rate schedule (docs/MODEL.md §8): what a loss
//! observed part-way through a run says about the law's final loss.
//!
//! The model is Tissue et al. 2024's (arXiv 2408.11029), L(t) = L0 + A·S1(t)^−α − C·S2(t),
//! written so that its end on the reference schedule is the law's final loss:
//!
//! ```text
//! L_obs(N, t) = L_law(N, x(t)) + G(N) · r(t)
//! ```
//!
//! - x(t) = t · (x_A(t) / t)^κ, where x_A(t) = w + (S1(t) − w/2) / c_ref are the tokens a run on
//!   the reference schedule (cosine to 10% of the peak after a linear warm-up of w tokens,
//!   Hoffmann et al. 2022's) would need to sweep the same learning-rate area S1 (the forward
//!   area, in tokens at the peak rate); c_ref = 0.55 is the reference cosine's mean rate. x = t
//!   at the end of the reference run, so the law keeps its meaning; a constant rate sweeps area
//!   faster (x ≈ t / 0.55^κ), which is why a never-annealed run's gap to cosine grows with its
//!   length, as Luo et al.'s curves show. κ < 1: area at a high rate buys less than area at the
//!   reference's mean rate (Luo et al.'s WSD runs end only 0.02 below cosine, not the 0.06 that
//!   κ = 1 gives).
//! - r(t) = 1 − m(t) / (1 − f_ref): the share of the reference anneal not yet taken, where m(t)
//!   is the drop of the rate from its peak, lagged by an exponential window (Tissue et al.'s
//!   momentum form of S2) and f_ref = 0.1. r = 1 at a constant rate, 0 at the end of the
//!   reference cosine, below 0 for an anneal deeper than 10%.
//! - G(N) = g · (N / 10⁸)^a: the gross anneal gain, growing with size (a from Luo et al.'s
//!   25M–400M curves).
//!
//! Everything about a run's schedule is fixed before any draw, so [`Point`] holds x and r per
//! observed row and the likelihood costs one law evaluation per row and draw.

use serde::Serialize;

/// The reference schedule's final rate as a fraction of the peak (Hoffmann et al. 2022 §3:
/// cosine decayed by 10×), the schedule the final-loss laws were fitted on.
pub const REFERENCE_FINAL_LR: f64 = 0.1;

/// The reference cosine's mean rate as a fraction of the peak: (1 + f_ref) / 2.
pub const REFERENCE_MEAN_LR: f64 = 0.5 * (1.0 + REFERENCE_FINAL_LR);

/// The size exponent a of the gross anneal gain G(N) = g·(N/10⁸)^a, fitted to the 25M, 100M
/// and 400M curves of Luo et al. 2025 by scripts/calibrate_curve.py (docs/MODEL.md §8).
pub const GAP_SIZE_EXPONENT: f64 = 0.128;

/// κ, how much of the forward area's excess over the reference counts as tokens (module docs;
/// scripts/calibrate_curve.py on Luo et al.'s curves).
pub const AREA_EXPONENT: f64 = 0.672;

/// The size G(N)'s level g refers to.
pub const GAP_REFERENCE_PARAMS: f64 = 1e8;

/// The median of the prior of g, nats (scripts/calibrate_curve.py on Luo et al.'s curves).
pub const GAP_MEDIAN: f64 = 0.0962;

/// The prior's log-sd of g: judgement (docs/MODEL.md §8), wide enough for another data set,
/// tokenizer and peak rate than the one it was calibrated on.
pub const GAP_LOG_SD: f64 = 0.5;

/// The lag window of the anneal in optimizer steps, 1/(1 − λ): Luo et al.'s curves fit best at
/// 250 of 0, 250, 500, 1,000 and 2,000 (scripts/calibrate_curve.py); Tissue et al. use
/// λ = 0.999 (1,000). Used only when a run
/// states its batch (tokens per step); without it the lag is dropped (the long-run limit).
pub const LAG_STEPS: f64 = 250.0;

/// How the rate falls in the decay of a warmup-stable-decay run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// Linear from the peak to the final rate.
    Linear,
    /// Geometric (exponential in tokens) from the peak to the final rate.
    Exponential,
    /// Hägele et al. 2024's 1 − sqrt shape.
    Sqrt,
    /// Half a cosine.
    Cosine,
}

/// A run's learning-rate schedule, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Shape {
    /// The peak rate after warm-up, never annealed.
    Constant,
    /// Cosine from the peak after warm-up to `final_lr` at the planned tokens.
    Cosine { final_lr: f64 },
    /// Stable at the peak until `decay_start`, down to `final_lr` over `decay_tokens`, then
    /// constant at `final_lr` (a two-stage schedule when the decay is short).
    Wsd {
        decay_start: f64,
        decay_tokens: f64,
        final_lr: f64,
        decay: Decay,
    },
}

/// One run's schedule: its shape, planned length, linear warm-up and batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Schedule {
    pub shape: Shape,
    /// The tokens the schedule is planned for (the end of a cosine).
    pub planned: f64,
    /// Linear warm-up from 0 to the peak, tokens.
    pub warmup: f64,
    /// Tokens per optimizer step (sets the lag window); None: no lag.
    pub batch_tokens: Option<f64>,
}

/// Integration steps per run for the area and the lagged drop (the schedule is smooth; 4,096
/// steps put the trapezoid's error far below a loss's noise).
const STEPS: usize = 4096;

impl Schedule {
    /// The rate at `t` tokens as a fraction of the peak.
    pub fn lr(&self, t: f64) -> f64 {
        let w = self.warmup;
        if t < w {
            return t / w;
        }
        match self.shape {
            Shape::Constant => 1.0,
            Shape::Cosine { final_lr } => {
                let f = ((t - w) / (self.planned - w)).clamp(0.0, 1.0);
                final_lr + (1.0 - final_lr) * 0.5 * (1.0 + (std::f64::consts::PI * f).cos())
            }
            Shape::Wsd {
                decay_start,
                decay_tokens,
                final_lr,
                decay,
            } => {
                if t <= decay_start {
                    return 1.0;
                }
                let f = ((t - decay_start) / decay_tokens).clamp(0.0, 1.0);
                match decay {
                    Decay::Linear => 1.0 - (1.0 - final_lr) * f,
                    Decay::Exponential => final_lr.powf(f),
                    Decay::Sqrt => 1.0 - (1.0 - final_lr) * f.sqrt(),
                    Decay::Cosine => {
                        final_lr + (1.0 - final_lr) * 0.5 * (1.0 + (std::f64::consts::PI * f).cos())
                    }
                }
            }
        }
    }

    /// x and r at each of `tokens` (ascending or not): the reference-equivalent tokens and the
    /// share of the reference anneal not yet taken (module docs).
    pub fn points(&self, tokens: &[f64]) -> Vec<Point> {
        points_with(&|t| self.lr(t), self, tokens)
    }

    /// This schedule up to `at` tokens, then `then` (a re-plan of the rest of the run).
    pub fn switched(self, at: f64, then: Switch) -> Switched {
        Switched {
            base: self,
            at,
            then,
        }
    }
}

/// What a re-planned run does from its switch on: hold the rate it had, then decay linearly to
/// `final_lr` of the peak over `decay_tokens` ending at `end`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Switch {
    pub end: f64,
    pub decay_tokens: f64,
    pub final_lr: f64,
}

/// A schedule followed up to a switch and re-planned after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Switched {
    base: Schedule,
    at: f64,
    then: Switch,
}

impl Switched {
    pub fn lr(&self, t: f64) -> f64 {
        if t <= self.at {
            return self.base.lr(t);
        }
        let held = self.base.lr(self.at);
        let start = (self.then.end - self.then.decay_tokens).max(self.at);
        if t <= start {
            held
        } else {
            let f = ((t - start) / (self.then.end - start)).clamp(0.0, 1.0);
            let fin = self.then.final_lr.min(held);
            held - (held - fin) * f
        }
    }

    pub fn points(&self, tokens: &[f64]) -> Vec<Point> {
        let base = Schedule {
            planned: self.then.end.max(self.at),
            ..self.base
        };
        points_with(&|t| self.lr(t), &base, tokens)
    }
}

/// x and r at `tokens` for the rate `lr`, with `s`'s warm-up, lag and planned length (the grid's
/// extent): the area and the lagged drop are integrated on a uniform grid and read off by
/// interpolation.
fn points_with(lr_at: &dyn Fn(f64) -> f64, s: &Schedule, tokens: &[f64]) -> Vec<Point> {
    let end = tokens.iter().copied().fold(s.planned, f64::max);
    let h = end / STEPS as f64;
    let lag = s.batch_tokens.map(|b| b * LAG_STEPS);
    let mut area = vec![0.0; STEPS + 1];
    let mut drop = vec![0.0; STEPS + 1];
    let mut prev = lr_at(0.0);
    // No drop at the start: a run begins at 0 (warm-up) or at its peak.
    let mut m = 0.0;
    for i in 1..=STEPS {
        let t = i as f64 * h;
        let lr = lr_at(t);
        area[i] = area[i - 1] + 0.5 * h * (prev + lr);
        // The drop counts from the peak; warm-up is not a drop.
        let d = if t <= s.warmup { 0.0 } else { 1.0 - lr };
        m = match lag {
            Some(w) => {
                let a = (-h / w).exp();
                a * m + (1.0 - a) * d
            }
            None => d,
        };
        drop[i] = m;
        prev = lr;
    }
    let at = |v: &[f64], t: f64| {
        let u = (t / h).clamp(0.0, STEPS as f64);
        let i = (u.floor() as usize).min(STEPS - 1);
        let frac = u - i as f64;
        v[i] + (v[i + 1] - v[i]) * frac
    };
    let w = s.warmup;
    tokens
        .iter()
        .map(|&t| {
            let s1 = at(&area, t);
            let x = if t <= w {
                // Still warming up: no schedule differs yet.
                t.max(f64::MIN_POSITIVE)
            } else {
                let area = w + (s1 - 0.5 * w) / REFERENCE_MEAN_LR;
                t * (area / t).powf(AREA_EXPONENT)
            };
            Point {
                tokens: t,
                x,
                r: 1.0 - at(&drop, t) / (1.0 - REFERENCE_FINAL_LR),
            }
        })
        .collect()
}

/// One observed row's place in its run's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Tokens trained.
    pub tokens: f64,
    /// Reference-equivalent tokens x(t): the law is read here.
    pub x: f64,
    /// Share of the reference anneal still to take, r(t).
    pub r: f64,
}

/// The gross anneal gain G(N) for a draw whose level is `g` (nats at 10⁸ parameters).
#[inline]
pub fn gap(g: f64, params: f64) -> f64 {
    g * (params / GAP_REFERENCE_PARAMS).powf(GAP_SIZE_EXPONENT)
}

/// The loss the curve model expects at a point, given the law's loss at its x.
#[inline]
pub fn observed_loss(law_loss_at_x: f64, g: f64, params: f64, p: &Point) -> f64 {
    law_loss_at_x + gap(g, params) * p.r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(planned: f64, warmup: f64) -> Schedule {
        Schedule {
            shape: Shape::Cosine {
                final_lr: REFERENCE_FINAL_LR,
            },
            planned,
            warmup,
            batch_tokens: None,
        }
    }

    #[test]
    fn the_reference_cosine_ends_at_its_own_tokens_fully_annealed() {
        // The closed form: the reference run's area is w/2 + c_ref·(D − w), so x(D) = D, r = 0.
        let s = cosine(1e9, 2e7);
        let p = s.points(&[1e9])[0];
        assert!((p.x / 1e9 - 1.0).abs() < 1e-6, "{}", p.x);
        assert!(p.r.abs() < 1e-9, "{}", p.r);
        // Half-way down the cosine (f = 1/2), half of the 0.9 drop is taken: r = 1/2.
        let mid = s.points(&[2e7 + 0.5 * (1e9 - 2e7)])[0];
        assert!((mid.r - 0.5).abs() < 1e-6, "{}", mid.r);
    }

    #[test]
    fn a_constant_rate_sweeps_area_faster_and_keeps_its_whole_anneal() {
        let s = Schedule {
            shape: Shape::Constant,
            planned: 1e9,
            warmup: 0.0,
            batch_tokens: None,
        };
        let p = s.points(&[5e8])[0];
        let closed = 5e8 * (1.0 / REFERENCE_MEAN_LR).powf(AREA_EXPONENT);
        assert!((p.x - closed).abs() / p.x < 1e-9);
        assert_eq!(p.r, 1.0);
    }

    #[test]
    fn wsd_decay_shapes_reach_the_final_rate_and_the_lag_delays_the_anneal() {
        for decay in [
            Decay::Linear,
            Decay::Exponential,
            Decay::Sqrt,
            Decay::Cosine,
        ] {
            let s = Schedule {
                shape: Shape::Wsd {
                    decay_start: 8e8,
                    decay_tokens: 2e8,
                    final_lr: 0.1,
                    decay,
                },
                planned: 1e9,
                warmup: 0.0,
                batch_tokens: None,
            };
            assert!((s.lr(1e9) - 0.1).abs() < 1e-12);
            assert_eq!(s.lr(7e8), 1.0);
            let end = s.points(&[1e9])[0];
            assert!(end.r.abs() < 1e-9, "{decay:?}: {}", end.r);
            // With a batch the drop is seen through a window of LAG_STEPS steps: not all taken.
            let lagged = Schedule {
                batch_tokens: Some(1e5),
                ..s
            };
            let r = lagged.points(&[1e9])[0].r;
            // An exponential window of 5e7 tokens behind a 2e8-token ramp: between 0 and 0.3.
            assert!(r > 0.0 && r < 0.3, "{decay:?}: {r}");
        }
    }
}
