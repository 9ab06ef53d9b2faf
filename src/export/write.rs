//! Writing a run's files: the checks on a target before any work (folder, space, lock), the
//! atomic writers, and the cleanup after a killed run.
//!
//! One rule for every file the tool writes (a run's folder, `fit --out`, `bench --csv`, the
//! charts): it replaces only what it made before; never a file this command reads, never
//! anything that is not a regular file or a folder (a device node, FIFO, socket or symbolic
//! link), never a folder holding an input of the run, never one it could not finish replacing
//! (a mount point, an immutable file inside). `--force` widens only "a folder of other
//! files". Leftovers of a killed run are touched only when they carry the tool's marker.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::RUN_FILES;
use crate::error::{Error, Result};
pub use crate::scenario::kind_of;

/// The file the tool puts in each temporary folder it makes, and in a previous results folder
/// before moving it aside, holding [`marker_text`] of the writing process: a leftover
/// `.<name>.tmp-<pid>` or `.<name>.old-<pid>` is cleaned up or restored only when it holds this
/// file with that pid, so a user's folder that happens to have such a name is never touched.
pub const MARKER: &str = ".scalerisk-writing";

/// The marker's contents for process `pid`.
pub fn marker_text(pid: u32) -> String {
    format!("scalerisk pid {pid}\n")
}

/// Whether `path` holds the marker of process `pid` (a regular file, not a link to one).
fn marked_by(path: &Path, pid: u32) -> bool {
    let m = path.join(MARKER);
    std::fs::symlink_metadata(&m).is_ok_and(|meta| meta.is_file() && meta.len() < 64)
        && std::fs::read_to_string(&m).is_ok_and(|t| t == marker_text(pid))
}

/// Whether `dir` holds nothing, or nothing but a marker of `pid` that may be partly written.
fn marking_only(dir: &Path, pid: u32) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    let names: Vec<_> = rd.flatten().map(|e| e.file_name()).collect();
    match names.as_slice() {
        [] => true,
        [m] if m == MARKER => {
            let p = dir.join(MARKER);
            std::fs::symlink_metadata(&p).is_ok_and(|meta| meta.is_file() && meta.len() < 64)
                && std::fs::read_to_string(&p).is_ok_and(|t| marker_text(pid).starts_with(&t))
        }
        _ => false,
    }
}

/// The pid a marker inside `dir` names, if `dir` holds one.
fn marker_pid(dir: &Path) -> Option<u32> {
    let m = dir.join(MARKER);
    let meta = std::fs::symlink_metadata(&m).ok()?;
    if !meta.is_file() || meta.len() >= 64 {
        return None;
    }
    std::fs::read_to_string(&m)
        .ok()?
        .strip_prefix("scalerisk pid ")?
        .trim_end()
        .parse()
        .ok()
}

fn write_marker(dir: &Path) -> Result<()> {
    let m = dir.join(MARKER);
    std::fs::write(&m, marker_text(std::process::id())).map_err(|e| Error::io(&m, e))
}

/// The identity of a file (device, inode): two paths, hard links included, name the same file
/// when these are equal.
#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// An input a writer must not replace: as given, its canonical path and its identity.
struct Input {
    given: PathBuf,
    canon: Option<PathBuf>,
    id: Option<(u64, u64)>,
}

/// Every input of this process (what it has read, see [`crate::scenario::inputs_read`]) and
/// the paths a caller adds (the current folder).
fn inputs(extra: &[PathBuf]) -> Vec<Input> {
    extra
        .iter()
        .cloned()
        .chain(crate::scenario::inputs_read())
        .map(|given| Input {
            canon: given.canonicalize().ok(),
            id: std::fs::metadata(&given).ok().as_ref().and_then(file_id),
            given,
        })
        .collect()
}

/// Whether `dir` holds a previous scalerisk run: a run.json whose `"tool"` is `"scalerisk"`.
pub fn is_run_folder(dir: &Path) -> bool {
    let path = dir.join("run.json");
    if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let Ok(text) = crate::scenario::read_text_unrecorded(&path, 16 << 20, "run.json") else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .is_ok_and(|v| v["tool"] == "scalerisk" && v.get("scenario").is_some())
}

