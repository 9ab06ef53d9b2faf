//! Exports: each format a pure `serialize(&RunResult) -> Vec<u8>` in its own file, and one
//! atomic writer that puts a run's folder in place only when every file is complete.

pub mod configs;
pub mod draws;
pub mod frontier;
pub mod recommendations;
pub mod run_json;
pub mod sensitivity;

use std::path::{Path, PathBuf};

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

/// The files of a run, by name.
pub fn files(result: &RunResult) -> Result<Vec<(&'static str, Vec<u8>)>> {
    Ok(vec![
        ("configs.csv", configs::serialize(result)?),
        ("draws.csv", draws::serialize(result)?),
        ("frontier.csv", frontier::serialize(result)?),
        ("recommendations.csv", recommendations::serialize(result)?),
        ("sensitivity.csv", sensitivity::serialize(result)?),
        ("run.json", run_json::serialize(result)?),
    ])
}

/// Write `files` into `dir` as a whole: into a temporary folder beside it first, then renamed
/// into place, so that an interrupted run never leaves half-written files, and an existing
/// folder is replaced only when the new one is complete.
pub fn write_atomic<N: AsRef<str>>(dir: &Path, files: &[(N, Vec<u8>)]) -> Result<()> {
    let (parent, name) = parent_and_name(dir, "folder")?;
    recover_interrupted(parent, &name, dir);
    let pid = std::process::id();
    let tmp: PathBuf = parent.join(format!(".{name}.tmp-{pid}"));
    let old: PathBuf = parent.join(format!(".{name}.old-{pid}"));
    let result = (|| {
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        for (file, bytes) in files {
            let path = tmp.join(file.as_ref());
            std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        }
        if dir.exists() {
            std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| Error::io(dir, e))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        if old.exists() && !dir.exists() {
            let _ = std::fs::rename(&old, dir);
        }
    }
    result
}

/// The folder a target goes into (created) and the target's name; `kind` is "file" or
/// "folder", for the message when the path has no name.
fn parent_and_name<'a>(target: &'a Path, kind: &str) -> Result<(&'a Path, String)> {
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let name = target
        .file_name()
        .ok_or_else(|| Error::input("--out", format!("{} has no {kind} name", target.display())))?
        .to_string_lossy()
        .to_string();
    Ok((parent, name))
}

/// Clean up after a run of another process that was killed while writing `dir`: its temporary
/// folder (`.<name>.tmp-<pid>`) is removed, and if it died between moving the previous results
/// aside (`.<name>.old-<pid>`) and putting the new ones in place, the previous results go back.
/// Only folders of processes that no longer run are touched.
fn recover_interrupted(parent: &Path, name: &str, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = file.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let (kind, pid) = match rest.split_once('-') {
            Some((kind @ ("tmp" | "old"), pid)) => (kind, pid),
            _ => continue,
        };
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|p| p == std::process::id() || Path::new(&format!("/proc/{p}")).exists());
        if alive || !Path::new("/proc/self").exists() {
            continue;
        }
        let path = entry.path();
        if kind == "old" && !dir.exists() {
            let _ = std::fs::rename(&path, dir);
        } else {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Write one file as a whole: a temporary file beside it, renamed into place when complete.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (parent, name) = parent_and_name(path, "file")?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = std::fs::write(&tmp, bytes)
        .map_err(|e| Error::io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

pub(crate) fn csv_error(e: csv::Error) -> Error {
    Error::Runtime(format!("writing CSV: {e}"))
}

/// The bytes of a CSV written to memory.
pub(crate) fn finish_csv(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    w.into_inner().map_err(|e| csv_error(e.into_error().into()))
}
