//! A sweep of training runs from CSV: `params`, `tokens` (or `flops`, then D = C / (6·P)), `loss`.
//!
//! Headers are matched case-insensitively; besides those names, the column names of Epoch AI's
//! extraction of Chinchilla's Figure 4 (`Model Size`, `Training FLOP`) are understood, so the
//! shipped `data/chinchilla_fig4_points.csv` fits as it is. Extra columns are ignored.

use std::path::Path;

use crate::csvread::{Cells, Csv, Row};
use crate::error::{Error, Result};

/// One training run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    pub params: f64,
    pub tokens: f64,
    pub loss: f64,
}

/// FLOPs per parameter per token when only `flops` is given (C = 6·P·D, Kaplan 2020).
pub const FLOPS_PER_PARAM_TOKEN: f64 = 6.0;

const PARAMS: &[&str] = &["params", "parameters", "n", "model size"];
const TOKENS: &[&str] = &["tokens", "d", "training tokens"];
const FLOPS: &[&str] = &["flops", "c", "training flop", "training flops"];
const LOSS: &[&str] = &["loss"];

/// The runs of a CSV file, refused with the line number at the first bad cell.
pub fn load(path: &Path) -> Result<Vec<Run>> {
    let field = path.display().to_string();
    let text = crate::scenario::read_text(path, crate::scenario::MAX_CSV_BYTES, &field)?;
    parse(&text, &field)
}

/// [`load`] on text already read; `field` names the source in messages.
pub fn parse(text: &str, field: &str) -> Result<Vec<Run>> {
    let rd = Csv::new(text, Cells::Trimmed).map_err(|e| Error::input(field, e.to_string()))?;
    let headers = rd.headers().clone();
    crate::scenario::check_unique_headers(&headers, field, "the runs CSV")?;
    let find = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let columns = crate::scenario::show_headers(headers.iter());
    let missing = |what: &str| {
        Error::input(
            field,
            format!("no {what} column; columns found: {columns}; a runs CSV needs params, tokens (or flops) and loss"),
        )
    };
    let p_col = find(PARAMS).ok_or_else(|| missing("params"))?;
    let l_col = find(LOSS).ok_or_else(|| missing("loss"))?;
    let d_col = match (find(TOKENS), find(FLOPS)) {
        (Some(i), _) => (i, false),
        (None, Some(i)) => (i, true),
        (None, None) => return Err(missing("tokens (or flops)")),
    };
    let mut runs = Vec::new();
    for rec in rd {
        let Row { line, cells: rec } =
            rec.map_err(|b| Error::input(field, format!("line {}: {}", b.line, b.error)))?;
        let cell = |i: usize| -> Result<f64> {
            let raw = rec.get(i).unwrap_or("");
            let v: f64 = raw.parse().map_err(|_| {
                Error::input(
                    field,
                    format!(
                        "line {line}, column {}: {raw:?} is not a number",
                        &headers[i]
                    ),
                )
            })?;
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::input(
                    field,
                    format!(
                        "line {line}, column {}: {raw} is not allowed; values must be finite and > 0",
                        &headers[i]
                    ),
                ));
            }
            Ok(v)
        };
        if runs.len() >= super::MAX_RUNS {
            return Err(Error::input(
                field,
                format!(
                    "more than {} runs; a fit reads at most {}",
                    super::MAX_RUNS,
                    super::MAX_RUNS
                ),
            ));
        }
        let params = cell(p_col)?;
        let d = cell(d_col.0)?;
        let tokens = if d_col.1 {
            d / (FLOPS_PER_PARAM_TOKEN * params)
        } else {
            d
        };
        if !(tokens.is_finite() && tokens > 0.0) {
            return Err(Error::input(
                field,
                format!(
                    "line {line}: flops / (6 · params) = {tokens:e} tokens is not allowed; it must be finite and > 0"
                ),
            ));
        }
        runs.push(Run {
            params,
            tokens,
            loss: cell(l_col)?,
        });
    }
    if runs.len() < super::N_COEFFS + 1 {
        return Err(Error::input(
            field,
            format!(
                "{} runs; a fit of {} coefficients needs at least {} (and bootstrap intervals need many more)",
                runs.len(),
                super::N_COEFFS,
                super::N_COEFFS + 1
            ),
        ));
    }
    Ok(runs)
}

/// Refuse runs that cannot identify E + A/P^α + B/D^β: fewer than two distinct model sizes or
/// token counts, or losses that do not vary.
pub fn check_identifiable(runs: &[Run], field: &str) -> Result<()> {
    let distinct = |get: fn(&Run) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(get).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    for (what, get) in [
        (
            "model sizes (params)",
            (|r: &Run| r.params) as fn(&Run) -> f64,
        ),
        ("token counts", |r: &Run| r.tokens),
        ("losses", |r: &Run| r.loss),
    ] {
        let v = distinct(get);
        if v.len() < 2 {
            return Err(Error::input(
                field,
                format!(
                    "every run has the same {what} ({}); the fit needs at least two distinct {what} to identify the law",
                    v.first().copied().unwrap_or(f64::NAN)
                ),
            ));
        }
    }
    Ok(())
}

/// The runs without the `k` highest losses (Epoch AI drop Chinchilla's 5 highest-loss points).
pub fn drop_highest(mut runs: Vec<Run>, k: usize) -> Vec<Run> {
    runs.sort_by(|a, b| a.loss.total_cmp(&b.loss));
    runs.truncate(runs.len().saturating_sub(k));
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_become_tokens_and_bad_cells_name_their_line() {
        let ok = "params,flops,loss\n1e8,6e17,3.0\n2e8,6e18,2.9\n3e8,6e18,2.8\n4e8,6e18,2.7\n5e8,6e18,2.6\n6e8,6e18,2.5\n";
        let runs = parse(ok, "f").unwrap();
        assert_eq!(runs[0].tokens, 6e17 / (6.0 * 1e8));
        let bad = ok.replace("2.8", "x");
        let e = parse(&bad, "f").unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("\"x\""), "{e}");
        let neg = ok.replace("2.8", "-2.8");
        assert!(parse(&neg, "f").unwrap_err().to_string().contains("> 0"));
        assert!(parse("params,loss\n1,2\n", "f")
            .unwrap_err()
            .to_string()
            .contains("no tokens (or flops) column"));
        let three: String = ok.lines().take(4).map(|l| format!("{l}\n")).collect();
        assert!(parse(&three, "f")
            .unwrap_err()
            .to_string()
            .contains("at least"));
    }
}
