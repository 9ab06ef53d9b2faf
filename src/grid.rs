//! The candidate grid: log-spaced P × log-spaced D × listed T, with deterministic feasibility.
//!
//! Configuration index = (p · n_tokens + d) · n_hours + t, so "lowest index" (the last tie rule
//! of MODEL.md §5) means smallest P, then smallest D, then shortest T.
//!
//! With `search.until_deadline` (the default) the token axis ends in one more entry, D = ∞: the
//! plan "train until the deadline", which trains D_run = cap(P, T) tokens in every draw. Its
//! value is `f64::INFINITY` in `tokens` and [`UNTIL_DEADLINE_LN`] in `ln_tokens` (finite, so the
//! f32 shaders see an ordinary number past every capacity).

use serde::Serialize;

use crate::scenario::Scenario;

#[derive(Debug, Clone, Serialize)]
pub struct Grid {
    pub params: Vec<f64>,
    pub tokens: Vec<f64>,
    pub hours: Vec<f64>,
    /// ln P and ln D prepared on the host in f64 (shaders receive them in f32).
    #[serde(skip)]
    pub ln_params: Vec<f64>,
    #[serde(skip)]
    pub ln_tokens: Vec<f64>,
    /// P[..feasible_params] fit memory and max_params (the limits are upper bounds, so the
    /// feasible P form a prefix of the sorted axis).
    pub feasible_params: usize,
    /// T[..feasible_hours] fit the budget's hours.
    pub feasible_hours: usize,
    /// Whether the last token entry is the until-the-deadline plan (D = ∞).
    pub until_deadline: bool,
}

/// ln D of the until-the-deadline entry as the backends see it: ln(1e30), past any run's
/// capacity (a run at 1e30 tokens would need ~6e39 FLOPs per parameter) and finite in f32.
pub const UNTIL_DEADLINE_LN: f64 = 69.077_552_789_821_37;

impl Grid {
    pub fn new(s: &Scenario) -> Self {
        let params = s.search.params.values();
        let mut tokens = s.search.tokens.values();
        let until_deadline = s.search.until_deadline;
        if until_deadline {
            tokens.push(f64::INFINITY);
        }
        let hours = s.search.hours.clone();
        let mem = s.budget.memory_bytes();
        let fits = |p: f64| {
            mem.is_none_or(|m| p * s.search.bytes_per_param <= m)
                && s.search.max_params.is_none_or(|c| p <= c)
        };
        let feasible_params = params.iter().take_while(|p| fits(**p)).count();
        let feasible_hours = hours.iter().take_while(|t| **t <= s.budget.hours).count();
        Grid {
            ln_params: params.iter().map(|p| p.ln()).collect(),
            ln_tokens: tokens
                .iter()
                .map(|d| {
                    if d.is_finite() {
                        d.ln()
                    } else {
                        UNTIL_DEADLINE_LN
                    }
                })
                .collect(),
            params,
            tokens,
            hours,
            feasible_params,
            feasible_hours,
            until_deadline,
        }
    }

    /// Whether token index `d` is the until-the-deadline entry.
    pub fn is_until_deadline(&self, d: usize) -> bool {
        self.until_deadline && d + 1 == self.tokens.len()
    }

    /// Token entries with a finite D (all but the until-the-deadline entry).
    pub fn finite_tokens(&self) -> usize {
        self.tokens.len() - usize::from(self.until_deadline)
    }

    pub fn len(&self) -> usize {
        self.params.len() * self.tokens.len() * self.hours.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn index(&self, p: usize, d: usize, t: usize) -> usize {
        (p * self.tokens.len() + d) * self.hours.len() + t
    }

    /// (p, d, t) of a configuration index.
    pub fn coords(&self, index: usize) -> (usize, usize, usize) {
        let t = index % self.hours.len();
        let pd = index / self.hours.len();
        (pd / self.tokens.len(), pd % self.tokens.len(), t)
    }

    pub fn feasible(&self, index: usize) -> bool {
        let (p, _, t) = self.coords(index);
        p < self.feasible_params && t < self.feasible_hours
    }

    /// (P, D, T) of a configuration index.
    pub fn config(&self, index: usize) -> (f64, f64, f64) {
        let (p, d, t) = self.coords(index);
        (self.params[p], self.tokens[d], self.hours[t])
    }
}
