//! `configs.csv`: one row per candidate configuration, columns fixed (docs/OUTPUTS.md).

use crate::backend::ConfigStats;
use crate::error::Result;
use crate::pipeline::RunResult;

use super::{csv_error, num};

/// The fixed header of configs.csv (and of recommendations.csv after `objective`).
pub const COLUMNS: [&str; 21] = [
    "params",
    "tokens",
    "hours",
    "tokens_per_param",
    "feasible",
    "loss_mean",
    "loss_sd",
    "loss_se",
    "loss_p05",
    "loss_p50",
    "loss_p95",
    "loss_cvar95",
    "p_complete",
    "p_target",
    "regret_mean",
    "regret_p95",
    "regret_max",
    "p_best",
    "gpu_hours_mean",
    "cost_usd_mean",
    "extrapolates",
];

/// What a row needs beyond the plan: the law's fitted ranges and the median throughput, for the
/// `extrapolates` flag (the tokens a plan trains at the median throughput against the ranges).
pub struct Context {
    ranges: Vec<(String, crate::presets::laws::FitRange)>,
    throughput_p50: f64,
}

impl Context {
    pub fn of(r: &RunResult) -> Self {
        let mut x: Vec<f64> = r.draws.iter().map(|d| d.throughput).collect();
        Context {
            ranges: crate::aggregate::fit_ranges(&r.scenario),
            throughput_p50: crate::stats::quantile(&mut x, 0.5),
        }
    }

    fn extrapolates(&self, r: &RunResult, (p, d, t): (f64, f64, f64)) -> bool {
        let b = &r.scenario.budget;
        let kp = crate::law::flops_per_token(b.flops_per_param_token, b.attention, p);
        let cap = crate::law::capacity(self.throughput_p50, t, kp);
        crate::aggregate::extrapolates(&self.ranges, p, d.min(cap))
    }
}

/// The cells of one plan (P, D, T), in [`COLUMNS`] order; D = ∞ (until the deadline) is
/// written `inf`.
pub fn row(
    r: &RunResult,
    ctx: &Context,
    (p, d, t): (f64, f64, f64),
    feasible: bool,
    s: &ConfigStats,
) -> Vec<String> {
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
    let v = [
        p,
        d,
        t,
        d / p,
        f64::NAN,
        s.loss_mean,
        s.loss_sd,
        s.loss_se,
        s.loss_p05,
        s.loss_p50,
        s.loss_p95,
        s.loss_cvar95,
        s.p_complete,
        s.p_target,
        s.regret_mean,
        s.regret_p95,
        s.regret_max,
        s.p_best,
        gpu_hours,
        cost,
    ];
    let mut cells: Vec<String> = v.iter().map(|x| num(*x)).collect();
    cells[4] = feasible.to_string();
    cells.push(ctx.extrapolates(r, (p, d, t)).to_string());
    cells
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let ctx = Context::of(r);
    let mut w = csv::Writer::from_writer(Vec::with_capacity(r.grid.len() * 200));
    w.write_record(COLUMNS).map_err(csv_error)?;
    for (i, s) in r.evaluation.stats.iter().enumerate() {
        w.write_record(row(r, &ctx, r.grid.config(i), r.grid.feasible(i), s))
            .map_err(csv_error)?;
    }
    super::finish_csv(w)
}
