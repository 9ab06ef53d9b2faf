//! `frontier.csv`: one row per budget level (PRODUCT.md columns, then `at_grid_edge`).

use serde::Serialize;

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{rows_csv, Num};

/// One row of frontier.csv: the field names are the header, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    pub budget_hours: Num,
    pub flops_p50: Num,
    pub params_p05: Num,
    pub params_p50: Num,
    pub params_p95: Num,
    pub tokens_p05: Num,
    pub tokens_p50: Num,
    pub tokens_p95: Num,
    pub tokens_per_param_p05: Num,
    pub tokens_per_param_p50: Num,
    pub tokens_per_param_p95: Num,
    pub loss_opt_p05: Num,
    pub loss_opt_p50: Num,
    pub loss_opt_p95: Num,
    pub robust_params: Num,
    pub robust_tokens: Num,
    pub robust_loss_mean: Num,
    pub at_grid_edge: Num,
}

/// One row per budget level.
fn rows(r: &RunResult) -> impl Iterator<Item = Row> + '_ {
    r.summary.frontier.iter().map(|l| Row {
        budget_hours: Num(l.budget_hours),
        flops_p50: Num(l.flops_p50),
        params_p05: Num(l.params.p05),
        params_p50: Num(l.params.p50),
        params_p95: Num(l.params.p95),
        tokens_p05: Num(l.tokens.p05),
        tokens_p50: Num(l.tokens.p50),
        tokens_p95: Num(l.tokens.p95),
        tokens_per_param_p05: Num(l.tokens_per_param.p05),
        tokens_per_param_p50: Num(l.tokens_per_param.p50),
        tokens_per_param_p95: Num(l.tokens_per_param.p95),
        loss_opt_p05: Num(l.loss_opt.p05),
        loss_opt_p50: Num(l.loss_opt.p50),
        loss_opt_p95: Num(l.loss_opt.p95),
        robust_params: Num(l.robust_params),
        robust_tokens: Num(l.robust_tokens),
        robust_loss_mean: Num(l.robust_loss_mean),
        at_grid_edge: Num(l.at_grid_edge),
    })
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    rows_csv(rows(r), 0)
}

/// The same rows as typed columns (`export::table`).
pub fn table(r: &RunResult) -> Result<super::table::Table> {
    super::table::of_rows(rows(r))
}
