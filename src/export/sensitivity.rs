//! `sensitivity.csv`: one row per uncertain input, strongest driver of the plan's loss first:
//! the marginal Spearman correlations and tornado deciles of the input, then the group it
//! belongs to and that group's Sobol indices (docs/OUTPUTS.md).

use serde::Serialize;

use crate::aggregate::indices::{GroupIndices, Indices};
use crate::error::Result;
use crate::pipeline::RunResult;

use super::{csv_error, finish_csv, headerless_writer, Num};

pub const COLUMNS: [&str; 8] = [
    "input",
    "rho_loss_opt",
    "rho_params_opt",
    "rho_tokens_opt",
    "rho_loss_recommended",
    "tornado_low",
    "tornado_high",
    "group",
];

/// The outputs whose indices follow, in column order.
pub const OUTPUTS: [&str; 4] = ["loss_recommended", "params_opt", "tokens_opt", "loss_opt"];

/// The header: [`COLUMNS`], then per output s1, s1_lo, s1_hi, st, st_lo, st_hi.
pub fn header() -> Vec<String> {
    let mut h: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    for o in OUTPUTS {
        for k in ["s1", "s1_lo", "s1_hi", "st", "st_lo", "st_hi"] {
            h.push(format!("{k}_{o}"));
        }
    }
    h
}

/// The group of a sensitivity input (its name as in draws.csv): the group whose inputs hold it,
/// the law's `lnA` standing for `A`.
fn group_of<'a>(groups: &'a [GroupIndices], input: &str) -> Option<&'a GroupIndices> {
    groups.iter().find(|g| {
        g.group == input
            || g.inputs
                .iter()
                .any(|i| i == input || i.strip_prefix("ln") == Some(input))
    })
}

/// One row, in [`header`] order.
#[derive(Debug, Clone, Serialize)]
struct Row<'a> {
    input: &'a str,
    rho_loss_opt: Num,
    rho_params_opt: Num,
    rho_tokens_opt: Num,
    rho_loss_recommended: Num,
    tornado_low: Num,
    tornado_high: Num,
    /// Empty for an input in no group.
    group: &'a str,
    /// Per output of [`OUTPUTS`]: s1, s1_lo, s1_hi, st, st_lo, st_hi (empty without a group).
    indices: [[Num; 6]; OUTPUTS.len()],
}

/// The six cells of one output's indices.
fn cells(x: Option<Indices>) -> [Num; 6] {
    x.map_or([f64::NAN; 6], |x| {
        [
            x.first.value,
            x.first.lo,
            x.first.hi,
            x.total.value,
            x.total.lo,
            x.total.hi,
        ]
    })
    .map(Num)
}

/// One row per input, widest tornado first.
fn rows(r: &RunResult) -> impl Iterator<Item = Row<'_>> {
    let mut rows: Vec<_> = r.summary.sensitivity.iter().collect();
    rows.sort_by(|a, b| {
        (b.tornado_high - b.tornado_low)
            .abs()
            .total_cmp(&(a.tornado_high - a.tornado_low).abs())
    });
    rows.into_iter().map(|row| {
        let g = group_of(&r.summary.variance, &row.input);
        let idx: [Option<Indices>; 4] = match g {
            Some(g) => [
                Some(g.loss_plan),
                Some(g.params_opt),
                Some(g.tokens_opt),
                Some(g.loss_opt),
            ],
            None => [None; 4],
        };
        Row {
            input: &row.input,
            rho_loss_opt: Num(row.rho_loss_opt),
            rho_params_opt: Num(row.rho_params_opt),
            rho_tokens_opt: Num(row.rho_tokens_opt),
            rho_loss_recommended: Num(row.rho_loss_recommended),
            tornado_low: Num(row.tornado_low),
            tornado_high: Num(row.tornado_high),
            group: g.map_or("", |g| &g.group),
            indices: idx.map(cells),
        }
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