/// What [`prepare_run_dir`] checks before a run's work starts.
pub struct Target<'a> {
    /// The flag that names the target, for messages (`--out`).
    pub flag: &'a str,
    /// Replace a folder of other files (still never one that holds an input, the current
    /// folder, a device node, FIFO or socket).
    pub force: bool,
    /// Paths besides the inputs read (which are always protected) that a target must not
    /// hold: the current folder.
    pub protected: Vec<PathBuf>,
    /// Estimated bytes the run writes.
    pub bytes: f64,
}

/// Held while a run writes its folder: `.<name>.lock` beside it, holding the pid, locked with
/// `flock` (the kernel releases it when the process ends, however it ends, so a killed run's
/// lock is never mistaken for a live one nor a live one for a stale one); removed on drop,
/// before the descriptor (and with it the lock) is closed.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    _file: std::fs::File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub(crate) fn pid_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Lock `f` exclusively without waiting: `Ok(false)` when another process holds it.
#[cfg(unix)]
fn try_lock(f: &std::fs::File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock takes a descriptor number and flags; `f` keeps the descriptor open for the
    // whole call.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(not(unix))]
fn try_lock(_f: &std::fs::File) -> std::io::Result<bool> {
    Ok(true)
}

/// Take `.<name>.lock` in `parent`, or refuse naming the live process that holds it. The
/// lock is the `flock` on the file, not its existence: a file left by a killed run is simply
/// locked again. The file may be removed by its holder between our open and our lock, so the
/// lock counts only when the path still names the file we locked.
fn take_lock(parent: &Path, name: &str, dir: &Path, flag: &str) -> Result<Lock> {
    use std::io::{Read, Seek};
    let path = parent.join(format!(".{name}.lock"));
    for _ in 0..50 {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| not_writable(flag, dir, parent, &e))?;
        if !try_lock(&f).map_err(|e| not_writable(flag, dir, parent, &e))? {
            let mut text = String::new();
            let _ = f.read_to_string(&mut text);
            let who = match text.trim().parse::<u32>() {
                Ok(pid) => format!("pid {pid}, "),
                Err(_) => String::new(),
            };
            return Err(Error::input(
                flag,
                format!(
                    "{} is being written by another scalerisk run ({who}lock {}); wait for it to finish or use another folder",
                    dir.display(),
                    path.display()
                ),
            ));
        }
        let ours = f.metadata().ok().as_ref().and_then(file_id);
        let now = std::fs::symlink_metadata(&path).ok();
        if ours.is_none() || now.as_ref().and_then(file_id) != ours {
            continue;
        }
        f.set_len(0)
            .and_then(|()| f.rewind())
            .and_then(|()| f.write_all(std::process::id().to_string().as_bytes()))
            .map_err(|e| Error::io(&path, e))?;
        return Ok(Lock { path, _file: f });
    }
    Err(Error::input(
        flag,
        format!(
            "{} is locked by {} and the lock could not be taken; try again",
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

/// Most entries of a folder checked before it is replaced.
const MAX_ENTRIES: usize = 100_000;

/// Whether the folder `canon` (canonical) is a mount point: on another device than its parent,
/// or listed in /proc/self/mountinfo (a bind mount stays on its parent's device). Renaming one
/// fails with "Device or resource busy", which must be found before the work, not after.
fn is_mount_point(canon: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Some(parent) = canon.parent() else {
            return true;
        };
        if let (Ok(a), Ok(b)) = (std::fs::metadata(canon), std::fs::metadata(parent)) {
            if a.dev() != b.dev() {
                return true;
            }
        }
    }
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    // Field 5 is the mount point, with space, tab, newline and backslash written as \ooo.
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| Path::new(&unescape_octal(m)) == canon)
}

/// `/a\040b` → `/a b`: the escapes of /proc/self/mountinfo.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = |c: u8| (b'0'..=b'7').contains(&c);
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|&c| octal(c)) {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |v, &c| v * 8 + u32::from(c - b'0'));
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `FS_IMMUTABLE_FL` and `FS_APPEND_FL` of linux/fs.h (`chattr +i`, `chattr +a`): a file with
/// either cannot be removed, even by root.
#[cfg(target_os = "linux")]
const UNDELETABLE_FLAGS: libc::c_long = 0x10 | 0x20;

/// Why `path` (an entry of a folder about to be replaced) could not be removed: immutable or
/// append-only (`chattr`), or a folder this process may not change. Checked before any work, so
/// that replacing a previous run never fails after the new results are in place.
#[cfg(target_os = "linux")]
fn unremovable(path: &Path, t: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    if t.is_symlink() || !(t.is_file() || t.is_dir()) {
        return None;
    }
    if t.is_dir() {
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        let rc = unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) };
        if rc != 0 {
            return Some("is a folder this user may not change");
        }
    }
    // O_NONBLOCK and O_NOFOLLOW: never wait on or follow what the path names.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes at most a c_long into `flags`, which outlives the call; the
    // descriptor is open for the duration. Filesystems without attributes answer an error.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    (rc == 0 && flags & UNDELETABLE_FLAGS != 0).then_some("is immutable or append-only (chattr)")
}

