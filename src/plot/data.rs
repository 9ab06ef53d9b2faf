//! The parts of a run's CSVs the charts read, with errors naming the file, line and column.

use std::collections::HashMap;
use std::path::Path;

use crate::csvread::{Cells, Csv};
use crate::error::{Error, Result};

/// Largest run file `plot` reads (configs.csv of a 10-million-configuration grid is ~3 GB).
pub const MAX_TABLE_BYTES: u64 = 4 << 30;

/// One CSV as columns of numbers (text cells kept where a column is not numeric).
pub struct Table {
    pub file: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The line of the file each row is on (for messages).
    pub lines: Vec<u64>,
}

impl Table {
    pub fn parse(file: &str, text: &str) -> Result<Table> {
        let rd = Csv::new(text, Cells::Exact).map_err(|e| Error::input(file, e.to_string()))?;
        let headers: Vec<String> = rd.headers().iter().map(String::from).collect();
        // Every table `run` writes has its header, even without rows.
        if headers.iter().all(|h| h.is_empty()) {
            return Err(Error::input(
                file,
                "is empty (not even its header line); plot a folder written by `scalerisk run`",
            ));
        }
        for (i, h) in headers.iter().enumerate() {
            if headers[..i].contains(h) {
                return Err(Error::input(file, format!("names column {h:?} twice")));
            }
        }
        let (mut rows, mut lines) = (Vec::new(), Vec::new());
        for rec in rd {
            let rec =
                rec.map_err(|b| Error::input(file, format!("line {}: {}", b.line, b.error)))?;
            rows.push(rec.cells.iter().map(String::from).collect());
            lines.push(rec.line);
        }
        Ok(Table {
            file: file.to_string(),
            headers,
            rows,
            lines,
        })
    }

    fn index(&self, column: &str) -> Result<usize> {
        self.headers
            .iter()
            .position(|h| h == column)
            .ok_or_else(|| {
                Error::input(
                    &self.file,
                    format!("no column {column:?}; is this a scalerisk output folder?"),
                )
            })
    }

    /// A numeric column; empty cells are NaN.
    pub fn num(&self, column: &str) -> Result<Vec<f64>> {
        let j = self.index(column)?;
        self.rows
            .iter()
            .zip(&self.lines)
            .map(|(r, line)| {
                let cell = r.get(j).map_or("", String::as_str);
                if cell.is_empty() {
                    return Ok(f64::NAN);
                }
                // scalerisk writes a missing value as an empty cell and never NaN: a NaN is
                // a hand edit, and would be drawn as "NaN params".
                cell.parse::<f64>()
                    .ok()
                    .filter(|v| !v.is_nan())
                    .ok_or_else(|| {
                        Error::input(
                            &self.file,
                            format!("line {line}, column {column}: {cell:?} is not a number"),
                        )
                    })
            })
            .collect()
    }

    pub fn text(&self, column: &str) -> Result<Vec<String>> {
        let j = self.index(column)?;
        Ok(self
            .rows
            .iter()
            .map(|r| r.get(j).cloned().unwrap_or_default())
            .collect())
    }
}

/// The tables of one run.
pub struct RunTables {
    pub name: String,
    pub configs: Table,
    pub draws: Table,
    pub frontier: Table,
    pub recommendations: Table,
    pub sensitivity: Table,
    /// serving.csv, when the run served tokens (the `serving` chart is drawn only then).
    pub serving: Option<Table>,
    /// pilots.csv, when the run priced pilots (the `pilots` chart is drawn only then).
    pub pilots: Option<Table>,
    pub min_completion: f64,
    /// The run's budget hours (the committed budget).
    pub budget_hours: f64,
    pub illustrative: bool,
    /// A FLOPs budget (its hours are nominal): the frontier is drawn against compute.
    pub flops_budget: bool,
}

impl RunTables {
    /// From files by name (a folder on disk, or the bytes of a run about to be written).
    pub fn from_files(files: &HashMap<&str, &str>) -> Result<RunTables> {
        let get = |name: &str| {
            files.get(name).copied().ok_or_else(|| {
                Error::input(
                    name,
                    "missing; plot a folder written by `scalerisk run` (this version)",
                )
            })
        };
        let run: serde_json::Value = serde_json::from_str(get("run.json")?)
            .map_err(|e| Error::input("run.json", e.to_string()))?;
        if run["tool"] != "scalerisk" || !run["scenario"].is_object() {
            return Err(Error::input(
                "run.json",
                "is not a scalerisk run's (no \"tool\": \"scalerisk\" with its scenario); plot a folder written by `scalerisk run`",
            ));
        }
        let s = &run["scenario"];
        Ok(RunTables {
            name: s["name"].as_str().unwrap_or("run").to_string(),
            configs: Table::parse("configs.csv", get("configs.csv")?)?,
            draws: Table::parse("draws.csv", get("draws.csv")?)?,
            frontier: Table::parse("frontier.csv", get("frontier.csv")?)?,
            recommendations: Table::parse("recommendations.csv", get("recommendations.csv")?)?,
            sensitivity: Table::parse("sensitivity.csv", get("sensitivity.csv")?)?,
            serving: (files.get("serving.csv"))
                .map(|text| Table::parse("serving.csv", text))
                .transpose()?,
            pilots: (files.get("pilots.csv"))
                .map(|text| Table::parse("pilots.csv", text))
                .transpose()?,
            min_completion: s["decision"]["min_completion"].as_f64().unwrap_or(0.0),
            budget_hours: s["budget"]["hours"].as_f64().unwrap_or(f64::NAN),
            illustrative: s["law"]["illustrative"].as_bool().unwrap_or(false),
            flops_budget: s["budget"]["capacity"]["kind"] == "flops",
        })
    }

    pub fn from_dir(dir: &Path) -> Result<RunTables> {
        if !dir.is_dir() {
            return Err(Error::input(
                "OUTPUT_DIR",
                format!(
                    "{} is not a folder; give a folder written by `scalerisk run`",
                    dir.display()
                ),
            ));
        }
        let mut texts: Vec<(&str, String)> = Vec::new();
        for name in [
            "run.json",
            "configs.csv",
            "draws.csv",
            "frontier.csv",
            "recommendations.csv",
            "sensitivity.csv",
            "serving.csv",
            "pilots.csv",
        ] {
            let path = dir.join(name);
            match crate::scenario::read_text(&path, MAX_TABLE_BYTES, name) {
                Ok(text) => texts.push((name, text)),
                // Missing files are named by `from_files`; anything else (too large, not
                // UTF-8, unreadable) is said here.
                Err(e) if path.exists() => return Err(e),
                Err(_) => {}
            }
        }
        RunTables::from_files(&texts.iter().map(|(n, t)| (*n, t.as_str())).collect())
    }
}
