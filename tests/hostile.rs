//! Hostile inputs against the binary: every writer replaces only what it made, no input blocks,
//! every count a user types is bounded, absurd plans are refused, and the exit codes hold when
//! stdout or stderr cannot be written. Each test drives the built binary under a timeout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;
use common::{refused, s, small_scenario, stderr};

const BIN: &str = env!("CARGO_BIN_EXE_scalerisk");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Run the binary with `args` in `cwd` (stdin empty); kill it and fail the test past 60 s.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    common::run_in(cwd, args, Duration::from_secs(60))
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

/// A small scenario in `dir` (`s.toml`) with `extra` TOML appended.
fn scenario(dir: &Path, extra: &str) -> PathBuf {
    small_scenario(dir, 64, extra)
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success());
}

/// Every file under `dir` with its bytes, to compare before and after.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let p = e.path();
            let b = if p.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            (p, b)
        })
        .collect();
    v.sort();
    v
}

// Files lost or replaced.

/// `--force` replaces a folder of other files, never one holding an input of the run: a column
/// file of any `draws = { file = … }` input, the law's draws, observations, reached by path or
/// by a hard link, nor one holding a FIFO (a folder of only other files is replaced).
#[test]
fn force_never_replaces_a_folder_holding_an_input_or_a_special_file() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("mfu.csv"), "mfu\n0.40\n0.45\n0.5\n").unwrap();
    std::fs::write(mine.join("u.csv"), "u\n1e12\n2e12\n").unwrap();
    std::fs::write(mine.join("alpha.csv"), "a\n0.33\n0.34\n0.35\n").unwrap();
    std::fs::write(mine.join("notes.txt"), "mine\n").unwrap();
    let sc = scenario(dir.path(), "");
    let before = snapshot(&mine);
    for set in [
        "budget.mfu={draws={file=\"mine/mfu.csv\",column=\"mfu\"}}",
        "data.unique_tokens={draws={file=\"mine/u.csv\",column=\"u\"}}",
        "law.alpha={draws={file=\"mine/alpha.csv\",column=\"a\"}}",
    ] {
        let o = run_in(
            dir.path(),
            &["run", s(&sc), "--set", set, "--out", "mine", "--force"],
        );
        refused(&o, &["--out:", "mine", "which this run reads"]);
        assert_eq!(snapshot(&mine), before, "{set}");
    }
    // The same file through a hard link inside the target.
    let elsewhere = dir.path().join("mfu.csv");
    std::fs::write(&elsewhere, "mfu\n0.40\n0.45\n0.5\n").unwrap();
    std::fs::hard_link(&elsewhere, mine.join("link.csv")).unwrap();
    let o = run_in(
        dir.path(),
        &[
            "run",
            s(&sc),
            "--set",
            "budget.mfu={draws={file=\"mfu.csv\",column=\"mfu\"}}",
            "--out",
            "mine",
            "--force",
        ],
    );
    refused(&o, &["--out:", "link.csv", "which this run reads"]);
    // A FIFO (or any device node or socket) inside: never removed, even with --force.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "x").unwrap();
    mkfifo(&other.join("pipe"));
    let o = run_in(dir.path(), &["run", s(&sc), "--out", "other", "--force"]);
    refused(&o, &["--out:", "pipe", "a FIFO"]);
    assert!(other.join("pipe").exists() && other.join("notes.txt").exists());
    // A folder of other files only: --force replaces it.
    std::fs::remove_file(other.join("pipe")).unwrap();
    let o = run_in(dir.path(), &["run", s(&sc), "--out", "other", "--force"]);
    ok(&o);
    assert!(other.join("run.json").exists() && !other.join("notes.txt").exists());
}

