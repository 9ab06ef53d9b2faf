//! `pilots.csv`: each pilot design priced against deciding now (`aggregate::pilots`;
//! docs/OUTPUTS.md). Written only with `decision.pilots`.

use serde::Serialize;

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{rows_csv, Num};

/// One row: the field names are the header, in order (docs/OUTPUTS.md).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    pub runs: usize,
    pub size_ratio: Num,
    pub share: Num,
    /// The pilots' sizes and tokens, space-separated, smallest first.
    pub params: String,
    pub tokens: String,
    pub flops: Num,
    pub hours_mean: Num,
    pub value: Num,
    pub value_se: Num,
    pub pays: bool,
    pub recommended: bool,
    pub decide_now_params: Num,
    pub evpi: Num,
}

/// Whether a run has this table.
pub fn written(r: &RunResult) -> bool {
    r.summary.pilots.is_some()
}

fn rows(r: &RunResult) -> impl Iterator<Item = Row> + '_ {
    let list = |v: Vec<f64>| {
        v.iter()
            .map(|x| ryu::Buffer::new().format(*x).to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    r.summary.pilots.iter().flat_map(move |p| {
        p.rows.iter().enumerate().map(move |(i, x)| Row {
            runs: x.runs,
            size_ratio: Num(x.ratio),
            share: Num(x.share),
            params: list(x.pilots.iter().map(|y| y.params).collect()),
            tokens: list(x.pilots.iter().map(|y| y.tokens).collect()),
            flops: Num(x.flops),
            hours_mean: Num(x.hours_mean),
            value: Num(x.value),
            value_se: Num(x.se),
            pays: x.pays,
            recommended: p.best == Some(i),
            decide_now_params: Num(p.decide_now_params),
            evpi: Num(p.evpi),
        })
    })
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    rows_csv(rows(r), 4096)
}
