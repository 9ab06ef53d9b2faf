//! Aggregation: robust recommendations per objective and the oracle's allocation bands.

use serde::Serialize;

use crate::backend::{ConfigStats, DrawOptimum, Evaluation};
use crate::grid::Grid;
use crate::scenario::{Objective, Scenario};
use crate::stats;

/// The chosen configuration of one objective.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub objective: String,
    pub index: usize,
    pub params: f64,
    pub tokens: f64,
    pub hours: f64,
    pub stats: ConfigStats,
}

/// p05, p50, p95 of one quantity over draws.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Band {
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
}

impl Band {
    pub fn of(values: impl Iterator<Item = f64>) -> Band {
        let mut v: Vec<f64> = values.collect();
        Band {
            p05: stats::quantile(&mut v, 0.05),
            p50: stats::quantile(&mut v, 0.50),
            p95: stats::quantile(&mut v, 0.95),
        }
    }
}

/// Bands of the per-draw optimum (the oracle).
#[derive(Debug, Clone, Serialize)]
pub struct OracleBands {
    pub params: Band,
    pub tokens: Band,
    pub tokens_per_param: Band,
    pub loss: Band,
}

impl OracleBands {
    pub fn of(optima: &[DrawOptimum]) -> Self {
        OracleBands {
            params: Band::of(optima.iter().map(|o| o.params)),
            tokens: Band::of(optima.iter().map(|o| o.tokens)),
            tokens_per_param: Band::of(optima.iter().map(|o| o.tokens / o.params)),
            loss: Band::of(optima.iter().map(|o| o.loss)),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub recommendations: Vec<Recommendation>,
    pub bands: OracleBands,
    /// Feasible configurations.
    pub feasible: usize,
    /// Feasible configurations that meet min_completion (the candidates of every objective).
    pub candidates: usize,
    /// False when no configuration met min_completion and the objectives fell back to every
    /// feasible configuration (the report says so).
    pub min_completion_met: bool,
}

/// Score of a configuration under an objective: smaller is better.
fn score(o: Objective, s: &ConfigStats) -> f64 {
    match o {
        Objective::Expected => s.loss_mean,
        Objective::P95 => s.loss_p95,
        Objective::Cvar95 => s.loss_cvar95,
        Objective::MinimaxRegret => s.regret_max,
        Objective::PBest => -s.p_best,
        Objective::Target => -s.p_target,
    }
}

/// Best candidate index under an objective (ties: lowest index).
pub fn choose(o: Objective, candidates: &[usize], stats: &[ConfigStats]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for &i in candidates {
        if best.is_none_or(|b| score(o, &stats[i]) < score(o, &stats[b])) {
            best = Some(i);
        }
    }
    best
}

pub fn summarize(s: &Scenario, grid: &Grid, eval: &Evaluation) -> Summary {
    let feasible: Vec<usize> = (0..grid.len()).filter(|&i| grid.feasible(i)).collect();
    let meeting: Vec<usize> = feasible
        .iter()
        .copied()
        .filter(|&i| eval.stats[i].p_complete >= s.decision.min_completion)
        .collect();
    let min_completion_met = !meeting.is_empty();
    let candidates = if min_completion_met {
        &meeting
    } else {
        &feasible
    };
    let recommendations = s
        .decision
        .objectives
        .iter()
        .filter_map(|&o| {
            let i = choose(o, candidates, &eval.stats)?;
            let (params, tokens, hours) = grid.config(i);
            Some(Recommendation {
                objective: o.name().to_string(),
                index: i,
                params,
                tokens,
                hours,
                stats: eval.stats[i],
            })
        })
        .collect();
    Summary {
        recommendations,
        bands: OracleBands::of(&eval.optima),
        feasible: feasible.len(),
        candidates: meeting.len(),
        min_completion_met,
    }
}
