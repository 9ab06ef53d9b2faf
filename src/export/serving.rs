//! `serving.csv`: expected loss against lifetime cost, the plans no other candidate beats on
//! both, cheapest first (`aggregate::serving`; docs/OUTPUTS.md). Written only when the scenario
//! serves tokens (`decision.inference_tokens`).

use serde::Serialize;

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{rows_csv, Num};

/// One row: the field names are the header, in order (docs/OUTPUTS.md).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    pub params: Num,
    pub tokens: Num,
    pub hours: Num,
    pub tokens_per_param: Num,
    pub loss_mean: Num,
    pub loss_se: Num,
    pub p_target: Num,
    pub reaches_target: bool,
    pub training_gpu_hours: Num,
    pub inference_gpu_hours: Num,
    pub lifetime_gpu_hours: Num,
    pub lifetime_cost_usd: Num,
}

/// Whether a run has this table: when its scenario serves tokens.
pub fn written(r: &RunResult) -> bool {
    r.scenario.decision.inference_tokens.is_some()
}

fn rows(r: &RunResult) -> impl Iterator<Item = Row> + '_ {
    let usd = r.scenario.budget.usd_per_gpu_hour;
    let confidence = r.scenario.decision.target_confidence;
    r.summary.serving.iter().map(move |p| Row {
        params: Num(p.params),
        tokens: Num(p.tokens),
        hours: Num(p.hours),
        tokens_per_param: Num(p.tokens / p.params),
        loss_mean: Num(p.loss_mean),
        loss_se: Num(p.loss_se),
        p_target: Num(p.p_target),
        reaches_target: p.p_target >= confidence,
        training_gpu_hours: Num(p.training_gpu_hours),
        inference_gpu_hours: Num(p.inference_gpu_hours),
        lifetime_gpu_hours: Num(p.lifetime_gpu_hours),
        lifetime_cost_usd: Num(usd.map_or(f64::NAN, |u| u * p.lifetime_gpu_hours)),
    })
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    rows_csv(rows(r), 0)
}

/// The same rows as typed columns (`export::table`).
pub fn table(r: &RunResult) -> Result<super::table::Table> {
    super::table::of_rows::<Row>(rows(r))
}