#[cfg(not(target_os = "linux"))]
fn unremovable(_path: &Path, _t: &std::fs::FileType) -> Option<&'static str> {
    None
}

/// Why the folder `dir` must not be replaced even with `--force`: it holds an input (by path or
/// as a hard link), or a device node, FIFO or socket, at any depth (links are not followed).
fn never_replace(dir: &Path, inputs: &[Input]) -> Option<String> {
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Some(format!(
                    "holds over {MAX_ENTRIES} files, too many to check that none is an input of this run"
                ));
            }
            let path = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let t = meta.file_type();
            if let Some(i) = inputs
                .iter()
                .find(|i| i.id.is_some() && file_id(&meta) == i.id && !t.is_dir())
            {
                return Some(format!(
                    "holds {} (the same file as {}, which this run reads)",
                    path.display(),
                    i.given.display()
                ));
            }
            if let Some(why) = unremovable(&path, &t) {
                return Some(format!(
                    "holds {}, which {why}, so the previous results could not be removed once the new ones are in place",
                    path.display()
                ));
            }
            if t.is_dir() {
                stack.push(path);
            } else if !t.is_file() && !t.is_symlink() {
                return Some(format!(
                    "holds {}, which is {}; scalerisk never removes devices, FIFOs or sockets",
                    path.display(),
                    kind_of(&t)
                ));
            }
        }
    }
    None
}

