//! `information.csv`: what knowing each group of inputs before choosing is worth to the
//! expected-loss decision (EVPPI), and everything at once (EVPI, group `all`); docs/OUTPUTS.md.

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{csv_error, finish_csv, num};

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["group", "inputs", "value", "se"]
        .map(String::from)
        .to_vec();
    header.extend((1..=10).map(|k| format!("decile_{k}_params")));
    w.write_record(&header).map_err(csv_error)?;
    for v in &r.summary.information {
        let mut cells = vec![v.group.clone(), v.inputs.join(" "), num(v.value), num(v.se)];
        cells.extend((0..10).map(|k| v.decile_params.get(k).map_or(String::new(), |p| num(*p))));
        w.write_record(&cells).map_err(csv_error)?;
    }
    finish_csv(w)
}
