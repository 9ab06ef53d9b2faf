//! `recommendations.csv`: one row per objective, then one per baseline (`point_estimate`,
//! `twenty_tokens_per_param`): `objective`, then the configs.csv columns of the plan (refined
//! off the grid, MODEL.md §5), then the grid plan it was refined from and the tokens the plan
//! actually trains (docs/OUTPUTS.md).

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{configs, csv_error, finish_csv, num};

/// Columns after the configs.csv ones.
pub const EXTRA: [&str; 7] = [
    "grid_params",
    "grid_tokens",
    "grid_hours",
    "grid_loss_mean",
    "tokens_trained_p05",
    "tokens_trained_p50",
    "tokens_trained_p95",
];

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["objective"];
    header.extend(configs::COLUMNS);
    header.extend(EXTRA);
    w.write_record(&header).map_err(csv_error)?;
    let ctx = configs::Context::of(r);
    for rec in r.summary.recommendations.iter().chain(&r.summary.baselines) {
        let mut cells = vec![rec.objective.clone()];
        cells.extend(configs::row(
            r,
            &ctx,
            (rec.params, rec.tokens, rec.hours),
            true,
            &rec.stats,
        ));
        let g = &rec.grid;
        let b = &rec.tokens_trained;
        cells.extend(
            [
                g.params,
                g.tokens,
                g.hours,
                g.loss_mean,
                b.p05,
                b.p50,
                b.p95,
            ]
            .map(num),
        );
        w.write_record(&cells).map_err(csv_error)?;
    }
    finish_csv(w)
}
