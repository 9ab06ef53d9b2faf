//! `draws.csv`: one row per draw with every per-draw input (so the draw can be re-evaluated from
//! this file alone) and the oracle's optimum.

use serde::Serialize;

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{csv_error, finish_csv, headerless_writer, Num};

/// Whether the run carries a per-draw anneal gain (a cosine schedule).
fn cosine(r: &RunResult) -> bool {
    r.scenario.training.schedule == crate::scenario::Schedule::Cosine
}

/// Header: `draw`, the law's coefficients, `mfu,goodput,unique_tokens,throughput`, `anneal` under
/// a cosine schedule, the oracle.
pub fn columns(r: &RunResult) -> Vec<String> {
    let mut h = vec!["draw".to_string()];
    h.extend(r.scenario.law.names().iter().map(|s| s.to_string()));
    h.extend(["mfu", "goodput", "unique_tokens", "throughput"].map(String::from));
    if cosine(r) {
        h.push("anneal".to_string());
    }
    if r.scenario.law.mixture.len() > 1 {
        h.push("law_member".to_string());
    }
    h.extend(["params_opt", "tokens_opt", "hours_opt", "loss_opt"].map(String::from));
    h
}

/// One row, in [`columns`] order; the optional columns are left out (not left empty) when the
/// run has no such column.
#[derive(Debug, Clone, Serialize)]
struct Row {
    draw: usize,
    /// The law's coefficients, in `law.names()` order.
    coeffs: Vec<Num>,
    mfu: Num,
    goodput: Num,
    /// Empty when the run has no unique-token limit (∞).
    unique_tokens: Num,
    throughput: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    anneal: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    law_member: Option<u32>,
    params_opt: Num,
    tokens_opt: Num,
    hours_opt: Num,
    loss_opt: Num,
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let coeffs = r.scenario.law.coeffs();
    let mixture = r.scenario.law.mixture.len() > 1;
    let mut w = headerless_writer();
    w.write_record(columns(r)).map_err(csv_error)?;
    for (i, (d, o)) in r.draws.iter().zip(&r.evaluation.optima).enumerate() {
        w.serialize(Row {
            draw: i,
            coeffs: coeffs.iter().map(|c| Num(c.get(&d.coeffs))).collect(),
            mfu: Num(d.mfu),
            goodput: Num(d.goodput),
            unique_tokens: Num(if d.unique_tokens.is_finite() {
                d.unique_tokens
            } else {
                f64::NAN
            }),
            throughput: Num(d.throughput),
            anneal: cosine(r).then_some(Num(d.anneal)),
            law_member: mixture.then_some(d.member),
            params_opt: Num(o.params),
            tokens_opt: Num(o.tokens),
            hours_opt: Num(o.hours),
            loss_opt: Num(o.loss),
        })
        .map_err(csv_error)?;
    }
    finish_csv(w)
}