/// Every check a run's output folder needs, before any work: a folder or nothing (not a file,
/// link, device, FIFO or socket); not holding an input of the run or the current folder;
/// empty, a previous run's folder, or `force`; writable with names that fit; enough free
/// space; not being written by another run (a lock is taken and held until the returned
/// [`Lock`] drops).
pub fn prepare_run_dir(dir: &Path, t: &Target) -> Result<Lock> {
    let flag = t.flag;
    let meta = std::fs::symlink_metadata(dir).ok();
    if let Some(m) = &meta {
        if m.is_file() {
            return Err(Error::input(
                flag,
                format!(
                    "{} exists and is not a folder; give a folder path",
                    dir.display()
                ),
            ));
        }
        if !m.is_dir() {
            return Err(Error::input(
                flag,
                format!(
                    "{} is {}, not a folder; scalerisk replaces only folders it wrote: give a folder path",
                    dir.display(),
                    kind_of(&m.file_type())
                ),
            ));
        }
    }
    if meta.is_some() {
        let canon = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        if is_mount_point(&canon) {
            return Err(Error::input(
                flag,
                format!(
                    "{} is a mount point; scalerisk replaces a results folder as a whole by renaming, which a mount point cannot be: give a folder inside it",
                    dir.display()
                ),
            ));
        }
        let inputs = inputs(&t.protected);
        for p in &inputs {
            if let Some(pc) = &p.canon {
                if pc.starts_with(&canon) {
                    return Err(Error::input(
                        flag,
                        format!(
                            "{} holds {}, which this run reads or works in; replacing the folder would delete it; give a new folder",
                            dir.display(),
                            p.given.display()
                        ),
                    ));
                }
            }
        }
        if let Some(why) = never_replace(dir, &inputs) {
            return Err(Error::input(
                flag,
                format!(
                    "{} {why}; replacing the folder would delete it; give a new folder",
                    dir.display()
                ),
            ));
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
        let entries: Vec<(String, bool)> = std::fs::read_dir(dir)
            .map_err(|e| not_writable(flag, dir, dir, &e))?
            .flatten()
            .map(|e| {
                let regular = std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_file());
                (e.file_name().to_string_lossy().to_string(), regular)
            })
            .collect();
        // A run writes regular files under its names (and its marker while it writes).
        let foreign = entries
            .iter()
            .find(|(e, regular)| !(*regular && (RUN_FILES.contains(&e.as_str()) || e == MARKER)))
            .map(|(e, _)| e);
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

/// How a single-file writer recognises a file it wrote before, the only kind of file it
/// replaces.
#[derive(Debug, Clone, Copy)]
pub enum Made<'a> {
    /// A CSV whose first line is `header`, written by `by` (`scalerisk fit`).
    Csv { header: &'a str, by: &'a str },
    /// A chart: an SVG or PNG file.
    Chart,
}

impl Made<'_> {
    fn recognises(&self, head: &[u8]) -> bool {
        match self {
            Made::Csv { header, .. } => {
                let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
                line.strip_suffix(b"\r").unwrap_or(line) == header.as_bytes()
            }
            Made::Chart => head.starts_with(b"<svg") || head.starts_with(b"\x89PNG\r\n\x1a\n"),
        }
    }

    fn describe(&self) -> String {
        match self {
            Made::Csv { header, by } => {
                format!("a file {by} wrote (its first line is not {header})")
            }
            Made::Chart => "a chart scalerisk drew (it is not SVG or PNG)".to_string(),
        }
    }
}

/// Checks before work for a single output file (`fit --out`, `bench --csv`, a chart): if it
/// exists, a regular file (not a folder, link, device, FIFO or socket), not an input of this
/// command, and one this writer made before (`made`); its folder writable with a name that
/// fits; room for `bytes`.
pub fn check_file_target(path: &Path, flag: &str, bytes: f64, made: Made) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        let t = meta.file_type();
        if t.is_dir() {
            return Err(Error::input(
                flag,
                format!("{} is a folder; give a file name", path.display()),
            ));
        }
        if !t.is_file() {
            return Err(Error::input(
                flag,
                format!(
                    "{} is {}; scalerisk writes only regular files it made: give another path",
                    path.display(),
                    kind_of(&t)
                ),
            ));
        }
        let canon = path.canonicalize().ok();
        if let Some(i) = inputs(&[]).iter().find(|i| {
            (i.id.is_some() && i.id == file_id(&meta)) || (canon.is_some() && i.canon == canon)
        }) {
            return Err(Error::input(
                flag,
                format!(
                    "{} is {}, which this command reads; give another path",
                    path.display(),
                    i.given.display()
                ),
            ));
        }
        let mut head = Vec::new();
        {
            use std::io::Read;
            let f = std::fs::File::open(path).map_err(|e| not_writable(flag, path, path, &e))?;
            let _ = f.take(4096).read_to_end(&mut head);
        }
        if !made.recognises(&head) {
            return Err(Error::input(
                flag,
                format!(
                    "{} exists and is not {}; give a new file name (or remove the file yourself)",
                    path.display(),
                    made.describe()
                ),
            ));
        }
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
    std::fs::create_dir(&probe)
        .and_then(|()| std::fs::remove_dir(&probe))
        .map_err(|e| not_writable(flag, path, &at, &e))?;
    check_space(flag, path, &at, bytes)
}

/// A new temporary folder of this process, marked as the tool's (never an existing folder:
/// a user's folder of the same name is left alone and the write fails instead).
fn make_temp_dir(tmp: &Path) -> Result<()> {
    std::fs::create_dir(tmp).map_err(|e| Error::io(tmp, e))?;
    write_marker(tmp)
}

