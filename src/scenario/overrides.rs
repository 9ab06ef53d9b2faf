//! `--set KEY=VALUE`: a what-if without editing the scenario file.

use toml::{Table, Value};

use crate::error::{Error, Result};

/// Set the dotted `KEY` of `table` to `VALUE`, read as a TOML value (`48`, `"a100-40gb"`,
/// `{ uniform = [0.3, 0.4] }`); a bare word that is not TOML is taken as a string.
pub fn apply_set(table: &mut Table, assignment: &str) -> Result<()> {
    let (key, raw) = assignment.split_once('=').ok_or_else(|| {
        Error::input(
            "--set",
            format!("{assignment:?} is not allowed; use KEY=VALUE, e.g. budget.hours=48"),
        )
    })?;
    // A value spans one line: text after a newline would be dropped by the TOML reading below
    // (or read as another key), so it is refused rather than silently lost.
    if raw.contains(['\n', '\r']) {
        return Err(Error::input(
            "--set",
            format!(
                "the value of {} holds a line break; give the value on one line",
                key.trim()
            ),
        ));
    }
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').collect();
    if key.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return Err(Error::input(
            "--set",
            format!("{key:?} is not a key; use dotted names such as budget.hours"),
        ));
    }
    let raw = raw.trim();
    let value = match format!("v = {raw}").parse::<Table>() {
        Ok(mut t) => t.remove("v").expect("parsed key v"),
        Err(_) => Value::String(raw.to_string()),
    };
    let mut cur = table;
    for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        cur = entry.as_table_mut().ok_or_else(|| {
            Error::input(
                "--set",
                format!(
                    "{} is a value, not a section; cannot set {key}",
                    parts[..=i].join(".")
                ),
            )
        })?;
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}
