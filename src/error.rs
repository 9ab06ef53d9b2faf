//! Library errors: bad input (exit code 2) versus failures while running (exit code 1).

use thiserror::Error;

/// Everything the library can refuse or fail at.
#[derive(Debug, Error)]
pub enum Error {
    /// A scenario field, flag or CSV cell is invalid: fix the named field and run again.
    #[error("{field}: {message}")]
    Input { field: String, message: String },
    /// A file could not be read or written: check the path and permissions. The OS error is
    /// part of the message, not a `source`, so that a context chain prints it once.
    #[error("{path}: {err}")]
    Io { path: String, err: std::io::Error },
    /// The computation itself failed (device lost, out of memory): retry, or use `--backend cpu`.
    #[error("{0}")]
    Runtime(String),
    /// The caller stopped the run (`pipeline::Hooks::cancel`); nothing was produced.
    #[error("the run was cancelled")]
    Cancelled,
}

impl Error {
    /// A bad-input error naming the field, the value and what is allowed.
    pub fn input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            field: field.into(),
            message: message.into(),
        }
    }

    /// True when the user must change an input (exit code 2), false for runtime failures.
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Input { .. })
    }

    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            err: source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Print one line on stderr. A full or closed stderr loses the line but never panics (as
/// `eprintln!` would), so the exit code stays the one the run earned.
pub fn say(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// A number as a message shows it: short, in scientific form outside [1e-3, 1e6) (`1e-300`,
/// `7.2e6`, `0.35`), never the hundreds of digits `{}` gives 1e300.
pub fn short(x: f64) -> String {
    if !x.is_finite() {
        format!("{x}")
    } else if x != 0.0 && !(1e-3..1e6).contains(&x.abs()) {
        let t = format!("{x:.3e}");
        let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{e}")
    } else {
        format!("{}", (x * 1e4).round() / 1e4)
    }
}
