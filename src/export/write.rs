//! Writing a run's files: the checks on a target before any work (folder, space, lock), the
//! atomic writers, and the cleanup after a killed run.

use std::path::{Path, PathBuf};

use super::RUN_FILES;
use crate::error::{Error, Result};

/// Whether `dir` holds a previous scalerisk run: a run.json whose `"tool"` is `"scalerisk"`.
pub fn is_run_folder(dir: &Path) -> bool {
    let path = dir.join("run.json");
    let Ok(text) = crate::scenario::read_text(&path, 16 << 20, "run.json") else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .is_ok_and(|v| v["tool"] == "scalerisk" && v.get("scenario").is_some())
}

/// What [`prepare_run_dir`] checks before a run's work starts.
pub struct Target<'a> {
    /// The flag that names the target, for messages (`--out`).
    pub flag: &'a str,
    /// Replace a folder whatever it holds (still never one that holds a protected path).
    pub force: bool,
    /// Paths the run reads (the scenario, its CSVs, the current folder): a target that holds
    /// one of them is refused even with `force`.
    pub protected: Vec<PathBuf>,
    /// Estimated bytes the run writes.
    pub bytes: f64,
}

/// Held while a run writes its folder: `.<name>.lock` beside it, holding the pid; removed on drop.
#[derive(Debug)]
pub struct Lock(PathBuf);

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pid_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Take `.<name>.lock` in `parent`, or refuse naming the live process that holds it.
fn take_lock(parent: &Path, name: &str, dir: &Path, flag: &str) -> Result<Lock> {
    let path = parent.join(format!(".{name}.lock"));
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(std::process::id().to_string().as_bytes())
                    .map_err(|e| Error::io(&path, e))?;
                return Ok(Lock(path));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok());
                match holder {
                    Some(pid) if pid_alive(pid) && Path::new("/proc/self").exists() => {
                        return Err(Error::input(
                            flag,
                            format!(
                                "{} is being written by another scalerisk run (pid {pid}, lock {}); wait for it to finish or use another folder",
                                dir.display(),
                                path.display()
                            ),
                        ));
                    }
                    // A lock left by a process that no longer runs (or unreadable): take it over.
                    _ => {
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
            Err(e) => return Err(not_writable(flag, dir, parent, &e)),
        }
    }
    Err(Error::input(
        flag,
        format!(
            "{} is locked by {} and the lock could not be taken over",
            dir.display(),
            path.display()
        ),
    ))
}

fn not_writable(flag: &str, target: &Path, at: &Path, e: &std::io::Error) -> Error {
    let why = match e.raw_os_error() {
        Some(36) => "the name is too long for the file system".to_string(),
        Some(30) => "the file system is read-only".to_string(),
        Some(13) | Some(1) => "permission denied".to_string(),
        _ => e.to_string(),
    };
    Error::input(
        flag,
        format!(
            "{} cannot be written: {why} (at {}); choose another path",
            target.display(),
            at.display()
        ),
    )
}

/// The nearest folder of `path`'s ancestors that exists (`.` for a bare name).
fn existing_ancestor(path: &Path) -> PathBuf {
    let mut p = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    while !p.exists() {
        p = p
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
    }
    p.to_path_buf()
}

/// Bytes free for an unprivileged user on the file system of `path` (None where unknown).
#[cfg(unix)]
pub fn free_bytes(path: &Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain old data, for which all-zero bytes are a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then_some(st.f_bavail as f64 * st.f_frsize as f64)
}

#[cfg(not(unix))]
pub fn free_bytes(_path: &Path) -> Option<f64> {
    None
}

fn check_space(flag: &str, target: &Path, at: &Path, bytes: f64) -> Result<()> {
    if let Some(free) = free_bytes(at) {
        // The new folder is complete before the previous one goes: both exist for a moment.
        if bytes > free {
            return Err(Error::input(
                flag,
                format!(
                    "{} needs about {:.2} GB but {} has {:.2} GB free; free some space, choose another folder, or use fewer draws or grid points",
                    target.display(),
                    bytes / 1e9,
                    at.display(),
                    free / 1e9
                ),
            ));
        }
    }
    Ok(())
}

