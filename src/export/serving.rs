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

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let usd = r.scenario.budget.usd_per_gpu_hour;
    let confidence = r.scenario.decision.target_confidence;
    let rows = r.summary.serving.iter().map(|p| Row {
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
    });
    rows_csv(rows, 0)
}