/// `fit --out` and `bench --csv` replace only a file they wrote before: never their own input,
/// a scenario or any other file (a second run over their own output is fine).
#[test]
fn single_file_writers_replace_only_their_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs.csv");
    std::fs::copy(
        Path::new(ROOT).join("data/chinchilla_fig4_points.csv"),
        &runs,
    )
    .unwrap();
    let runs_bytes = std::fs::read(&runs).unwrap();
    let sc = scenario(dir.path(), "");
    let sc_bytes = std::fs::read(&sc).unwrap();
    let fit = |out: &str| {
        run_in(
            dir.path(),
            &["fit", "runs.csv", "--bootstrap", "2", "--out", out],
        )
    };
    refused(
        &fit("runs.csv"),
        &["--out:", "runs.csv", "which this command reads"],
    );
    assert_eq!(std::fs::read(&runs).unwrap(), runs_bytes);
    refused(
        &fit("s.toml"),
        &["--out:", "s.toml", "not a file scalerisk fit wrote"],
    );
    assert_eq!(std::fs::read(&sc).unwrap(), sc_bytes);
    ok(&fit("draws.csv"));
    ok(&fit("draws.csv"));
    let bench = |csv: &str| {
        run_in(
            dir.path(),
            &[
                "bench",
                "--configs",
                "16",
                "--draws",
                "8",
                "--reps",
                "1",
                "--csv",
                csv,
            ],
        )
    };
    refused(
        &bench("s.toml"),
        &["--csv:", "not a file scalerisk bench wrote"],
    );
    refused(
        &bench("draws.csv"),
        &["--csv:", "not a file scalerisk bench wrote"],
    );
    assert_eq!(std::fs::read(&sc).unwrap(), sc_bytes);
    ok(&bench("b.csv"));
    ok(&bench("b.csv"));
}

/// A character device to aim writers at. As root, a null device made in `dir`: a writer that
/// wrongly replaced it would replace only that copy, never the machine's `/dev/null` (which an
/// unprivileged user cannot replace anyway).
fn char_device(dir: &Path) -> PathBuf {
    // SAFETY: geteuid has no arguments and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        println!("not root: /dev/null stands for a device node");
        return PathBuf::from("/dev/null");
    }
    let p = dir.join("null");
    let c = std::ffi::CString::new(s(&p)).unwrap();
    // SAFETY: `c` is a NUL-terminated path; mknod only reads it.
    let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(rc, 0, "mknod {}", p.display());
    p
}

/// No writer replaces a device node, FIFO, socket or link with a file: a character device
/// (see [`char_device`]) as `fit --out` or `bench --csv`, a FIFO, a symbolic link as `--out`,
/// a FIFO where `plot` would put a chart.
#[test]
fn no_writer_replaces_a_special_file() {
    let dir = tempfile::tempdir().unwrap();
    let dev = char_device(dir.path());
    std::fs::copy(
        Path::new(ROOT).join("data/chinchilla_fig4_points.csv"),
        dir.path().join("runs.csv"),
    )
    .unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    for out in [s(&dev), s(&fifo)] {
        let o = run_in(
            dir.path(),
            &["fit", "runs.csv", "--bootstrap", "2", "--out", out],
        );
        refused(&o, &["--out:", out, "writes only regular files"]);
        let o = run_in(
            dir.path(),
            &[
                "bench",
                "--configs",
                "16",
                "--draws",
                "8",
                "--reps",
                "1",
                "--csv",
                out,
            ],
        );
        refused(&o, &["--csv:", out, "writes only regular files"]);
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&dev)
        .unwrap()
        .file_type()
        .is_char_device());
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A link as the run folder: the link is not the tool's to replace.
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
    let sc = scenario(dir.path(), "");
    let o = run_in(dir.path(), &["run", s(&sc), "--out", "link"]);
    refused(&o, &["--out:", "a symbolic link"]);
    assert!(std::fs::symlink_metadata(dir.path().join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    // A FIFO where a chart goes: refused before any chart is written.
    ok(&run_in(dir.path(), &["run", s(&sc), "--out", "res"]));
    mkfifo(&dir.path().join("res/tornado.svg"));
    let o = run_in(dir.path(), &["plot", "res"]);
    refused(&o, &["tornado.svg", "a FIFO"]);
    assert!(!dir.path().join("res/frontier.svg").exists());
}

/// Leftovers are cleaned up or restored only when they carry the tool's marker: a user's
/// folders named `.res.old-999999` and `.res.tmp-999998` (pids that do not run) are left whole,
/// with or without `res`.
#[test]
fn leftovers_without_the_marker_are_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    let old = dir.path().join(".res.old-999999");
    let tmp = dir.path().join(".res.tmp-999998");
    for d in [&old, &tmp] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("mine.txt"), "mine\n").unwrap();
    }
    std::fs::write(
        old.join("run.json"),
        "{\"tool\": \"scalerisk\", \"scenario\": {}}",
    )
    .unwrap();
    let (old_before, tmp_before) = (snapshot(&old), snapshot(&tmp));
    for _ in 0..2 {
        // First without `res` (the old folder would be "restored"), then over the new `res`.
        ok(&run_in(dir.path(), &["run", s(&sc), "--out", "res"]));
        assert_eq!(snapshot(&old), old_before);
        assert_eq!(snapshot(&tmp), tmp_before);
        assert!(!dir.path().join("res/mine.txt").exists());
    }
    // The same for a single file's leftovers.
    let ftmp = dir.path().join(".b.csv.tmp-999998");
    std::fs::create_dir(&ftmp).unwrap();
    std::fs::write(ftmp.join("mine.txt"), "mine\n").unwrap();
    let o = run_in(
        dir.path(),
        &[
            "bench",
            "--configs",
            "16",
            "--draws",
            "8",
            "--reps",
            "1",
            "--csv",
            "b.csv",
        ],
    );
    ok(&o);
    assert!(ftmp.join("mine.txt").exists());
}

