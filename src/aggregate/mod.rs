//! Aggregation: robust recommendations per objective, the oracle's allocation bands, and the
//! decision aids around them: baselines, the budget frontier, sensitivity, lifetime cost.

pub mod baselines;
pub mod frontier;
pub mod lifetime;
pub mod sensitivity;

use serde::Serialize;

use crate::backend::{cpu, ConfigStats, DrawOptimum, Evaluation};
use crate::grid::Grid;
use crate::sampling::{self, Draw};
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
    /// Expected training + inference GPU-hours (NaN without decision.inference_tokens).
    pub lifetime_gpu_hours: f64,
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
    /// `point_estimate` and `twenty_tokens_per_param`, scored under the full uncertainty.
    pub baselines: Vec<Recommendation>,
    pub frontier: Vec<frontier::Level>,
    pub doubling: Option<frontier::Doubling>,
    /// One row per uncertain input, against the first objective's plan.
    pub sensitivity: Vec<sensitivity::Row>,
    /// Objectives that found no plan, with the reason (e.g. no plan reaches the target).
    pub unmet: Vec<(String, String)>,
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
        // Scored by `lifetime::Cost`, not by the statistics alone (see `summarize`).
        Objective::LifetimeCost => f64::NAN,
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

/// The configurations every objective chooses among.
pub struct Candidates {
    /// Feasible configurations.
    pub feasible: usize,
    /// Feasible configurations that complete in at least `min_completion` of draws.
    pub meeting: usize,
    /// Those, or every feasible configuration when none meets `min_completion`.
    pub indices: Vec<usize>,
}

/// Feasible configurations meeting `min_completion` (falling back to every feasible one), with
/// `p_complete(i)` the completion share of configuration i.
pub fn candidates(
    grid: &Grid,
    min_completion: f64,
    p_complete: impl Fn(usize) -> f64,
) -> Candidates {
    let feasible: Vec<usize> = (0..grid.len()).filter(|&i| grid.feasible(i)).collect();
    let meeting: Vec<usize> = feasible
        .iter()
        .copied()
        .filter(|&i| p_complete(i) >= min_completion)
        .collect();
    Candidates {
        feasible: feasible.len(),
        meeting: meeting.len(),
        indices: if meeting.is_empty() {
            feasible
        } else {
            meeting
        },
    }
}

/// Whether to compute baselines, frontier and sensitivity (`--precision` skips them until its
/// last batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extras {
    All,
    Skip,
}

/// Everything the report and the exports need beyond the per-configuration statistics.
pub fn summarize(
    s: &Scenario,
    grid: &Grid,
    draws: &[Draw],
    eval: &Evaluation,
    settings: &cpu::Settings,
    extras: Extras,
) -> Summary {
    let pool = candidates(grid, s.decision.min_completion, |i| {
        eval.stats[i].p_complete
    });
    let min_completion_met = pool.meeting > 0;
    let candidates = &pool.indices;
    let cost = lifetime::Cost::new(s, draws);
    let recommend = |name: &str, i: usize| {
        let (params, tokens, hours) = grid.config(i);
        Recommendation {
            objective: name.to_string(),
            index: i,
            params,
            tokens,
            hours,
            stats: eval.stats[i],
            lifetime_gpu_hours: cost
                .as_ref()
                .map_or(f64::NAN, |c| c.total(params, &eval.stats[i])),
        }
    };
    let mut unmet = Vec::new();
    let mut recommendations = Vec::new();
    for &o in &s.decision.objectives {
        let chosen = match (o, &cost) {
            (Objective::LifetimeCost, Some(c)) => {
                let conf = s.decision.target_confidence;
                let ok: Vec<usize> = candidates
                    .iter()
                    .copied()
                    .filter(|&i| eval.stats[i].p_target >= conf)
                    .collect();
                let best = ok.iter().copied().reduce(|a, b| {
                    let cost_of = |i: usize| c.total(grid.config(i).0, &eval.stats[i]);
                    if cost_of(b) < cost_of(a) {
                        b
                    } else {
                        a
                    }
                });
                if best.is_none() {
                    unmet.push((
                        o.name().to_string(),
                        format!(
                            "no plan reaches loss {} in {:.0}% of draws; raise decision.target_loss or lower decision.target_confidence",
                            s.decision.target_loss.unwrap_or(f64::NAN),
                            100.0 * conf
                        ),
                    ));
                }
                best
            }
            (Objective::LifetimeCost, None) => None,
            _ => choose(o, candidates, &eval.stats),
        };
        if let Some(i) = chosen {
            recommendations.push(recommend(o.name(), i));
        }
    }

    let (baselines, levels, doubling, sensitivity) = if extras == Extras::Skip {
        (Vec::new(), Vec::new(), None, Vec::new())
    } else {
        let point = sampling::point_draw(s);
        let baselines: Vec<Recommendation> = [
            (
                baselines::POINT_ESTIMATE,
                baselines::point_estimate(settings, grid, &point),
            ),
            (
                baselines::TWENTY_TOKENS_PER_PARAM,
                baselines::twenty_tokens_per_param(grid, &point, settings.flops_per_param_token),
            ),
        ]
        .into_iter()
        .filter_map(|(name, i)| Some(recommend(name, i?)))
        .collect();
        let levels = frontier::levels(s, grid, draws, settings);
        let doubling = frontier::doubling(&levels, s.budget.hours);
        let sensitivity = match recommendations.first() {
            Some(r) => {
                let plan = cpu::config_losses(settings, grid, draws, r.index);
                sensitivity::rows(s, draws, &eval.optima, &plan)
            }
            None => Vec::new(),
        };
        (baselines, levels, doubling, sensitivity)
    };
    Summary {
        recommendations,
        baselines,
        frontier: levels,
        doubling,
        sensitivity,
        unmet,
        bands: OracleBands::of(&eval.optima),
        feasible: pool.feasible,
        candidates: pool.meeting,
        min_completion_met,
    }
}
