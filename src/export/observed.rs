//! `observed.csv`: per observed run, the loss the model predicts at its planned end before and
//! after conditioning, and the effective sample size (docs/OUTPUTS.md). Written only by runs
//! with `[observations]`.

use serde::Serialize;

use crate::error::Result;
use crate::posterior::Posterior;

use super::{rows_csv, Num};

/// One row of observed.csv: the field names are the header, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    pub run: String,
    pub params: Num,
    pub planned_tokens: Num,
    pub rows: usize,
    pub rows_used: usize,
    pub last_tokens: Num,
    pub last_loss: Num,
    pub noise: Num,
    pub noise_estimated: bool,
    pub prior_mean: Num,
    pub prior_p05: Num,
    pub prior_p95: Num,
    pub mean: Num,
    pub p05: Num,
    pub p50: Num,
    pub p95: Num,
    pub ess: Num,
}

/// One row per observed run.
fn rows(p: &Posterior) -> impl Iterator<Item = Row> + '_ {
    p.runs.iter().map(|r| Row {
        run: r.run.clone(),
        params: Num(r.params),
        planned_tokens: Num(r.planned_tokens),
        rows: r.rows,
        rows_used: r.rows_used,
        last_tokens: Num(r.last_tokens),
        last_loss: Num(r.last_loss),
        noise: Num(r.noise),
        noise_estimated: r.noise_estimated,
        prior_mean: Num(r.prior_mean),
        prior_p05: Num(r.prior_p05),
        prior_p95: Num(r.prior_p95),
        mean: Num(r.mean),
        p05: Num(r.p05),
        p50: Num(r.p50),
        p95: Num(r.p95),
        ess: Num(r.ess),
    })
}

pub fn serialize(p: &Posterior) -> Result<Vec<u8>> {
    rows_csv(rows(p), 256 * (p.runs.len() + 1))
}

/// The same rows as typed columns (`export::table`).
pub fn table(p: &Posterior) -> Result<super::table::Table> {
    super::table::of_rows(rows(p))
}