// Blocks and bounds.

/// A FIFO as any input (scenario, a runs CSV, a draws file, a column file, observations, a
/// run's file for `plot`) is refused at once, naming the field, instead of waiting for a writer.
#[test]
fn a_fifo_as_any_input_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let o = run_in(dir.path(), &["run", "fifo"]);
    refused(&o, &["scenario:", "a FIFO"]);
    let o = run_in(dir.path(), &["check", "fifo"]);
    refused(&o, &["scenario:", "a FIFO"]);
    let o = run_in(dir.path(), &["fit", "fifo"]);
    refused(&o, &["fifo", "a FIFO"]);
    for (extra, field) in [
        (
            "[law]\npreset = \"custom\"\nuncertainty = \"draws\"\ndraws_file = \"fifo\"\n",
            "law.draws_file:",
        ),
        (
            "[data]\nunique_tokens = { draws = { file = \"fifo\", column = \"u\" } }\n",
            "data.unique_tokens",
        ),
        (
            "[observations]\nlosses = \"fifo\"\n[observations.runs.main]\nschedule = \"cosine\"\ntokens = 1.9e10\n",
            "observations.losses:",
        ),
    ] {
        let sc = scenario(dir.path(), extra);
        let o = run_in(dir.path(), &["run", s(&sc), "--out", "o"]);
        refused(&o, &[field, "a FIFO"]);
    }
    let sc = scenario(dir.path(), "");
    ok(&run_in(dir.path(), &["run", s(&sc), "--out", "res"]));
    std::fs::remove_file(dir.path().join("res/draws.csv")).unwrap();
    mkfifo(&dir.path().join("res/draws.csv"));
    let o = run_in(dir.path(), &["plot", "res"]);
    refused(&o, &["draws.csv", "a FIFO"]);
}

/// Every count a user types has a bound, refused naming the flag and the range.
#[test]
fn counts_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["bench", "--reps", "4000000000"]);
    refused(&o, &["--reps:", "4000000000", "1 to"]);
    let o = run_in(
        dir.path(),
        &["bench", "--configs", "16", "--draws", "8", "--reps", "1001"],
    );
    refused(&o, &["--reps:", "1 to 1000"]);
}

// Exit codes when the output streams cannot be written.

