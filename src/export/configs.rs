//! `configs.csv`: one row per candidate configuration, columns fixed (docs/OUTPUTS.md).

use serde::Serialize;

use crate::backend::ConfigStats;
use crate::error::Result;
use crate::pipeline::RunResult;

use super::Num;

/// One row of configs.csv (and of recommendations.csv after `objective`): the field names are
/// the header, in order (docs/OUTPUTS.md); D = ∞ (until the deadline) is written `inf`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    pub params: Num,
    pub tokens: Num,
    pub hours: Num,
    pub tokens_per_param: Num,
    pub feasible: bool,
    pub loss_mean: Num,
    pub loss_sd: Num,
    pub loss_se: Num,
    pub loss_p05: Num,
    pub loss_p50: Num,
    pub loss_p95: Num,
    pub loss_cvar95: Num,
    pub p_complete: Num,
    pub p_target: Num,
    pub regret_mean: Num,
    pub regret_p95: Num,
    pub regret_max: Num,
    pub p_near_best: Num,
    pub gpu_hours_mean: Num,
    pub cost_usd_mean: Num,
    pub lifetime_gpu_hours: Num,
    pub lifetime_cost_usd: Num,
    pub extrapolates: bool,
}

/// What a row needs beyond the plan: the law's fitted ranges and the median throughput, for the
/// `extrapolates` flag (the tokens a plan trains at the median throughput against the ranges),
/// and the lifetime cost when the scenario serves tokens.
pub struct Context {
    ranges: Vec<(String, crate::presets::laws::FitRange)>,
    throughput_p50: f64,
    lifetime: Option<crate::aggregate::lifetime::Cost>,
}

impl Context {
    pub fn of(r: &RunResult) -> Self {
        let mut x: Vec<f64> = r.draws.iter().map(|d| d.throughput).collect();
        Context {
            ranges: crate::aggregate::fit_ranges(&r.scenario),
            throughput_p50: crate::stats::quantile(&mut x, 0.5),
            lifetime: crate::aggregate::lifetime::Cost::new(&r.scenario, &r.draws),
        }
    }

    fn extrapolates(&self, r: &RunResult, (p, d, t): (f64, f64, f64)) -> bool {
        let b = &r.scenario.budget;
        let kp = crate::law::flops_per_token(b.flops_per_param_token, b.attention, p);
        let cap = crate::law::capacity(self.throughput_p50, t, kp);
        crate::aggregate::extrapolates(&self.ranges, p, d.min(cap))
    }
}

/// The row of one plan (P, D, T).
pub fn row(
    r: &RunResult,
    ctx: &Context,
    (p, d, t): (f64, f64, f64),
    feasible: bool,
    s: &ConfigStats,
) -> Row {
    let gpu_hours = r
        .scenario
        .budget
        .gpu_count()
        .map_or(f64::NAN, |n| f64::from(n) * s.hours_mean);
    let cost = r
        .scenario
        .budget
        .usd_per_gpu_hour
        .map_or(f64::NAN, |usd| usd * gpu_hours);
    let lifetime = ctx.lifetime.as_ref().map_or(f64::NAN, |c| c.total(p, s));
    let lifetime_usd = r
        .scenario
        .budget
        .usd_per_gpu_hour
        .map_or(f64::NAN, |usd| usd * lifetime);
    Row {
        params: Num(p),
        tokens: Num(d),
        hours: Num(t),
        tokens_per_param: Num(d / p),
        feasible,
        loss_mean: Num(s.loss_mean),
        loss_sd: Num(s.loss_sd),
        loss_se: Num(s.loss_se),
        loss_p05: Num(s.loss_p05),
        loss_p50: Num(s.loss_p50),
        loss_p95: Num(s.loss_p95),
        loss_cvar95: Num(s.loss_cvar95),
        p_complete: Num(s.p_complete),
        p_target: Num(s.p_target),
        regret_mean: Num(s.regret_mean),
        regret_p95: Num(s.regret_p95),
        regret_max: Num(s.regret_max),
        p_near_best: Num(s.p_near_best),
        gpu_hours_mean: Num(gpu_hours),
        cost_usd_mean: Num(cost),
        lifetime_gpu_hours: Num(lifetime),
        lifetime_cost_usd: Num(lifetime_usd),
        extrapolates: ctx.extrapolates(r, (p, d, t)),
    }
}

/// Configuration `i`'s row.
fn row_at(r: &RunResult, ctx: &Context, i: usize) -> Row {
    row(
        r,
        ctx,
        r.grid.config(i),
        r.grid.feasible(i),
        &r.evaluation.stats[i],
    )
}

/// Every configuration's row, in index order (formatted on every core).
pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let ctx = Context::of(r);
    super::rows_csv_par(r.evaluation.stats.len(), |i| row_at(r, &ctx, i))
}

/// The same rows as typed columns (`export::table`).
pub fn table(r: &RunResult) -> Result<super::table::Table> {
    let ctx = Context::of(r);
    super::table::of_rows((0..r.evaluation.stats.len()).map(|i| row_at(r, &ctx, i)))
}
