//! `information.csv`: what knowing each group of inputs before choosing is worth to the
//! expected-loss decision (EVPPI), and everything at once (EVPI, group `all`); docs/OUTPUTS.md.

use serde::Serialize;

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{csv_error, finish_csv, headerless_writer, Num};

/// Deciles of the group's inputs, each with the expected-loss plan's parameters.
const DECILES: usize = 10;

/// One row (the header, with its numbered decile columns, is written from [`header`]).
#[derive(Debug, Clone, Serialize)]
struct Row<'a> {
    group: &'a str,
    /// The group's inputs, space-separated.
    inputs: String,
    value: Num,
    se: Num,
    /// `decile_k_params`; an empty cell where the group has fewer deciles.
    decile_params: [Num; DECILES],
}

pub fn header() -> Vec<String> {
    let mut h: Vec<String> = ["group", "inputs", "value", "se"]
        .map(String::from)
        .to_vec();
    h.extend((1..=DECILES).map(|k| format!("decile_{k}_params")));
    h
}

/// One row per group, then `all`.
fn rows(r: &RunResult) -> impl Iterator<Item = Row<'_>> {
    r.summary.information.iter().map(|v| Row {
        group: &v.group,
        inputs: v.inputs.join(" "),
        value: Num(v.value),
        se: Num(v.se),
        decile_params: std::array::from_fn(|k| {
            Num(v.decile_params.get(k).copied().unwrap_or(f64::NAN))
        }),
    })
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let mut w = headerless_writer();
    w.write_record(header()).map_err(csv_error)?;
    for row in rows(r) {
        w.serialize(row).map_err(csv_error)?;
    }
    finish_csv(w)
}

/// The same rows as typed columns (`export::table`).
pub fn table(r: &RunResult) -> Result<super::table::Table> {
    super::table::with_header(header(), rows(r))
}