/// Run with stdout or stderr on `/dev/full`.
fn full(args: &[&str], stdout_full: bool, stderr_full: bool) -> Output {
    let f = || {
        Stdio::from(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
    };
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(ROOT)
        .env("XDG_RUNTIME_DIR", "/tmp")
        .stdin(Stdio::null());
    c.stdout(if stdout_full { f() } else { Stdio::piped() });
    c.stderr(if stderr_full { f() } else { Stdio::piped() });
    c.output().unwrap()
}

/// A full stdout or stderr never panics (exit 101) nor turns a failure into success: printing
/// help or a completion script that cannot be written is exit 1, bad input stays exit 2.
#[test]
fn exit_codes_hold_on_a_full_device() {
    if !Path::new("/dev/full").exists() {
        println!("skipped: no /dev/full");
        return;
    }
    for args in [
        &["completions", "bash"][..],
        &["--help"],
        &["--version"],
        &["laws"],
        &["check", "scenarios/a100-3days.toml"],
    ] {
        let o = full(args, true, false);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
    for args in [
        &["run", "nope.toml"][..],
        &["bench", "--reps", "0"],
        &["--bogus"],
        &[
            "run",
            "scenarios/a100-3days.toml",
            "--set",
            "budget.hours=-1",
        ],
    ] {
        for (out, err) in [(false, true), (true, true)] {
            let o = full(args, out, err);
            assert_eq!(o.status.code(), Some(2), "{args:?} (stdout full {out})");
        }
    }
}

/// The lock is the kernel's: a lock file another live process holds (even while it is still
/// empty, before that process wrote its pid) refuses a second run; a lock file nobody holds
/// (left by a killed run, naming any pid) is taken.
#[test]
fn the_lock_is_held_by_a_live_process_only() {
    use std::os::unix::io::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    let lock = dir.path().join(".res.lock");
    let f = std::fs::File::create(&lock).unwrap();
    // SAFETY: flock on a descriptor `f` keeps open.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(rc, 0);
    let o = run_in(dir.path(), &["run", s(&sc), "--out", "res"]);
    refused(&o, &["--out:", "another scalerisk run"]);
    assert!(!dir.path().join("res").exists());
    drop(f);
    // pid 1 always runs, but holds no lock on this file.
    std::fs::write(&lock, "1").unwrap();
    ok(&run_in(dir.path(), &["run", s(&sc), "--out", "res"]));
    assert!(!lock.exists());
}

// Absurd numbers.

/// The feasibility floor: a scenario whose smallest plan (or any search or frontier hour, or
/// the largest model) cannot train one token at the low ends of MFU and goodput is refused
/// before any work, naming the field, instead of writing losses of 2e123.
#[test]
fn plans_that_cannot_train_one_token_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    for (set, field) in [
        ("budget.hours=1e-300", "budget.hours:"),
        ("budget.mfu=1e-300", "budget.mfu:"),
        ("budget.goodput=1e-300", "budget.goodput:"),
        ("search.hours=[1e-300, 72]", "search.hours:"),
        ("search.params.max=1e300", "search.params.max:"),
        (
            "decision.frontier_hours=[1e-300]",
            "decision.frontier_hours:",
        ),
    ] {
        let o = run_in(dir.path(), &["run", s(&sc), "--set", set, "--out", "o"]);
        refused(&o, &[field, "less than one"]);
        assert!(!dir.path().join("o").exists(), "{set}");
    }
    // Hardware given by its numbers, and a FLOPs budget.
    let hw = dir.path().join("hw.toml");
    std::fs::write(
        &hw,
        "name = \"hw\"\n[budget]\npeak_tflops = 1e-300\nmemory_gb = 80\nhours = 72\n",
    )
    .unwrap();
    refused(
        &run_in(dir.path(), &["check", "hw.toml"]),
        &["budget.peak_tflops:", "less than one"],
    );
    let fl = dir.path().join("fl.toml");
    std::fs::write(&fl, "name = \"fl\"\n[budget]\nflops = 1\nhours = 72\n").unwrap();
    refused(
        &run_in(dir.path(), &["check", "fl.toml"]),
        &["budget.flops:", "less than one"],
    );
    // One token is the floor, not more: 1e7 params × 6 FLOPs per token in one second of an
    // A100 at MFU 0.3 (312e12 × 0.3 × 0.9 FLOP/s) is about 1.4e6 tokens: accepted.
    ok(&run_in(
        dir.path(),
        &[
            "check",
            s(&sc),
            "--set",
            "decision.frontier_hours=[0.0003, 72]",
        ],
    ));
}

/// Frontier hours past any budget (they wrote empty cells) are refused with the range.
#[test]
fn frontier_hours_out_of_range_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    let o = run_in(
        dir.path(),
        &[
            "check",
            s(&sc),
            "--set",
            "decision.frontier_hours=[72, 1e300]",
        ],
    );
    refused(
        &o,
        &["decision.frontier_hours:", "1e300", "at most 8e6 hours"],
    );
}

/// `fit --delta` below what the optimizer can see (it returned its starting point) or above
/// any residual of log loss is refused with the range.
#[test]
fn fit_delta_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(ROOT).join("data/chinchilla_fig4_points.csv"),
        dir.path().join("runs.csv"),
    )
    .unwrap();
    for d in ["1e-20", "100"] {
        let o = run_in(dir.path(), &["fit", "runs.csv", "--delta", d]);
        refused(&o, &["--delta:", d, "1e-6 to 10"]);
    }
    assert!(!dir.path().join("fit_draws.csv").exists());
}

