//! `frontier.csv`: one row per budget level (PRODUCT.md columns, then `at_grid_edge`).

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{csv_error, finish_csv, num};

pub const COLUMNS: [&str; 18] = [
    "budget_hours",
    "flops_p50",
    "params_p05",
    "params_p50",
    "params_p95",
    "tokens_p05",
    "tokens_p50",
    "tokens_p95",
    "tokens_per_param_p05",
    "tokens_per_param_p50",
    "tokens_per_param_p95",
    "loss_opt_p05",
    "loss_opt_p50",
    "loss_opt_p95",
    "robust_params",
    "robust_tokens",
    "robust_loss_mean",
    "at_grid_edge",
];

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(csv_error)?;
    for l in &r.summary.frontier {
        let v = [
            l.budget_hours,
            l.flops_p50,
            l.params.p05,
            l.params.p50,
            l.params.p95,
            l.tokens.p05,
            l.tokens.p50,
            l.tokens.p95,
            l.tokens_per_param.p05,
            l.tokens_per_param.p50,
            l.tokens_per_param.p95,
            l.loss_opt.p05,
            l.loss_opt.p50,
            l.loss_opt.p95,
            l.robust_params,
            l.robust_tokens,
            l.robust_loss_mean,
            l.at_grid_edge,
        ];
        w.write_record(v.map(num)).map_err(csv_error)?;
    }
    finish_csv(w)
}
