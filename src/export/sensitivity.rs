//! `sensitivity.csv`: one row per uncertain input, strongest driver of the plan's loss first.

use crate::error::Result;
use crate::pipeline::RunResult;

use super::{csv_error, finish_csv, num};

pub const COLUMNS: [&str; 7] = [
    "input",
    "rho_loss_opt",
    "rho_params_opt",
    "rho_tokens_opt",
    "rho_loss_recommended",
    "tornado_low",
    "tornado_high",
];

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(csv_error)?;
    let mut rows: Vec<_> = r.summary.sensitivity.iter().collect();
    rows.sort_by(|a, b| {
        (b.tornado_high - b.tornado_low)
            .abs()
            .total_cmp(&(a.tornado_high - a.tornado_low).abs())
    });
    for row in rows {
        let mut cells = vec![row.input.clone()];
        cells.extend(
            [
                row.rho_loss_opt,
                row.rho_params_opt,
                row.rho_tokens_opt,
                row.rho_loss_recommended,
                row.tornado_low,
                row.tornado_high,
            ]
            .map(num),
        );
        w.write_record(&cells).map_err(csv_error)?;
    }
    finish_csv(w)
}
