//! `recommendations.csv`: one row per objective, then one per baseline (`point_estimate`,
//! `twenty_tokens_per_param`): `objective`, then the configs.csv columns.

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{configs, csv_error, finish_csv};

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["objective"];
    header.extend(configs::COLUMNS);
    w.write_record(&header).map_err(csv_error)?;
    for rec in r.summary.recommendations.iter().chain(&r.summary.baselines) {
        let mut cells = vec![rec.objective.clone()];
        cells.extend(configs::row(r, rec.index, &rec.stats));
        w.write_record(&cells).map_err(csv_error)?;
    }
    finish_csv(w)
}
