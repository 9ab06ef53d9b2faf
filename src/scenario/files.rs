//! CSV files a scenario points to: a column to resample, or a law's bootstrap draws.

use std::path::Path;

use crate::error::{Error, Result};

fn open(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

/// Positive finite numbers of one column of a CSV file.
pub fn load_column(path: &Path, column: &str, field: &str) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(field, format!("cannot read {}: {e}", path.display())))?;
    let mut rd = open(&text);
    let headers = rd
        .headers()
        .map_err(|e| Error::input(field, format!("{}: {e}", path.display())))?
        .clone();
    let idx = headers.iter().position(|h| h == column).ok_or_else(|| {
        Error::input(
            field,
            format!(
                "{} has no column {column:?}; columns: {}",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let mut out = Vec::new();
    for (row, rec) in rd.records().enumerate() {
        let line = row + 2;
        let rec =
            rec.map_err(|e| Error::input(field, format!("{} line {line}: {e}", path.display())))?;
        let cell = rec.get(idx).unwrap_or("");
        let v: f64 = cell
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                Error::input(
                    field,
                    format!(
                        "{} line {line}, column {column}: {cell:?} is not a finite number",
                        path.display()
                    ),
                )
            })?;
        out.push(v);
    }
    if out.is_empty() {
        return Err(Error::input(
            field,
            format!("{} has no data rows", path.display()),
        ));
    }
    Ok(out)
}

/// Rows (E, A, B, alpha, beta) of a bootstrap CSV. Columns are either `E,A,B,alpha,beta`
/// (`scalerisk fit`) or the log-space `logA,logB,logE,alpha,beta` of Epoch's draws; order is free,
/// extra columns are ignored.
pub fn load_law_draws(text: &str, field: &str) -> Result<Vec<[f64; 5]>> {
    let mut rd = open(text);
    let headers = rd
        .headers()
        .map_err(|e| Error::input(field, e.to_string()))?
        .clone();
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| headers.iter().position(|h| h == *n))
    };
    // (column index, whether it holds a natural log) for E, A, B, alpha, beta.
    let mut cols = Vec::new();
    for (plain, logs) in [
        ("E", ["logE", "lnE"]),
        ("A", ["logA", "lnA"]),
        ("B", ["logB", "lnB"]),
    ] {
        match (find(&[plain]), find(&logs)) {
            (Some(i), _) => cols.push((i, false)),
            (None, Some(i)) => cols.push((i, true)),
            (None, None) => {
                return Err(Error::input(
                    field,
                    format!(
                        "no column {plain} (or {}); columns: {}",
                        logs[0],
                        headers.iter().collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        }
    }
    for name in ["alpha", "beta"] {
        cols.push((
            find(&[name]).ok_or_else(|| Error::input(field, format!("no column {name}")))?,
            false,
        ));
    }
    let mut rows = Vec::new();
    for (r, rec) in rd.records().enumerate() {
        let line = r + 2;
        let rec = rec.map_err(|e| Error::input(field, format!("line {line}: {e}")))?;
        let mut row = [0.0; 5];
        for (slot, (i, is_log)) in row.iter_mut().zip(&cols) {
            let cell = rec.get(*i).unwrap_or("");
            let v: f64 = cell
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    Error::input(
                        field,
                        format!(
                            "line {line}, column {}: {cell:?} is not a finite number",
                            &headers[*i]
                        ),
                    )
                })?;
            *slot = if *is_log { v.exp() } else { v };
        }
        if row.iter().skip(1).any(|v| *v <= 0.0) || row[0] < 0.0 {
            return Err(Error::input(
                field,
                format!("line {line}: A, B, alpha, beta must be > 0 and E >= 0"),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::input(field, "no data rows"));
    }
    Ok(rows)
}
