//! Aggregation: robust recommendations per objective, the oracle's allocation bands, and the
//! decision aids around them: baselines, the budget frontier, sensitivity, lifetime cost.

pub mod baselines;
pub mod frontier;
pub mod groups;
pub mod indices;
pub mod information;
pub mod lifetime;
pub mod pilots;
pub mod policy;
pub mod refine;
pub mod replan;
pub mod sensitivity;
pub mod serving;

use serde::Serialize;

use crate::backend::{cpu, ConfigStats, DrawOptimum, Evaluation};
use crate::candidates::Rank;
use crate::grid::Grid;
use crate::sampling::{self, Draw};
use crate::scenario::{Objective, Scenario};
use crate::stats;

/// What a recommendation answers: one of the scenario's objectives, a baseline rule, or the
/// expected-loss plan without `min_completion`. Written (run.json, recommendations.csv, the
/// report) as its [`name`](Basis::name), as when it was a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Objective(Objective),
    /// The plan that is best at the point estimate of every input (`point_estimate`).
    PointEstimate,
    /// 20 tokens per parameter (`twenty_tokens_per_param`).
    TwentyTokensPerParam,
    /// The expected-loss plan among all feasible plans, `min_completion` ignored
    /// (`expected_unconstrained`, in `min_completion_cost`).
    ExpectedUnconstrained,
}

impl Basis {
    pub fn name(self) -> &'static str {
        match self {
            Basis::Objective(o) => o.name(),
            Basis::PointEstimate => baselines::POINT_ESTIMATE,
            Basis::TwentyTokensPerParam => baselines::TWENTY_TOKENS_PER_PARAM,
            Basis::ExpectedUnconstrained => "expected_unconstrained",
        }
    }

    /// The scenario objective, where the recommendation answers one.
    pub fn objective(self) -> Option<Objective> {
        match self {
            Basis::Objective(o) => Some(o),
            _ => None,
        }
    }
}

impl Serialize for Basis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl std::fmt::Display for Basis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// The chosen configuration of one objective.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub objective: Basis,
    pub index: usize,
    pub params: f64,
    pub tokens: f64,
    pub hours: f64,
    pub stats: ConfigStats,
    /// Expected training + inference GPU-hours (NaN without decision.inference_tokens).
    pub lifetime_gpu_hours: f64,
    /// Tokens the plan actually trains, min(D, cap), over the draws.
    pub tokens_trained: Band,
    /// Wall-clock hours it actually uses, T·min(1, D/cap), over the draws.
    pub hours_used: Band,
    /// The grid plan the refinement started from.
    pub grid: GridPlan,
}

impl Recommendation {
    /// Whether the plan trains until the deadline (D = ∞) rather than to a token count.
    pub fn until_deadline(&self) -> bool {
        self.tokens.is_infinite()
    }

    pub fn plan(&self) -> refine::Plan {
        refine::Plan {
            params: self.params,
            tokens: self.tokens,
            hours: self.hours,
        }
    }
}

