//! CSV files a scenario points to: a column to resample, or a law's bootstrap draws.

use std::path::Path;

use crate::csvread::{Cells, Csv, Row};
use crate::error::{Error, Result};

/// Largest scenario file read (a scenario is a page of TOML).
pub const MAX_SCENARIO_BYTES: u64 = 1 << 20;
/// Largest CSV input read (a draws file, a column to resample, a runs CSV): 256 MiB.
pub const MAX_CSV_BYTES: u64 = 256 << 20;
pub use crate::law::MAX_TERM;

/// Every file this process has read as an input (scenario, draws file, column files, observed
/// runs, a runs CSV): a writer must never replace one, nor a folder holding one. Recorded where
/// the file is read, so an input added later is protected without naming it again.
static INPUTS: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// The inputs read so far (see [`INPUTS`]), as given (relative to the current folder).
pub fn inputs_read() -> Vec<std::path::PathBuf> {
    INPUTS.lock().map(|v| v.clone()).unwrap_or_default()
}

/// The text of an input file (recorded in [`inputs_read`]): see [`read_text_unrecorded`].
pub fn read_text(path: &Path, cap: u64, field: &str) -> Result<String> {
    if let Ok(mut v) = INPUTS.lock() {
        if !v.iter().any(|p| p == path) {
            v.push(path.to_path_buf());
        }
    }
    read_text_unrecorded(path, cap, field)
}

/// The text of a file, refused (naming `field`) when it cannot be read, is not a regular file
/// (a FIFO would block for ever, a device never end), is larger than `cap` bytes (read at most
/// `cap` + 1 bytes) or is not UTF-8. Opened non-blocking, so a FIFO is refused, not waited on.
pub fn read_text_unrecorded(path: &Path, cap: u64, field: &str) -> Result<String> {
    use std::io::Read;
    let fail =
        |what: String| Error::input(field, format!("cannot read {}: {what}", path.display()));
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_NONBLOCK);
    }
    let f = open.open(path).map_err(|e| fail(e.to_string()))?;
    let meta = f.metadata().map_err(|e| fail(e.to_string()))?;
    if meta.is_dir() {
        return Err(fail("it is a folder; give a file".into()));
    }
    if !meta.is_file() {
        return Err(fail(format!(
            "it is {}, not a regular file; give a file",
            kind_of(&meta.file_type())
        )));
    }
    let over = || {
        Error::input(
            field,
            format!(
                "{} is over the limit of {} MiB for this input",
                path.display(),
                cap >> 20
            ),
        )
    };
    if meta.len() > cap {
        return Err(over());
    }
    let mut bytes = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > cap {
        return Err(over());
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::input(
            field,
            format!(
                "{} is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Header names for a message: at most 8, each cut to 24 characters, so that a file of
/// another kind is not echoed back at length.
pub fn show_headers<'a>(headers: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = headers.collect();
    let mut shown: Vec<String> = all
        .iter()
        .take(8)
        .map(|h| {
            if h.chars().count() > 24 {
                format!("{:?}…", h.chars().take(24).collect::<String>())
            } else {
                format!("{h:?}")
            }
        })
        .collect();
    if all.len() > 8 {
        shown.push(format!("… ({} in all)", all.len()));
    }
    shown.join(", ")
}

/// Refuse a header row that names a column twice (which of the two is meant?).
pub fn check_unique_headers(headers: &csv::StringRecord, field: &str, what: &str) -> Result<()> {
    for (i, h) in headers.iter().enumerate() {
        if headers.iter().take(i).any(|g| g.eq_ignore_ascii_case(h)) {
            let h: String = h.chars().take(24).collect();
            return Err(Error::input(
                field,
                format!("{what} names column {h:?} twice; keep one"),
            ));
        }
    }
    Ok(())
}

/// Positive finite numbers of one column of a CSV file.
pub fn load_column(path: &Path, column: &str, field: &str) -> Result<Vec<f64>> {
    let text = read_text(path, MAX_CSV_BYTES, field)?;
    let rd = Csv::new(&text, Cells::Trimmed)
        .map_err(|e| Error::input(field, format!("{}: {e}", path.display())))?;
    let headers = rd.headers().clone();
    check_unique_headers(&headers, field, &path.display().to_string())?;
    let idx = headers.iter().position(|h| h == column).ok_or_else(|| {
        Error::input(
            field,
            format!(
                "{} has no column {column:?}; columns: {}",
                path.display(),
                show_headers(headers.iter())
            ),
        )
    })?;
    let mut out = Vec::new();
    for rec in rd {
        let Row { line, cells: rec } = rec.map_err(|b| {
            Error::input(
                field,
                format!("{} line {}: {}", path.display(), b.line, b.error),
            )
        })?;
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
    let rd = Csv::new(text, Cells::Trimmed).map_err(|e| Error::input(field, e.to_string()))?;
    let headers = rd.headers().clone();
    check_unique_headers(&headers, field, "the draws file")?;
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
            (Some(_), Some(j)) => {
                return Err(Error::input(
                    field,
                    format!(
                        "columns {plain} and {} both given; which one is meant? keep one",
                        &headers[j]
                    ),
                ))
            }
            (Some(i), _) => cols.push((i, false)),
            (None, Some(i)) => cols.push((i, true)),
            (None, None) => {
                return Err(Error::input(
                    field,
                    format!(
                        "no column {plain} (or {}); columns: {}; a draws file needs E,A,B,alpha,beta (or logE,logA,logB)",
                        logs[0],
                        show_headers(headers.iter())
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
    for rec in rd {
        let Row { line, cells: rec } =
            rec.map_err(|b| Error::input(field, format!("line {}: {}", b.line, b.error)))?;
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
        if let Some((name, v)) = ["E", "A", "B"]
            .iter()
            .zip(row)
            .find(|(_, v)| !(v.is_finite() && *v <= MAX_TERM))
        {
            return Err(Error::input(
                field,
                format!(
                    "line {line}: {name} = {v:e} is not allowed; E, A and B must be at most {MAX_TERM:e} (a loss no model has)"
                ),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::input(field, "no data rows"));
    }
    Ok(rows)
}

/// What a file system entry is, for messages ("a FIFO").
pub fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Where the range file of the draws at `draws` lies: beside them, `<stem>.range.csv`
/// (`scalerisk fit` writes it; a law with `draws_file` reads it).
pub fn draws_range_path(draws: &std::path::Path) -> std::path::PathBuf {
    let stem = draws
        .file_stem()
        .map_or_else(|| "draws".to_string(), |s| s.to_string_lossy().to_string());
    draws.with_file_name(format!("{stem}.range.csv"))
}
