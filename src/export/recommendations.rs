//! `recommendations.csv`: one row per objective, then one per baseline (`point_estimate`,
//! `twenty_tokens_per_param`): `objective`, then the configs.csv columns of the plan (refined
//! off the grid, MODEL.md §5), then the grid plan it was refined from and the tokens the plan
//! actually trains (docs/OUTPUTS.md).

use serde::Serialize;

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{configs, rows_csv, Num};

/// The first column: which objective (or baseline) the row answers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Label {
    pub objective: &'static str,
}

/// The columns after the configs.csv ones.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Extra {
    pub grid_params: Num,
    pub grid_tokens: Num,
    pub grid_hours: Num,
    pub grid_loss_mean: Num,
    pub tokens_trained_p05: Num,
    pub tokens_trained_p50: Num,
    pub tokens_trained_p95: Num,
}

/// One row: the csv crate writes the three parts' fields side by side, header included.
pub type Row = (Label, configs::Row, Extra);

/// One row per objective, then per baseline.
fn rows(r: &RunResult) -> impl Iterator<Item = Row> + '_ {
    let ctx = configs::Context::of(r);
    (r.summary.recommendations.iter().chain(&r.summary.baselines)).map(move |rec| {
        let (g, b) = (&rec.grid, &rec.tokens_trained);
        (
            Label {
                objective: rec.objective.name(),
            },
            configs::row(
                r,
                &ctx,
                (rec.params, rec.tokens, rec.hours),
                true,
                &rec.stats,
            ),
            Extra {
                grid_params: Num(g.params),
                grid_tokens: Num(g.tokens),
                grid_hours: Num(g.hours),
                grid_loss_mean: Num(g.loss_mean),
                tokens_trained_p05: Num(b.p05),
                tokens_trained_p50: Num(b.p50),
                tokens_trained_p95: Num(b.p95),
            },
        )
    })
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    rows_csv::<Row>(rows(r), 0)
}

/// The same rows as typed columns (`export::table`).
pub fn table(r: &RunResult) -> Result<super::table::Table> {
    super::table::of_rows::<Row>(rows(r))
}