/// Per draw, the tokens a plan (P, D, T) trains and the hours it uses: the run stops at D or at
/// its capacity cap = throughput·3600·T / (k·P), whichever comes first.
pub fn trained(
    draws: &[Draw],
    settings: &cpu::Settings,
    (p, d, t): (f64, f64, f64),
) -> (Band, Band) {
    let kp = crate::law::flops_per_token(settings.flops_per_param_token, settings.attention, p);
    let caps: Vec<f64> = draws
        .iter()
        .map(|x| crate::law::capacity(x.throughput, t, kp))
        .collect();
    (
        Band::of(caps.iter().map(|&c| d.min(c))),
        Band::of(caps.iter().map(|&c| t * (d / c).min(1.0))),
    )
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
    /// When `min_completion` binds: what it costs the expected-loss plan.
    pub constraint_cost: Option<ConstraintCost>,
    /// Per baseline (same order): what the first objective's plan gains over it.
    pub baseline_gains: Vec<Gain>,
    /// Grouped Sobol indices (first order and total) of the plan's loss and the optimum.
    pub variance: Vec<indices::GroupIndices>,
    /// EVPI (group "all") and EVPPI per group for the expected-loss decision.
    pub information: Vec<information::Value>,
    /// With `law.mixture`: the oracle's bands over each member's draws.
    pub member_bands: Vec<MemberBands>,
    /// The first objective's plan against each fitted range of the law.
    pub fit_checks: Vec<FitCheck>,
    /// Under a cosine schedule on a hardware budget: the measure-then-set policy against the
    /// expected-loss plan (`policy.rs`).
    pub policy: Option<policy::Outcome>,
    /// When the scenario serves tokens: expected loss against lifetime cost, the candidates
    /// not beaten on both, cheapest first (`serving.rs`); empty otherwise.
    pub serving: Vec<serving::Point>,
    /// When the scenario serves tokens: each model size's best candidate (`serving.rs`).
    pub serving_sizes: Vec<serving::Point>,
    /// With `decision.pilots`: the pilot designs priced against deciding now (`pilots.rs`).
    pub pilots: Option<pilots::Pilots>,
}

/// Where a plan sits against the runs behind its law (each member's, for a mixture).
#[derive(Debug, Clone, Serialize)]
pub struct FitCheck {
    pub preset: String,
    pub range: crate::presets::laws::FitRange,
    /// The plan's size, median tokens trained and 6·P·D.
    pub params: f64,
    pub tokens: f64,
    /// Axes outside the range: (axis, value, low, high).
    pub outside: Vec<(&'static str, f64, f64, f64)>,
}

/// The fitted ranges of a scenario's law: its preset's, or each mixture member's.
pub fn fit_ranges(s: &Scenario) -> Vec<(String, crate::presets::laws::FitRange)> {
    let laws: Vec<&crate::scenario::Law> = if s.law.mixture.is_empty() {
        vec![&s.law]
    } else {
        s.law.mixture.iter().map(|m| &m.law).collect()
    };
    laws.iter()
        .filter_map(|l| {
            l.fit_range.map(|mut r| {
                // A law fitted on non-embedding parameters, with a vocabulary: its range in
                // the grid's total parameters, N + V·d_model(N) (monotone, MODEL.md §1).
                if let Some(m) = l.shape.embedding {
                    r.params = (
                        m.total_from_non_embedding(r.params.0),
                        m.total_from_non_embedding(r.params.1),
                    );
                }
                // Draws with their own range are named by their file: their runs, not the
                // preset's, are the range.
                let name = match (&l.draws_source, &l.uncertainty) {
                    (Some(_), crate::scenario::Uncertainty::Draws { source, .. }) => source.clone(),
                    _ => l.preset.clone(),
                };
                (name, r)
            })
        })
        .collect()
}

/// Whether a plan of `params` training `tokens` lies outside any fitted range of the law.
pub fn extrapolates(
    ranges: &[(String, crate::presets::laws::FitRange)],
    params: f64,
    tokens: f64,
) -> bool {
    ranges
        .iter()
        .any(|(_, r)| !r.outside(params, tokens).is_empty())
}

/// The oracle's bands over the draws of one `law.mixture` member.
#[derive(Debug, Clone, Serialize)]
pub struct MemberBands {
    pub preset: String,
    pub weight: f64,
    pub draws: usize,
    pub bands: OracleBands,
}

/// What one plan gains over another in expected loss, with the Monte Carlo standard error of
/// the paired difference (the same draws score both).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Gain {
    /// Mean of (other's loss − plan's loss) over draws: > 0 when the plan is better.
    pub loss_mean: f64,
    pub se: f64,
}

impl Gain {
    pub fn of(other: &[f64], plan: &[f64]) -> Gain {
        let diff: Vec<f64> = other.iter().zip(plan).map(|(a, b)| a - b).collect();
        let (mean, sd) = stats::mean_sd(&diff);
        Gain {
            loss_mean: mean,
            se: sd / (diff.len() as f64).sqrt(),
        }
    }
}

