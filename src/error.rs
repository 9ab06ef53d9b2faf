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
            message: short_numbers(&message.into()),
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

/// Print one line on stderr, its long numbers short ([`short_numbers`]). A full or closed
/// stderr loses the line but never panics (as `eprintln!` would), so the exit code stays the one
/// the run earned.
pub fn say(line: impl std::fmt::Display) {
    use std::io::Write;
    let line = short_numbers(&line.to_string());
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

/// Digits a number in a message may have before it is written in short form.
const LONG_NUMBER: usize = 16;

/// `text` with every number of more than [`LONG_NUMBER`] digits written by [`short`]: a value
/// echoed from the user's TOML (`1e300` comes back from the parser as 301 digits) or formatted
/// with `{}` anywhere in a message. One rule at the two places messages leave (the input error,
/// the line on stderr), instead of a `short` at every one of hundreds of format sites. Digits
/// inside a word (a file name `run-20261202123456789`) are left alone.
pub fn short_numbers(text: &str) -> String {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let starts = (b[i].is_ascii_digit()
            || (b[i] == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
            && (i == 0 || !word(b[i - 1]));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + usize::from(b[i] == b'-');
        let digits_from = j;
        while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
            j += 1;
        }
        // A trailing full stop ends a sentence, not the number.
        let mut end = j;
        while end > digits_from && b[end - 1] == b'.' {
            end -= 1;
        }
        let digits = b[digits_from..end]
            .iter()
            .filter(|c| c.is_ascii_digit())
            .count();
        let tail_ok = j >= b.len() || !(b[j].is_ascii_alphabetic() || b[j] == b'_');
        if digits > LONG_NUMBER && tail_ok {
            if let Ok(x) = text[i..end].parse::<f64>() {
                out.push_str(&text[copied..i]);
                out.push_str(&short(x));
                copied = end;
            }
        }
        i = j.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_are_shortened_and_nothing_else_changes() {
        let big = format!("{}", 1e300);
        let tiny = format!("{}", -1e-300);
        let msg = format!("budget.count: {big} is not allowed; [{tiny}, 0.35, 72] in run-12345678901234567890.csv.");
        assert_eq!(
            short_numbers(&msg),
            "budget.count: 1e300 is not allowed; [-1e-300, 0.35, 72] in run-12345678901234567890.csv."
        );
        let end = format!("at most {}.", 2.5e40);
        assert_eq!(short_numbers(&end), "at most 2.5e40.");
        // Sixteen digits stay as written (an exact integer a user may need to see).
        assert_eq!(
            short_numbers("seed 1234567890123456"),
            "seed 1234567890123456"
        );
        assert_eq!(short_numbers("ünïcode 7 ok"), "ünïcode 7 ok");
    }
}