/// `plot` refuses a hand-edited NaN (scalerisk writes a missing value as an empty cell), a
/// run.json of another tool, and a renamed column, each before writing any chart.
#[test]
fn plot_refuses_bad_run_files_before_writing_any_chart() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    ok(&run_in(dir.path(), &["run", s(&sc), "--out", "res"]));
    let res = dir.path().join("res");
    let charts = |d: &Path| {
        std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".svg"))
            .count()
    };
    let fresh = |name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        for e in std::fs::read_dir(&res).unwrap().flatten() {
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
        d
    };
    // A NaN params cell.
    let d = fresh("nan");
    let configs = std::fs::read_to_string(d.join("configs.csv")).unwrap();
    let mut lines: Vec<String> = configs.lines().map(String::from).collect();
    let rest = lines[1].split_once(',').unwrap().1.to_string();
    lines[1] = format!("NaN,{rest}");
    std::fs::write(d.join("configs.csv"), lines.join("\n") + "\n").unwrap();
    refused(
        &run_in(dir.path(), &["plot", "nan"]),
        &["configs.csv:", "line 2", "\"NaN\" is not a number"],
    );
    assert_eq!(charts(&d), 0);
    // Another tool's run.json.
    let d = fresh("other");
    std::fs::write(
        d.join("run.json"),
        "{\"tool\": \"othertool\", \"scenario\": {\"budget\": {\"hours\": 1}}}",
    )
    .unwrap();
    refused(
        &run_in(dir.path(), &["plot", "other"]),
        &["run.json:", "not a scalerisk run"],
    );
    assert_eq!(charts(&d), 0);
    // A column only the third chart reads, renamed: the first two are not written either.
    let d = fresh("renamed");
    let text = std::fs::read_to_string(d.join("sensitivity.csv")).unwrap();
    std::fs::write(
        d.join("sensitivity.csv"),
        text.replacen("input,", "zzz,", 1),
    )
    .unwrap();
    refused(
        &run_in(dir.path(), &["plot", "renamed"]),
        &["sensitivity.csv:", "no column \"input\""],
    );
    assert_eq!(charts(&d), 0);
    // An emptied file (not even its header): not a run's file. (A header alone is a run whose
    // objectives all went unmet, and plots without the tornado.)
    let d = fresh("emptied");
    std::fs::write(d.join("recommendations.csv"), "").unwrap();
    refused(
        &run_in(dir.path(), &["plot", "emptied"]),
        &["recommendations.csv:", "empty"],
    );
    assert_eq!(charts(&d), 0);
}

// Small fields and messages.

/// A `--set` value with a line break (the text after it was dropped), a fractional
/// `decision.inference_batch`, an empty `law.mvn.names`, and TOML errors: each one line naming
/// the field, numbers in short form.
#[test]
fn small_fields_and_messages_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    let check = |set: &str| run_in(dir.path(), &["check", s(&sc), "--set", set]);
    refused(
        &check("budget.hours=48\nsampling.draws=9"),
        &["--set:", "line break"],
    );
    refused(
        &check("decision.inference_batch=1.5"),
        &["decision.inference_batch:", "1.5", "whole number"],
    );
    let o = check("decision.inference_batch=1e300");
    refused(&o, &["decision.inference_batch:", "1e300"]);
    assert!(!stderr(&o).contains("0000000000"), "{}", stderr(&o));
    // Values echoed back from the TOML and numbers formatted anywhere in a message: the parser
    // gives 1e300 back as 301 digits, 1e-300 as 300 zeros.
    for (set, short) in [
        ("budget.count=1e300", "1e300"),
        ("budget.hours={uniform=[1e300,2e300]}", "2e300"),
        ("budget.mfu={normal={mean=1e300,sd=1}}", "1e300"),
        ("search.params.min=1e-300", "1e-300"),
        ("search.params.max=1e-300", "1e-300"),
        ("budget.flops=-1e300", "-1e300"),
    ] {
        let o = check(set);
        let field = set.split('=').next().unwrap();
        let field = field.rsplit_once(".m").map_or(field, |(f, _)| f);
        refused(&o, &[field, short]);
        let e = stderr(&o);
        let longest = e
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest <= 16, "{set}: {e}");
    }
    let mvn = scenario(
        dir.path(),
        "[law]\npreset = \"chinchilla\"\nuncertainty = \"mvn\"\n[law.mvn]\nnames = []\nmean = []\ncov = []\n",
    );
    refused(
        &run_in(dir.path(), &["check", s(&mvn)]),
        &["law.mvn.names:", "at least one"],
    );
    for bad in ["name = \"s\n[budget\nhours = 1\n", "name = 's\nx = [1,\n"] {
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, bad).unwrap();
        refused(
            &run_in(dir.path(), &["check", s(&p)]),
            &["scenario:", "not valid TOML"],
        );
    }
}