/// The grid plan a recommendation started from.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GridPlan {
    pub index: usize,
    pub params: f64,
    pub tokens: f64,
    pub hours: f64,
    pub loss_mean: f64,
}

fn grid_plan(grid: &Grid, i: usize, st: &ConfigStats) -> GridPlan {
    let (params, tokens, hours) = grid.config(i);
    GridPlan {
        index: i,
        params,
        tokens,
        hours,
        loss_mean: st.loss_mean,
    }
}

fn grid_point(grid: &Grid, i: usize) -> refine::Plan {
    let (params, tokens, hours) = grid.config(i);
    refine::Plan {
        params,
        tokens,
        hours,
    }
}

/// The price of `decision.min_completion`: the expected-loss plan without the constraint and
/// how much lower its expected loss is.
#[derive(Debug, Clone, Serialize)]
pub struct ConstraintCost {
    /// Expected loss of the constrained plan minus that of the unconstrained one (≥ 0).
    pub loss_mean: f64,
    pub unconstrained: Recommendation,
}

/// Score of a configuration under an objective: smaller is better.
fn score(o: Objective, s: &ConfigStats) -> f64 {
    match o {
        Objective::Expected => s.loss_mean,
        Objective::P95 => s.loss_p95,
        Objective::Cvar95 => s.loss_cvar95,
        // The 95th percentile of regret: the sample maximum moves with a single draw and
        // changed the plan across seeds (MODEL.md §5).
        Objective::MinimaxRegret => s.regret_p95,
        Objective::NearBest => -s.p_near_best,
        Objective::Target => -s.p_target,
        // Scored by `lifetime::Cost`, not by the statistics alone (see `summarize`).
        Objective::LifetimeCost => f64::NAN,
    }
}

/// The candidate with the smallest `key` under the tie rule ([`Rank`]: then the lower expected
/// loss, then the lower index).
pub fn argmin_by(
    candidates: &[usize],
    stats: &[ConfigStats],
    key: impl Fn(usize) -> f64,
) -> Option<usize> {
    Rank::best(candidates.iter().map(|&i| Rank {
        score: key(i),
        mean: stats[i].loss_mean,
        index: i,
    }))
    .map(|r| r.index)
}

/// Best candidate index under an objective (ties: lower expected loss, then lower index).
pub fn choose(o: Objective, candidates: &[usize], stats: &[ConfigStats]) -> Option<usize> {
    argmin_by(candidates, stats, |i| score(o, &stats[i]))
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
    let pool = settings.candidates(grid, draws);
    let candidates = &pool.indices(grid);
    let l_star: Vec<f64> = eval.optima.iter().map(|o| o.loss_grid).collect();
    let run = Run {
        s,
        grid,
        draws,
        eval,
        settings,
        cost: lifetime::Cost::new(s, draws),
        evaluator: refine::Evaluator::new(settings, draws, &l_star),
        bounds: refine::Bounds::for_candidates(grid, settings, draws, &pool),
    };
    let (recommendations, unmet) = run.objective_plans(candidates);
    let constraint_cost = run.constraint_cost(candidates);
    let more = match extras {
        Extras::Skip => More::default(),
        Extras::All => run.more(&recommendations),
    };
    let baseline_gains = match recommendations.first() {
        Some(r) => {
            let plan = run.evaluator.column(&r.plan());
            more.baselines
                .iter()
                .map(|b| Gain::of(&run.evaluator.column(&b.plan()), &plan))
                .collect()
        }
        None => Vec::new(),
    };
    Summary {
        fit_checks: fit_checks(s, &recommendations),
        recommendations,
        baselines: more.baselines,
        frontier: more.levels,
        doubling: more.doubling,
        sensitivity: more.sensitivity,
        unmet,
        bands: OracleBands::of(&eval.optima),
        feasible: (0..grid.len()).filter(|&i| grid.feasible(i)).count(),
        candidates: if pool.met { candidates.len() } else { 0 },
        min_completion_met: pool.met,
        constraint_cost,
        baseline_gains,
        variance: more.variance,
        information: more.information,
        member_bands: member_bands(s, draws, eval),
        policy: more.policy,
        pilots: more.pilots,
        serving: run.cost.as_ref().map_or_else(Vec::new, |c| {
            serving::frontier(c, grid, candidates, &eval.stats)
        }),
        serving_sizes: run.cost.as_ref().map_or_else(Vec::new, |c| {
            serving::best_per_size(c, grid, candidates, &eval.stats)
        }),
    }
}