/// Every check a run's output folder needs, before any work: not a file; not holding the
/// scenario, its CSVs or the current folder; empty, a previous run's folder, or `force`;
/// writable with names that fit; enough free space; not being written by another run (a lock
/// is taken and held until the returned [`Lock`] drops).
pub fn prepare_run_dir(dir: &Path, t: &Target) -> Result<Lock> {
    let flag = t.flag;
    if dir.exists() && !dir.is_dir() {
        return Err(Error::input(
            flag,
            format!(
                "{} exists and is not a folder; give a folder path",
                dir.display()
            ),
        ));
    }
    if dir.is_dir() {
        let canon = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        for p in &t.protected {
            if let Ok(pc) = p.canonicalize() {
                if pc.starts_with(&canon) {
                    return Err(Error::input(
                        flag,
                        format!(
                            "{} holds {}, which this run reads or works in; replacing the folder would delete it; give a new folder",
                            dir.display(),
                            p.display()
                        ),
                    ));
                }
            }
        }
        if dir.file_name().is_none() {
            return Err(Error::input(
                flag,
                format!(
                    "{} has no folder name; give a folder such as output/run1",
                    dir.display()
                ),
            ));
        }
        let entries: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| not_writable(flag, dir, dir, &e))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        let foreign = entries.iter().find(|e| !RUN_FILES.contains(&e.as_str()));
        if !t.force && !entries.is_empty() && (!is_run_folder(dir) || foreign.is_some()) {
            let what = match foreign {
                Some(f) => format!("holds {f:?}, which no scalerisk run writes"),
                None => "holds no run.json of a scalerisk run".to_string(),
            };
            return Err(Error::input(
                flag,
                format!(
                    "{} {what}; it would be replaced as a whole: give a new folder, or add --force to replace it",
                    dir.display()
                ),
            ));
        }
        // The previous folder is removed after the new one is in place: its files must go.
        let probe = dir.join(format!(".scalerisk-probe-{}", std::process::id()));
        std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|e| not_writable(flag, dir, dir, &e))?;
    }
    let name = dir
        .file_name()
        .ok_or_else(|| {
            Error::input(
                flag,
                format!(
                    "{} has no folder name; give a folder such as output/run1",
                    dir.display()
                ),
            )
        })?
        .to_string_lossy()
        .to_string();
    let at = existing_ancestor(dir);
    // The longest name the run creates beside the target, made and removed once.
    let probe = at.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::create_dir(&probe)
        .and_then(|()| std::fs::remove_dir(&probe))
        .map_err(|e| not_writable(flag, dir, &at, &e))?;
    check_space(flag, dir, &at, t.bytes)?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| not_writable(flag, dir, &at, &e))?;
    take_lock(parent, &name, dir, flag)
}

/// Checks before work for a single output file (`fit --out`, `bench --csv`): not a folder,
/// its folder writable with a name that fits, room for `bytes`.
pub fn check_file_target(path: &Path, flag: &str, bytes: f64) -> Result<()> {
    if path.is_dir() {
        return Err(Error::input(
            flag,
            format!("{} is a folder; give a file name", path.display()),
        ));
    }
    let Some(name) = path.file_name() else {
        return Err(Error::input(
            flag,
            format!("{} has no file name", path.display()),
        ));
    };
    let at = existing_ancestor(path);
    let probe = at.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| not_writable(flag, path, &at, &e))?;
    check_space(flag, path, &at, bytes)
}

/// Write `files` into `dir` as a whole: into a temporary folder beside it first (each file as
/// `<file>.part`, renamed when complete, so no file under a final name is ever partial), then
/// renamed into place, so that an interrupted run never leaves half-written files, and an
/// existing folder is replaced only when the new one is complete.
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
            let part = tmp.join(format!("{}.part", file.as_ref()));
            std::fs::write(&part, bytes).map_err(|e| Error::io(&part, e))?;
            std::fs::rename(&part, &path).map_err(|e| Error::io(&path, e))?;
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
/// folder or file (`.<name>.tmp-<pid>`) is removed, and if it died between moving the previous
/// results aside (`.<name>.old-<pid>`) and putting the new ones in place, the previous results
/// go back. Only leftovers of processes that no longer run are touched.
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
        let alive = pid.parse::<u32>().is_ok_and(pid_alive);
        if alive || !Path::new("/proc/self").exists() {
            continue;
        }
        let path = entry.path();
        if kind == "old" && !dir.exists() {
            let _ = std::fs::rename(&path, dir);
        } else if path.is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Write one file as a whole: a temporary file beside it, renamed into place when complete.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (parent, name) = parent_and_name(path, "file")?;
    recover_interrupted(parent, &name, path);
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = std::fs::write(&tmp, bytes)
        .map_err(|e| Error::io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