/// Write `files` into `dir` as a whole: into a temporary folder beside it first (each file as
/// `<file>.part`, renamed when complete, so no file under a final name is ever partial), then
/// renamed into place, so that an interrupted run never leaves half-written files, and an
/// existing folder is replaced only when the new one is complete. Every folder it makes or
/// moves aside carries the tool's [`MARKER`] while it writes, removed at the end.
pub fn write_atomic<N: AsRef<str>>(dir: &Path, files: &[(N, Vec<u8>)]) -> Result<()> {
    let (parent, name) = parent_and_name(dir, "folder")?;
    recover_interrupted(parent, &name, dir);
    let pid = std::process::id();
    let tmp: PathBuf = parent.join(format!(".{name}.tmp-{pid}"));
    let old: PathBuf = parent.join(format!(".{name}.old-{pid}"));
    let mut made_tmp = false;
    let mut moved = false;
    let result = (|| {
        make_temp_dir(&tmp)?;
        made_tmp = true;
        for (file, bytes) in files {
            let path = tmp.join(file.as_ref());
            let part = tmp.join(format!("{}.part", file.as_ref()));
            std::fs::write(&part, bytes).map_err(|e| Error::io(&part, e))?;
            std::fs::rename(&part, &path).map_err(|e| Error::io(&path, e))?;
        }
        if std::fs::symlink_metadata(dir).is_ok() {
            write_marker(dir)?;
            std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
            moved = true;
        }
        std::fs::rename(&tmp, dir).map_err(|e| Error::io(dir, e))?;
        made_tmp = false;
        if moved {
            // Checked before the work (`unremovable`); should it still fail, say where both are.
            std::fs::remove_dir_all(&old).map_err(|e| {
                Error::Runtime(format!(
                    "the new results are in {}, but the previous ones, moved aside to {}, could not be removed: {e}",
                    dir.display(),
                    old.display()
                ))
            })?;
        }
        let m = dir.join(MARKER);
        std::fs::remove_file(&m).map_err(|e| Error::io(&m, e))
    })();
    if result.is_err() {
        if made_tmp {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        if moved && std::fs::symlink_metadata(dir).is_err() {
            let _ = std::fs::rename(&old, dir);
        }
        if marker_pid(dir) == Some(pid) {
            let _ = std::fs::remove_file(dir.join(MARKER));
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
/// aside (`.<name>.old-<pid>`) and putting the new ones in place, the previous results go back;
/// a marker it left in `dir` is removed. Only folders that hold the tool's marker with the pid
/// of their name (or an empty temporary folder), of processes that no longer run, are touched:
/// anything else of that name is the user's.
fn recover_interrupted(parent: &Path, name: &str, dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
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
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let path = entry.path();
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if pid_alive(pid) || !is_dir {
            continue;
        }
        // Killed between making its temporary folder and marking it: a folder with nothing but
        // a marker being written (or nothing at all) holds nothing of anyone's.
        if kind == "tmp" && marking_only(&path, pid) {
            let _ = std::fs::remove_file(path.join(MARKER));
            let _ = std::fs::remove_dir(&path);
            continue;
        }
        if !marked_by(&path, pid) {
            continue;
        }
        if kind == "old" && std::fs::symlink_metadata(dir).is_err() {
            let _ = std::fs::rename(&path, dir);
        } else {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    if let Some(pid) = marker_pid(dir) {
        if !pid_alive(pid) {
            let _ = std::fs::remove_file(dir.join(MARKER));
        }
    }
}

/// Write one file as a whole: written inside a marked temporary folder beside it, then renamed
/// into place when complete. Never over anything but a regular file: a rename would replace a
/// device node, FIFO, socket or link with a file.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (parent, name) = parent_and_name(path, "file")?;
    recover_interrupted(parent, &name, path);
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.is_file() {
            return Err(Error::Runtime(format!(
                "{} is {}; scalerisk writes only regular files it made",
                path.display(),
                kind_of(&m.file_type())
            )));
        }
    }
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    make_temp_dir(&tmp)?;
    let inner = tmp.join(&name);
    let result = std::fs::write(&inner, bytes)
        .map_err(|e| Error::io(&inner, e))
        .and_then(|()| std::fs::rename(&inner, path).map_err(|e| Error::io(path, e)));
    let _ = std::fs::remove_dir_all(&tmp);
    result
}