/// What the choices of a run share: its inputs, the lifetime cost when it serves tokens, the
/// refinement's evaluator and box.
struct Run<'a> {
    s: &'a Scenario,
    grid: &'a Grid,
    draws: &'a [Draw],
    eval: &'a Evaluation,
    settings: &'a cpu::Settings,
    cost: Option<lifetime::Cost>,
    evaluator: refine::Evaluator<'a>,
    bounds: refine::Bounds,
}

/// The decision aids beyond the objectives' plans (skipped by `--precision`'s intermediate runs).
#[derive(Default)]
struct More {
    baselines: Vec<Recommendation>,
    levels: Vec<frontier::Level>,
    doubling: Option<frontier::Doubling>,
    sensitivity: Vec<sensitivity::Row>,
    variance: Vec<indices::GroupIndices>,
    information: Vec<information::Value>,
    policy: Option<policy::Outcome>,
    pilots: Option<pilots::Pilots>,
}

impl Run<'_> {
    fn lifetime(&self, params: f64, st: &ConfigStats) -> f64 {
        self.cost.as_ref().map_or(f64::NAN, |c| c.total(params, st))
    }

    /// The recommendation of `basis` for `plan` (refined from grid plan `i`) with its statistics.
    fn recommend(
        &self,
        basis: Basis,
        i: usize,
        plan: refine::Plan,
        stats: ConfigStats,
    ) -> Recommendation {
        let (tokens_trained, hours_used) = trained(
            self.draws,
            self.settings,
            (plan.params, plan.tokens, plan.hours),
        );
        Recommendation {
            objective: basis,
            index: i,
            params: plan.params,
            tokens: plan.tokens,
            hours: plan.hours,
            stats,
            lifetime_gpu_hours: self.lifetime(plan.params, &stats),
            tokens_trained,
            hours_used,
            grid: grid_plan(self.grid, i, &self.eval.stats[i]),
        }
    }

    /// Each objective's plan among the candidates, refined off the grid, and the
    /// objectives no plan meets, with why.
    fn objective_plans(
        &self,
        candidates: &[usize],
    ) -> (Vec<Recommendation>, Vec<(String, String)>) {
        use rayon::prelude::*;
        // Each objective's plan is refined on its own (a sequential search each): side by side.
        let per_objective: Vec<_> = self
            .s
            .decision
            .objectives
            .par_iter()
            .map(|&o| self.objective_plan(o, candidates))
            .collect();
        let (recommendations, unmet): (Vec<_>, Vec<_>) = per_objective.into_iter().unzip();
        (
            recommendations.into_iter().flatten().collect(),
            unmet.into_iter().flatten().collect(),
        )
    }

    /// Objective `o`'s plan, refined off the grid from its grid plan, or why there is none.
    fn objective_plan(
        &self,
        o: Objective,
        candidates: &[usize],
    ) -> (Option<Recommendation>, Option<(String, String)>) {
        let (s, grid, eval) = (self.s, self.grid, self.eval);
        let conf = s.decision.target_confidence;
        let mut unmet = None;
        let chosen = match (o, &self.cost) {
            (Objective::LifetimeCost, Some(c)) => {
                let ok: Vec<usize> = candidates
                    .iter()
                    .copied()
                    .filter(|&i| eval.stats[i].p_target >= conf)
                    .collect();
                let best = argmin_by(&ok, &eval.stats, |i| {
                    c.total(grid.config(i).0, &eval.stats[i])
                });
                if best.is_none() {
                    unmet = Some((
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
        let Some(i) = chosen else {
            return (None, unmet);
        };
        let objective = |plan: &refine::Plan, st: &ConfigStats| match o {
            Objective::LifetimeCost if !(st.p_target >= conf) => f64::INFINITY,
            Objective::LifetimeCost => self.lifetime(plan.params, st),
            _ => score(o, st),
        };
        let (plan, st) = refine::refine(
            &self.evaluator,
            &self.bounds,
            grid_point(grid, i),
            &objective,
        );
        (
            Some(self.recommend(Basis::Objective(o), i, plan, st)),
            unmet,
        )
    }

    /// What `min_completion` costs: the expected-loss plan under it against the one without it
    /// (the candidates at min_completion = 0), both refined off the grid as the recommendations
    /// are, so the report compares the plans it shows.
    fn constraint_cost(&self, candidates: &[usize]) -> Option<ConstraintCost> {
        let (s, grid, draws, eval) = (self.s, self.grid, self.draws, self.eval);
        let free = cpu::Settings {
            min_completion: 0.0,
            ..*self.settings
        };
        let free_set = free.candidates(grid, draws);
        let unconstrained = free_set.indices(grid);
        let by_mean = |_: &refine::Plan, st: &ConfigStats| st.loss_mean;
        match (
            choose(Objective::Expected, candidates, &eval.stats),
            choose(Objective::Expected, &unconstrained, &eval.stats),
        ) {
            (Some(a), Some(b)) if s.decision.min_completion > 0.0 && a != b => {
                let (_, held) =
                    refine::refine(&self.evaluator, &self.bounds, grid_point(grid, a), &by_mean);
                let free_bounds = refine::Bounds::for_candidates(grid, &free, draws, &free_set);
                let (plan, st) =
                    refine::refine(&self.evaluator, &free_bounds, grid_point(grid, b), &by_mean);
                Some(ConstraintCost {
                    loss_mean: held.loss_mean - st.loss_mean,
                    unconstrained: self.recommend(Basis::ExpectedUnconstrained, b, plan, st),
                })
            }
            _ => None,
        }
    }

    /// The baselines, the frontier, sensitivity, variance indices, the policy and the value of
    /// information, around the first objective's plan.
    fn more(&self, recommendations: &[Recommendation]) -> More {
        let (s, grid, draws, eval, settings) =
            (self.s, self.grid, self.draws, self.eval, self.settings);
        let evaluator = &self.evaluator;
        let point = sampling::point_draw(s);
        let mut baselines = Vec::new();
        if let Some(i) = baselines::point_estimate(settings, grid, &point) {
            let plan = baselines::refine_point_estimate(evaluator, grid, &point, i);
            baselines.push(self.recommend(Basis::PointEstimate, i, plan, evaluator.stats(&plan)));
        }
        if let Some(i) = baselines::twenty_tokens_per_param(grid, &point, settings) {
            let plan = baselines::twenty_tokens_per_param_plan(grid, &point, settings);
            baselines.push(self.recommend(
                Basis::TwentyTokensPerParam,
                i,
                plan,
                evaluator.stats(&plan),
            ));
        }
        let sensitivity = match recommendations.first() {
            Some(r) => {
                let plan = evaluator.column(&r.plan());
                let mut rows = sensitivity::rows(s, draws, &eval.optima, &plan);
                rows.extend(sensitivity::group_rows(s, draws, &plan));
                rows
            }
            None => Vec::new(),
        };
        // The frontier's levels, the variance indices and the value of information are
        // independent and each parallel only in part: run side by side they keep both cores
        // busy. Each draws from its own seeded streams, so the results are the same.
        let variance = || match recommendations.first() {
            Some(r) => {
                let plan_losses = evaluator.column(&r.plan());
                let all = indices::Outputs {
                    plan_losses: &plan_losses,
                    optima: &eval.optima,
                };
                indices::of_run(s, grid, draws, settings, &r.plan(), &all)
            }
            None => Vec::new(),
        };
        let information = || {
            let means: Vec<f64> = eval.stats.iter().map(|st| st.loss_mean).collect();
            information::values(s, grid, draws, settings, &means)
        };
        let ((levels, variance), information) = rayon::join(
            || rayon::join(|| frontier::levels(s, grid, draws, settings), variance),
            information,
        );
        let doubling = frontier::doubling(&levels, s.budget.hours);
        let l_star: Vec<f64> = eval.optima.iter().map(|o| o.loss_grid).collect();
        let policy = measure_then_set(
            s,
            grid,
            draws,
            settings,
            evaluator,
            recommendations,
            &l_star,
        );
        let pilots = s.decision.pilots.then(|| {
            pilots::pilots(
                settings,
                grid,
                draws,
                s.budget.hours,
                s.sampling.seed,
                s.decision.pilot_noise,
            )
        });
        More {
            baselines,
            levels,
            doubling,
            sensitivity,
            variance,
            information,
            policy,
            pilots: pilots.flatten(),
        }
    }
}

/// With a `law.mixture`, each member's oracle bands over the draws whose law it is.
fn member_bands(s: &Scenario, draws: &[Draw], eval: &Evaluation) -> Vec<MemberBands> {
    s.law
        .mixture
        .iter()
        .enumerate()
        .filter(|_| s.law.mixture.len() > 1)
        .filter_map(|(m, member)| {
            let optima: Vec<DrawOptimum> = eval
                .optima
                .iter()
                .zip(draws)
                .filter(|(_, d)| d.member as usize == m)
                .map(|(o, _)| *o)
                .collect();
            (!optima.is_empty()).then(|| MemberBands {
                preset: member.law.preset.clone(),
                weight: member.weight,
                draws: optima.len(),
                bands: OracleBands::of(&optima),
            })
        })
        .collect()
}

/// The first objective's plan against the range of the runs each law was fitted to.
fn fit_checks(s: &Scenario, recommendations: &[Recommendation]) -> Vec<FitCheck> {
    match recommendations.first() {
        Some(r) => fit_ranges(s)
            .into_iter()
            .map(|(preset, range)| {
                let tokens = r.tokens_trained.p50;
                FitCheck {
                    outside: range.outside(r.params, tokens),
                    preset,
                    range,
                    params: r.params,
                    tokens,
                }
            })
            .collect(),
        None => Vec::new(),
    }
}

/// The measure-then-set policy (`policy.rs`) where it applies: a cosine schedule (cut runs pay),
/// a hardware budget (a throughput to measure) and a finite expected-loss plan to compare with.
fn measure_then_set(
    s: &Scenario,
    grid: &Grid,
    draws: &[Draw],
    settings: &cpu::Settings,
    evaluator: &refine::Evaluator,
    recommendations: &[Recommendation],
    l_star: &[f64],
) -> Option<policy::Outcome> {
    if !crate::sampling::cut_runs_pay(draws) || s.budget.gpu_count().is_none() {
        return None;
    }
    let blind = recommendations
        .iter()
        .find(|r| r.objective == Basis::Objective(Objective::Expected))
        .filter(|r| r.tokens.is_finite())?;
    let plan = blind.plan();
    // Every objective but lifetime_cost (scored by cost, not by the statistics) with its plan's
    // score, for the policies searched as plans.
    let plans: Vec<(Objective, f64)> = recommendations
        .iter()
        .filter_map(|r| match r.objective {
            Basis::Objective(o) if o != Objective::LifetimeCost => Some((o, score(o, &r.stats))),
            _ => None,
        })
        .collect();
    policy::outcome(
        settings,
        grid,
        draws,
        s.sampling.seed,
        &plan,
        &evaluator.column(&plan),
        l_star,
        &plans,
    )
}
