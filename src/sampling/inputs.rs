//! The table of a draw's per-draw quantities: every uncertain input of [`Draw`] (and the
//! throughput derived from two of them), each with the one name draws.csv, sensitivity.csv and
//! information.csv use and its value in a draw. `export::draws` writes its columns from
//! [`columns`]; `aggregate::groups` gathers the uncertain ones into groups.
//!
//! Values are in the units of the draw (`unique_tokens` in tokens, as draws.csv writes them);
//! the regressions of the value of information see the scale inputs on a log scale
//! ([`Input::regressor`]: ln of the unique tokens, and lnA, lnB, lnE through their [`Coord`]).

use super::Draw;
use crate::law::Coord;
use crate::scenario::{Scenario, Schedule};

/// One per-draw quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A law coefficient, or the log of a scale term (lnA, lnB, lnE).
    Coeff(Coord),
    Mfu,
    Goodput,
    /// Unique tokens available (∞ when unlimited).
    Unique,
    /// Sustained throughput, FLOP/s: derived from MFU and goodput, not an input of its own.
    Throughput,
    /// What a full anneal gains (cosine schedules).
    Anneal,
    /// Which `law.mixture` member the draw's law comes from.
    LawMember,
}

impl Input {
    /// The name draws.csv, sensitivity.csv and information.csv use.
    pub fn name(self) -> String {
        match self {
            Input::Coeff(c) => c.name(),
            Input::Mfu => "mfu".into(),
            Input::Goodput => "goodput".into(),
            Input::Unique => "unique_tokens".into(),
            Input::Throughput => "throughput".into(),
            Input::Anneal => "anneal".into(),
            Input::LawMember => "law_member".into(),
        }
    }

    /// Its value in draw `d`.
    pub fn value(self, d: &Draw) -> f64 {
        match self {
            Input::Coeff(c) => c.get(&d.coeffs),
            Input::Mfu => d.mfu,
            Input::Goodput => d.goodput,
            Input::Unique => d.unique_tokens,
            Input::Throughput => d.throughput,
            Input::Anneal => d.anneal,
            Input::LawMember => f64::from(d.member),
        }
    }

    /// Its value as the regressions of the value of information see it: the unique tokens on
    /// a log scale (they span orders of magnitude), everything else as [`value`](Self::value)
    /// (the scale coefficients are already logs where their `Coord` says so).
    pub fn regressor(self, d: &Draw) -> f64 {
        match self {
            Input::Unique => d.unique_tokens.ln(),
            _ => self.value(d),
        }
    }
}

/// The per-draw columns of a scenario's draws, in draws.csv order: the law's coefficients,
/// mfu, goodput, unique_tokens, throughput, then anneal (cosine schedules) and law_member
/// (mixtures) where the run has them.
pub fn columns(s: &Scenario) -> Vec<Input> {
    let mut out: Vec<Input> = s
        .law
        .coeffs()
        .into_iter()
        .map(|c| Input::Coeff(Coord::plain(c)))
        .collect();
    out.extend([Input::Mfu, Input::Goodput, Input::Unique, Input::Throughput]);
    if s.training.schedule == Schedule::Cosine {
        out.push(Input::Anneal);
    }
    if s.law.mixture.len() > 1 {
        out.push(Input::LawMember);
    }
    out
}
