//! The robust objectives a scenario may name (`decision.objectives`), by name. A leaf of the
//! scenario module: the TOML schema (`raw`) checks names against it.

use serde::Serialize;

/// A robust objective (MODEL.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    Expected,
    P95,
    Cvar95,
    MinimaxRegret,
    /// Max P(regret ≤ ε), ε = `decision.near_best_within`.
    NearBest,
    Target,
    /// Min expected training + inference GPU-hours among plans that reach the target loss with
    /// the required confidence (Sardana et al. 2024).
    LifetimeCost,
}

impl Objective {
    pub const ALL: [(&'static str, Objective); 7] = [
        ("expected", Objective::Expected),
        ("p95", Objective::P95),
        ("cvar95", Objective::Cvar95),
        ("minimax_regret", Objective::MinimaxRegret),
        ("near_best", Objective::NearBest),
        ("target", Objective::Target),
        ("lifetime_cost", Objective::LifetimeCost),
    ];

    /// The objective a scenario names (`"minimax_regret"`).
    pub fn from_name(name: &str) -> Option<Objective> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// What the objective minimises or maximises, in a person's words.
    pub fn describe(self) -> &'static str {
        match self {
            Objective::Expected => "expected loss",
            Objective::P95 => "95th-percentile loss",
            Objective::Cvar95 => "mean of the worst 5% of losses",
            Objective::MinimaxRegret => "worst-case regret",
            Objective::NearBest => "probability of being within ε of the best",
            Objective::Target => "probability of reaching the target loss",
            Objective::LifetimeCost => "training + inference GPU-hours at the target loss",
        }
    }
}