/// Clears `chattr +i` from a file when dropped, so a failing assertion leaves nothing the
/// temporary folder's removal cannot remove.
struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// A previous results folder that could not be emptied (a file in it immutable) is refused
/// before any work, the previous results untouched and nothing left beside them: it used to
/// fail after the new results were installed, leaving `.res.old-<pid>` behind. Skipped where
/// `chattr` does not work (not root, or a filesystem without attributes).
#[test]
fn a_previous_folder_that_cannot_be_emptied_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    ok(&run_in(dir.path(), &["run", s(&sc), "--out", "res"]));
    let file = dir.path().join("res/configs.csv");
    let set = Command::new("chattr").arg("+i").arg(&file).output();
    if !set.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: chattr +i does not work here");
        return;
    }
    let _guard = Immutable(file);
    let before = snapshot(&dir.path().join("res"));
    let o = run_in(dir.path(), &["run", s(&sc), "--out", "res", "--force"]);
    refused(&o, &["--out:", "configs.csv", "immutable"]);
    assert_eq!(snapshot(&dir.path().join("res")), before);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with(".res.")), "{names:?}");
}

/// Unmounts when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A mount point as `--out` is refused before any work (renaming it fails with "Device or
/// resource busy", which came after all the work): /proc, which is one everywhere, with
/// `--force`, and an empty tmpfs mounted for the test where mounting is allowed.
#[test]
fn a_mount_point_as_out_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    refused(
        &run_in(dir.path(), &["run", s(&sc), "--out", "/proc", "--force"]),
        &["--out:", "/proc", "mount point"],
    );
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let m = Command::new("mount")
        .args(["-t", "tmpfs", "scalerisk-test", s(&mnt)])
        .output();
    if !m.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped the tmpfs half: mount is not allowed here");
        return;
    }
    let _guard = Mounted(mnt.clone());
    refused(
        &run_in(dir.path(), &["run", s(&sc), "--out", "mnt"]),
        &["--out:", "mnt", "mount point"],
    );
    assert_eq!(std::fs::read_dir(&mnt).unwrap().count(), 0);
}

/// Under a file-size limit (`ulimit -f`) too small for the run's files, the write fails with a
/// message and exit 1 (it was killed by SIGXFSZ without one), and the previous results stay whole.
#[test]
fn a_file_size_limit_fails_with_a_message_and_keeps_the_previous_results() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    ok(&run_in(dir.path(), &["run", s(&sc), "--out", "res"]));
    let before = snapshot(&dir.path().join("res"));
    // 64 blocks of 512 bytes: configs.csv of 120 configurations is larger.
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -f 64 && exec {BIN} run {} --out res --set sampling.draws=4000",
            s(&sc)
        ))
        .current_dir(dir.path())
        .env("XDG_RUNTIME_DIR", "/tmp")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("File too large"), "{}", stderr(&o));
    assert_eq!(snapshot(&dir.path().join("res")), before);
}

/// Keys the chosen schedule never reads are refused, as an unused `budget.context` is:
/// `training.anneal_gain` and `training.final_lr_fraction` under wsd (the default schedule).
#[test]
fn keys_the_schedule_never_reads_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "");
    for set in [
        "training.anneal_gain={uniform=[0.03,0.08]}",
        "training.final_lr_fraction=0.2",
    ] {
        let o = run_in(dir.path(), &["check", s(&sc), "--set", set]);
        refused(
            &o,
            &[
                set.split('=').next().unwrap(),
                "only with training.schedule",
            ],
        );
    }
    ok(&run_in(
        dir.path(),
        &[
            "check",
            s(&sc),
            "--set",
            "training.schedule=\"cosine\"",
            "--set",
            "training.final_lr_fraction=0.2",
        ],
    ));
}
