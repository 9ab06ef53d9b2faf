//! `draws.csv`: one row per draw with every per-draw input (so the draw can be re-evaluated from
//! this file alone) and the oracle's optimum.

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{csv_error, finish_csv, num};

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

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let coeffs = r.scenario.law.coeffs();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns(r)).map_err(csv_error)?;
    for (i, (d, o)) in r.draws.iter().zip(&r.evaluation.optima).enumerate() {
        let mut cells = vec![i.to_string()];
        cells.extend(coeffs.iter().map(|c| num(c.get(&d.coeffs))));
        let unique = if d.unique_tokens.is_finite() {
            num(d.unique_tokens)
        } else {
            String::new()
        };
        cells.extend([num(d.mfu), num(d.goodput), unique, num(d.throughput)]);
        if cosine(r) {
            cells.push(num(d.anneal));
        }
        if r.scenario.law.mixture.len() > 1 {
            cells.push(d.member.to_string());
        }
        cells.extend([o.params, o.tokens, o.hours, o.loss].map(num));
        w.write_record(&cells).map_err(csv_error)?;
    }
    finish_csv(w)
}
