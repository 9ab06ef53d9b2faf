//! Exports: each format a pure `serialize(&RunResult) -> Vec<u8>` in its own file, and one
//! atomic writer that puts a run's folder in place only when every file is complete.

pub mod configs;
pub mod draws;
pub mod frontier;
pub mod information;
pub mod observed;
pub mod pilots;
pub mod recommendations;
pub mod run_json;
pub mod sensitivity;
pub mod serving;
pub mod table;
mod write;

pub use write::*;

use crate::error::{Error, Result};
use crate::pipeline::RunResult;

/// A number in the shortest representation that reads back to the same f64; NaN as an empty
/// cell (a statistic that does not apply, e.g. p_target without a target).
pub fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        let mut b = ryu::Buffer::new();
        b.format_finite(x).to_string()
    }
}

/// A CSV cell holding a number, written as [`num`] writes it (shortest round-trip text, `inf`
/// for "until the deadline", NaN as an empty cell), for the row structs the exports serialize.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Num(pub f64);

impl serde::Serialize for Num {
    /// Formats on the stack (ryu's buffer) and hands the csv writer a borrowed `str`: no heap
    /// allocation per cell, which is most of the output stage's cost on large grids. A serializer
    /// that is not human-readable (the in-memory tables of [`table`]) gets the f64 itself.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let x = self.0;
        if !s.is_human_readable() {
            s.serialize_f64(x)
        } else if x.is_nan() {
            s.serialize_str("")
        } else if x.is_infinite() {
            s.serialize_str(if x > 0.0 { "inf" } else { "-inf" })
        } else {
            s.serialize_str(ryu::Buffer::new().format_finite(x))
        }
    }
}

/// The files of a run, by name.
pub fn files(result: &RunResult) -> Result<Vec<(&'static str, Vec<u8>)>> {
    Ok([
        ("configs.csv", configs::serialize(result)?),
        ("draws.csv", draws::serialize(result)?),
        ("frontier.csv", frontier::serialize(result)?),
        ("information.csv", information::serialize(result)?),
        ("recommendations.csv", recommendations::serialize(result)?),
        ("sensitivity.csv", sensitivity::serialize(result)?),
        ("run.json", run_json::serialize(result)?),
    ]
    .into_iter()
    .chain(
        result
            .posterior
            .as_ref()
            .map(|p| Ok::<_, Error>(("observed.csv", observed::serialize(p)?)))
            .transpose()?,
    )
    .chain(
        pilots::written(result)
            .then(|| Ok::<_, Error>(("pilots.csv", pilots::serialize(result)?)))
            .transpose()?,
    )
    .chain(
        serving::written(result)
            .then(|| Ok::<_, Error>(("serving.csv", serving::serialize(result)?)))
            .transpose()?,
    )
    .collect())
}

/// Every file name a run folder may hold: what `run` writes and the charts `plot` adds.
pub const RUN_FILES: [&str; 23] = [
    "report.md",
    "configs.csv",
    "observed.csv",
    "draws.csv",
    "frontier.csv",
    "information.csv",
    "pilots.csv",
    "recommendations.csv",
    "sensitivity.csv",
    "serving.csv",
    "run.json",
    "loss_vs_params.svg",
    "frontier.svg",
    "tornado.svg",
    "allocation_density.svg",
    "serving.svg",
    "pilots.svg",
    "loss_vs_params.png",
    "frontier.png",
    "tornado.png",
    "allocation_density.png",
    "serving.png",
    "pilots.png",
];

pub(crate) fn csv_error(e: csv::Error) -> Error {
    Error::Runtime(format!("writing CSV: {e}"))
}

/// A CSV of `rows`, the header being `T`'s field names (the csv crate writes it with the first
/// row; with no rows, the header alone, from `T::default()`).
pub(crate) fn rows_csv<T: serde::Serialize + Default>(
    rows: impl IntoIterator<Item = T>,
    capacity: usize,
) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(capacity));
    let mut any = false;
    for row in rows {
        w.serialize(row).map_err(csv_error)?;
        any = true;
    }
    if !any {
        w.serialize(T::default()).map_err(csv_error)?;
        let bytes = finish_csv(w)?;
        let end = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        return Ok(bytes[..end].to_vec());
    }
    finish_csv(w)
}

/// `rows_csv` of the `n` rows `row(0)`, …, `row(n − 1)`, formatted in chunks on every core and
/// joined in order: the same bytes, since a row's cells do not depend on any other row. The
/// first chunk carries the header.
pub(crate) fn rows_csv_par<T: serde::Serialize + Default>(
    n: usize,
    row: impl Fn(usize) -> T + Sync,
) -> Result<Vec<u8>> {
    use rayon::prelude::*;
    const CHUNK: usize = 4096;
    let parts = (0..n.div_ceil(CHUNK).max(1))
        .into_par_iter()
        .map(|c| {
            let rows = (c * CHUNK..((c + 1) * CHUNK).min(n)).map(&row);
            if c == 0 {
                return rows_csv(rows, 0);
            }
            let mut w = headerless_writer();
            for r in rows {
                w.serialize(r).map_err(csv_error)?;
            }
            finish_csv(w)
        })
        .collect::<Result<Vec<Vec<u8>>>>()?;
    Ok(parts.concat())
}

/// A CSV writer to memory whose header the caller writes (`write_record`) because its columns
/// depend on the run (the law's coefficients, per-output indices); rows then go through
/// `serialize`.
pub(crate) fn headerless_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new())
}

/// The bytes of a CSV written to memory.
pub(crate) fn finish_csv(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    w.into_inner().map_err(|e| csv_error(e.into_error().into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks formatted apart and joined give the serial writer's bytes: one header, rows in
    /// order, across chunk boundaries, and the header alone for no rows.
    #[test]
    fn rows_formatted_in_chunks_join_to_the_serial_bytes() {
        #[derive(serde::Serialize, Default)]
        struct R {
            i: usize,
            x: Num,
        }
        let row = |i: usize| R {
            i,
            x: Num(1.0 / (i as f64 + 0.5)),
        };
        for n in [0, 1, 4095, 4096, 4097, 10_000] {
            let serial = rows_csv((0..n).map(row), 0).unwrap();
            let chunked = rows_csv_par(n, row).unwrap();
            assert!(serial == chunked, "{n} rows differ");
        }
    }

    #[test]
    fn num_cells_write_as_num_does() {
        #[derive(serde::Serialize, Default)]
        struct R {
            a: Num,
            b: Num,
            c: Num,
            d: bool,
        }
        let rows = [R {
            a: Num(0.1),
            b: Num(f64::INFINITY),
            c: Num(f64::NAN),
            d: true,
        }];
        let out = rows_csv(rows, 0).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a,b,c,d\n0.1,inf,,true\n");
    }

    #[test]
    fn no_rows_still_write_the_header() {
        let out = rows_csv(std::iter::empty::<frontier::Row>(), 0).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("budget_hours,flops_p50,"), "{text}");
        assert!(text.ends_with("robust_loss_mean,at_grid_edge\n"), "{text}");
        assert_eq!(text.lines().count(), 1);
        let out = rows_csv(std::iter::empty::<recommendations::Row>(), 0).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("objective,params,tokens,"), "{text}");
        assert!(text.ends_with("tokens_trained_p95\n"), "{text}");
    }
}
