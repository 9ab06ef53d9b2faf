//! `draws.csv`: one row per draw with every per-draw input (so the draw can be re-evaluated from
//! this file alone) and the oracle's optimum. The input columns are the table of
//! `sampling::inputs`.

use serde::Serialize;

use crate::error::Result;
use crate::pipeline::RunResult;
use crate::sampling::inputs::{self, Input};

use super::{csv_error, finish_csv, headerless_writer, Num};

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
    /// The per-draw columns.
    inputs: Vec<Cell>,
    params_opt: Num,
    tokens_opt: Num,
    hours_opt: Num,
    loss_opt: Num,
}

/// One input's cell: the mixture member as a whole number, unlimited unique tokens (∞) empty
/// (NaN in a table), every other value as [`Num`] writes it.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Member(u32),
    Value(Num),
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Cell::Member(m) => s.serialize_u32(*m),
            Cell::Value(x) => x.serialize(s),
        }
    }
}

fn cell(input: Input, d: &crate::sampling::Draw) -> Cell {
    match input {
        Input::LawMember => Cell::Member(d.member),
        Input::Unique if d.unique_tokens.is_infinite() => Cell::Value(Num(f64::NAN)),
        _ => Cell::Value(Num(input.value(d))),
    }
}

/// One row per draw.
fn rows(r: &RunResult) -> impl Iterator<Item = Row> + '_ {
    let cols = inputs::columns(&r.scenario);
    (r.draws.iter().zip(&r.evaluation.optima).enumerate()).map(move |(i, (d, o))| Row {
        draw: i,
        inputs: cols.iter().map(|&c| cell(c, d)).collect(),
        params_opt: Num(o.params),
        tokens_opt: Num(o.tokens),
        hours_opt: Num(o.hours),
        loss_opt: Num(o.loss),
    })
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let mut w = headerless_writer();
    w.write_record(columns(r)).map_err(csv_error)?;
    for row in rows(r) {
        w.serialize(row).map_err(csv_error)?;
    }
    finish_csv(w)
}

/// The same rows as typed columns (`export::table`).
pub fn table(r: &RunResult) -> Result<super::table::Table> {
    super::table::with_header(columns(r), rows(r))
}
