//! `draws.csv`: one row per draw with every per-draw input (so the draw can be re-evaluated from
//! this file alone) and the oracle's optimum. The input columns are the table of
//! `sampling::inputs`.

use serde::Serialize;

use crate::error::Result;
use crate::pipeline::RunResult;
use crate::sampling::inputs::{self, Input};

use super::{csv_error, finish_csv, headerless_writer, num, Num};

/// Header: `draw`, the per-draw columns of [`inputs::columns`] (the law's coefficients,
/// `mfu,goodput,unique_tokens,throughput`, `anneal` under a cosine schedule, `law_member` with a
/// mixture), the oracle.
pub fn columns(r: &RunResult) -> Vec<String> {
    let mut h = vec!["draw".to_string()];
    h.extend(inputs::columns(&r.scenario).into_iter().map(Input::name));
    h.extend(["params_opt", "tokens_opt", "hours_opt", "loss_opt"].map(String::from));
    h
}

/// One row, in [`columns`] order.
#[derive(Debug, Clone, Serialize)]
struct Row {
    draw: usize,
    /// The per-draw columns, as [`cell`] writes them.
    inputs: Vec<String>,
    params_opt: Num,
    tokens_opt: Num,
    hours_opt: Num,
    loss_opt: Num,
}

/// One input's cell: the mixture member as a whole number, unlimited unique tokens (∞) empty,
/// every other value as `num` writes it.
fn cell(input: Input, d: &crate::sampling::Draw) -> String {
    match input {
        Input::LawMember => d.member.to_string(),
        Input::Unique if d.unique_tokens.is_infinite() => String::new(),
        _ => num(input.value(d)),
    }
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let cols = inputs::columns(&r.scenario);
    let mut w = headerless_writer();
    w.write_record(columns(r)).map_err(csv_error)?;
    for (i, (d, o)) in r.draws.iter().zip(&r.evaluation.optima).enumerate() {
        w.serialize(Row {
            draw: i,
            inputs: cols.iter().map(|&c| cell(c, d)).collect(),
            params_opt: Num(o.params),
            tokens_opt: Num(o.tokens),
            hours_opt: Num(o.hours),
            loss_opt: Num(o.loss),
        })
        .map_err(csv_error)?;
    }
    finish_csv(w)
}
