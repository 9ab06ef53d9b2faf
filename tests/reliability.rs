//! Never destroy a user's files, never hang, never print garbage with exit 0. One test
//! (or more) per numbered item of the issue; the hang cases run the binary under a timeout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::{refused, run_in, s, small_scenario, stderr};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("scalerisk")
}

const SMALL: [&str; 6] = [
    "--set",
    "search.params={min=1e8,max=2e9,points=24}",
    "--set",
    "search.tokens={min=1e9,max=1e11,points=20}",
    "--set",
    "sampling.draws=256",
];

fn run(args: &[&str]) -> Output {
    run_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        args,
        Duration::from_secs(120),
    )
}

fn scenario_file(dir: &Path, extra: &str) -> PathBuf {
    small_scenario(dir, 128, extra)
}

// 1. --out replaces a folder only when it is empty or a previous run's.

#[test]
fn out_folder_with_other_files_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("notes.txt"), "keep").unwrap();
    let t = Instant::now();
    let o = run(&["run", "scenarios/a100-3days.toml", "--out", s(&d)]);
    refused(&o, &["--out:", s(&d), "notes.txt", "--force", "new folder"]);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "refused after the work"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("notes.txt")).unwrap(),
        "keep"
    );
    // A folder with a run.json that is not scalerisk's is not a run's folder either.
    std::fs::remove_file(d.join("notes.txt")).unwrap();
    std::fs::write(d.join("run.json"), "{\"tool\": \"other\"}").unwrap();
    let o = run(&["run", "scenarios/a100-3days.toml", "--out", s(&d)]);
    refused(&o, &["holds no run.json of a scalerisk run"]);
    // --force replaces it; the result is a run folder, which the next run replaces freely.
    let mut args = vec!["run", "scenarios/a100-3days.toml", "--quiet", "--force"];
    args.extend(["--out", s(&d)]);
    args.extend(SMALL);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("configs.csv").is_file() && d.join("run.json").is_file());
    args.retain(|a| *a != "--force");
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    // An empty folder is fine.
    let e = dir.path().join("empty");
    std::fs::create_dir(&e).unwrap();
    let mut args = vec![
        "run",
        "scenarios/a100-3days.toml",
        "--quiet",
        "--out",
        s(&e),
    ];
    args.extend(SMALL);
    assert!(run(&args).status.success());
}

#[test]
fn out_folder_holding_the_scenario_or_the_current_folder_is_refused_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("proj");
    std::fs::create_dir(&proj).unwrap();
    scenario_file(&proj, "");
    for args in [
        vec!["run", "s.toml", "--out", "../proj"],
        vec!["run", "s.toml", "--out", "../proj", "--force"],
        vec!["run", "s.toml", "--out", "..", "--force"],
    ] {
        let o = run_in(&proj, &args, Duration::from_secs(60));
        refused(&o, &["--out:", "would delete it"]);
        assert!(proj.join("s.toml").is_file());
    }
}

#[test]
fn unwritable_targets_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("x".repeat(300));
    let t = Instant::now();
    let o = run(&["run", "scenarios/a100-3days.toml", "--out", s(&long)]);
    refused(&o, &["--out:", "too long"]);
    let o = run(&[
        "fit",
        "data/chinchilla_fig4_points.csv",
        "--out",
        s(&dir.path().join(format!("{}.csv", "y".repeat(300)))),
    ]);
    refused(&o, &["--out:", "too long"]);
    let o = run(&[
        "fit",
        "data/chinchilla_fig4_points.csv",
        "--out",
        s(dir.path()),
    ]);
    refused(&o, &["--out:", "is a folder"]);
    let o = run(&[
        "bench",
        "--configs",
        "1024",
        "--draws",
        "64",
        "--csv",
        s(dir.path()),
    ]);
    refused(&o, &["--csv:", "is a folder"]);
    // Under /proc nothing can be created (as any user, root included).
    let o = run(&[
        "run",
        "scenarios/a100-3days.toml",
        "--out",
        "/proc/scalerisk-out",
    ]);
    refused(&o, &["--out:", "cannot be written"]);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "refused after the work"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The free-space check: an output estimated larger than the file system's free space is
/// refused before any work (the estimate itself is 320 B per configuration and per draw).
#[test]
fn output_larger_than_the_free_space_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("big");
    let e = scalerisk::export::prepare_run_dir(
        &target,
        &scalerisk::export::Target {
            flag: "--out",
            force: false,
            protected: vec![],
            bytes: 1e30,
        },
    )
    .unwrap_err();
    assert!(e.is_input(), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("GB free") && msg.contains("big"), "{msg}");
    assert!(!target.exists());
    // The same target with a plausible size is prepared, and its lock goes when dropped.
    let lock = scalerisk::export::prepare_run_dir(
        &target,
        &scalerisk::export::Target {
            flag: "--out",
            force: false,
            protected: vec![],
            bytes: 1e3,
        },
    )
    .unwrap();
    assert!(dir.path().join(".big.lock").exists());
    drop(lock);
    assert!(!dir.path().join(".big.lock").exists());
}

// 2. Every loop is bounded.

/// The issue's case: 20 runs whose losses dip below 1 (L = 1.8 + 400/P^0.34 + 410/D^0.28 − 2.5)
/// made argmin's line search spin with --bootstrap 2 for seeds 0-3.
#[test]
fn fit_on_runs_that_dip_below_one_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("params,tokens,loss\n");
    for i in 0..20 {
        let p = 10f64.powf(6.0 + 2.5 * f64::from(i) / 19.0);
        let d = 10f64.powf(8.0 + 2.5 * f64::from((i * 7) % 20) / 19.0);
        let l = 1.8 + 400.0 / p.powf(0.34) + 410.0 / d.powf(0.28) - 2.5;
        csv.push_str(&format!("{p},{d},{l}\n"));
    }
    assert!(csv
        .lines()
        .skip(1)
        .any(|l| l.ends_with(|c: char| c.is_ascii_digit())
            && l.split(',').nth(2).unwrap().parse::<f64>().unwrap() < 1.0));
    std::fs::write(dir.path().join("runs.csv"), csv).unwrap();
    for seed in ["0", "1", "2", "3"] {
        let out = format!("draws{seed}.csv");
        let o = run_in(
            dir.path(),
            &[
                "fit",
                "runs.csv",
                "--bootstrap",
                "2",
                "--seed",
                seed,
                "--out",
                &out,
            ],
            Duration::from_secs(90),
        );
        // Finishing is the point; if it writes draws, `run` accepts them.
        assert!(matches!(o.status.code(), Some(0..=2)), "{}", stderr(&o));
        if o.status.success() {
            let text = std::fs::read_to_string(dir.path().join(&out)).unwrap();
            scalerisk::scenario::load_law_draws(&text, "draws").unwrap();
        }
    }
}

/// A run folder whose draws hold values near f64::MAX (a draws row 1e308,... in the issue) made
/// `plot` spin in its tick loop.
#[test]
fn plot_on_extreme_values_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let mut args = vec![
        "run",
        "scenarios/a100-3days.toml",
        "--quiet",
        "--out",
        s(&out),
    ];
    args.extend(SMALL);
    assert!(run(&args).status.success());
    for file in ["draws.csv", "configs.csv", "frontier.csv"] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let n = lines[1].split(',').count();
        // Every number of the first data row becomes 1e308, or 1e-300 alternately.
        lines[1] = (0..n)
            .map(|i| if i % 2 == 0 { "1e308" } else { "1e-300" })
            .collect::<Vec<_>>()
            .join(",");
        std::fs::write(out.join(file), lines.join("\n") + "\n").unwrap();
    }
    for format in ["svg", "png"] {
        let o = run_in(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &["plot", s(&out), "--format", format],
            Duration::from_secs(60),
        );
        assert!(matches!(o.status.code(), Some(0..=2)), "{}", stderr(&o));
    }
}

/// /dev/zero as a scenario, a draws file, a column file or a runs CSV: refused as not a regular
/// file, before reading; a regular file over the size cap (sparse, so cheap to make) is refused
/// at the cap, in well under a second.
#[test]
fn endless_files_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let t = Instant::now();
    let o = run(&["run", "/dev/zero"]);
    refused(&o, &["scenario:", "a character device, not a regular file"]);
    let o = run(&["run", s(&big)]);
    refused(&o, &["scenario:", "over the limit of 1 MiB"]);
    for file in ["/dev/zero", s(&big)] {
        let why = if file == "/dev/zero" {
            "not a regular file"
        } else {
            "over the limit"
        };
        let sc = scenario_file(
            dir.path(),
            &format!(
                "[law]\npreset = \"custom\"\nuncertainty = \"draws\"\ndraws_file = \"{file}\"\n"
            ),
        );
        let o = run(&["run", s(&sc), "--out", s(&dir.path().join("o"))]);
        refused(&o, &["law.draws_file:", why]);
        let sc = scenario_file(
            dir.path(),
            &format!(
                "[data]\nunique_tokens = {{ draws = {{ file = \"{file}\", column = \"u\" }} }}\n"
            ),
        );
        let o = run(&["run", s(&sc), "--out", s(&dir.path().join("o"))]);
        refused(&o, &["data.unique_tokens.draws:", why]);
        let o = run(&["fit", file, "--out", s(&dir.path().join("f.csv"))]);
        refused(&o, &[file, why]);
    }
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert!(!dir.path().join("o").exists() && !dir.path().join("f.csv").exists());
}

// 3. Domain checks on every path that makes coefficients.

/// With A = 1e300 the GPU's f32 gave inf and another plan than the CPU; A and B are now at most
/// 1e12, and at that bound (with small exponents, losses ~1e11) both backends agree on every
/// plan and write only finite numbers.
#[test]
fn gpu_and_cpu_agree_at_the_largest_allowed_coefficients() {
    if !common::has_adapter() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario_file(
        dir.path(),
        "[law]\npreset = \"custom\"\nuncertainty = \"none\"\nE = 1.8\nA = 1e12\nB = 1e12\n\
         alpha = 0.05\nbeta = 0.05\n",
    );
    let plans = |backend: &str| {
        let out = dir.path().join(backend);
        let o = run(&[
            "run",
            s(&sc),
            "--backend",
            backend,
            "--quiet",
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        for f in ["configs.csv", "recommendations.csv", "draws.csv"] {
            let mut rd = csv::Reader::from_path(out.join(f)).unwrap();
            let headers = rd.headers().unwrap().clone();
            for rec in rd.records() {
                for (h, cell) in headers.iter().zip(rec.unwrap().iter()) {
                    // `inf` tokens: "train until the deadline" (docs/OUTPUTS.md).
                    let deadline =
                        cell == "inf" && ["tokens", "tokens_per_param", "grid_tokens"].contains(&h);
                    assert!(
                        deadline || !(cell.contains("inf") || cell.contains("NaN")),
                        "{backend} {f} {h}: {cell}"
                    );
                }
            }
        }
        let text = std::fs::read_to_string(out.join("recommendations.csv")).unwrap();
        text.lines()
            .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
    };
    assert_eq!(plans("cpu"), plans("gpu"));
}

#[test]
fn coefficients_outside_the_law_are_refused_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let mvn = |names: &str, mean: &str, cov: &str| {
        format!("[law]\npreset = \"epoch2024\"\n[law.mvn]\nnames = {names}\nmean = {mean}\ncov = {cov}\n")
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        // α with variance 1: 37% of draws below 0 (the plain normal path refuses the same).
        (
            mvn("[\"alpha\"]", "[0.35]", "[[1.0]]"),
            vec!["law.mvn:", "alpha", "> 0", "8 standard deviations"],
        ),
        (
            mvn("[\"lnE\"]", "[800.0]", "[[0.01]]"),
            vec!["law.mvn:", "E = exp(", "at most 1e12"],
        ),
        (
            mvn("[\"lnE\", \"E\"]", "[0.5, 1.8]", "[[0.01, 0.0], [0.0, 0.01]]"),
            vec!["law.mvn.names:", "both give E"],
        ),
        (
            "[law]\npreset = \"custom\"\nuncertainty = \"none\"\nE = 1.8\nA = 1e308\nB = 2000\nalpha = 0.3\nbeta = 0.3\n".into(),
            vec!["law.A:", "at most 1e12"],
        ),
    ];
    for (extra, needles) in &cases {
        let sc = scenario_file(dir.path(), extra);
        let o = run(&["run", s(&sc), "--out", s(&out)]);
        refused(&o, needles);
        assert!(!out.exists());
    }
    // Draws files: A = 1e308, non-finite, both A and logA, a column named twice.
    for (rows, needles) in [
        (
            "E,A,B,alpha,beta\n1.8,1e308,2000,0.3,0.3\n",
            vec!["law.draws_file:", "line 2", "A = 1e308", "at most 1e12"],
        ),
        (
            "E,A,B,alpha,beta\n1e308,1e308,1e308,1e-9,1e-9\n",
            vec!["law.draws_file:", "line 2", "at most 1e12"],
        ),
        (
            "logE,A,B,alpha,beta\n800,400,2000,0.3,0.3\n",
            vec!["law.draws_file:", "line 2", "E = inf"],
        ),
        (
            "E,A,logA,B,alpha,beta\n1.8,400,6,2000,0.3,0.3\n",
            vec!["law.draws_file:", "A and logA both given"],
        ),
        (
            "E,A,B,alpha,beta,beta\n1.8,400,2000,0.3,0.3,0.4\n",
            vec!["law.draws_file:", "\"beta\" twice"],
        ),
    ] {
        std::fs::write(dir.path().join("d.csv"), rows).unwrap();
        let sc = scenario_file(
            dir.path(),
            "[law]\npreset = \"custom\"\nuncertainty = \"draws\"\ndraws_file = \"d.csv\"\n",
        );
        let o = run(&["run", s(&sc), "--out", s(&out)]);
        refused(&o, &needles);
        assert!(!out.exists());
    }
    // A grid axis below one parameter or token.
    let o = run(&[
        "run",
        "scenarios/a100-3days.toml",
        "--set",
        "search.tokens={min=1e-300,max=1e11,points=20}",
    ]);
    refused(&o, &["search.tokens.min:", "at least 1"]);
}

// 4. fit refuses what it cannot identify; what it writes, run accepts.

#[test]
fn fit_refuses_unidentifiable_runs_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.csv");
    for (rows, needle) in [
        (
            (1..=8)
                .map(|i| format!("{}e8,{}e10,3.0\n", i, 9 - i))
                .collect::<String>(),
            "same losses",
        ),
        (
            (1..=8)
                .map(|i| format!("1e8,{i}e10,{}\n", 3.0 - 0.1 * f64::from(i)))
                .collect::<String>(),
            "same model sizes",
        ),
    ] {
        std::fs::write(
            dir.path().join("r.csv"),
            format!("params,tokens,loss\n{rows}"),
        )
        .unwrap();
        let o = run(&[
            "fit",
            s(&dir.path().join("r.csv")),
            "--bootstrap",
            "20",
            "--out",
            s(&out),
        ]);
        refused(&o, &[needle, "at least two distinct"]);
        assert!(!out.exists());
    }
    // Limits on rows of work and refits.
    let o = run(&[
        "fit",
        "data/chinchilla_fig4_points.csv",
        "--bootstrap",
        "1000000000",
    ]);
    refused(&o, &["--bootstrap:", "2 to 100000"]);
    let many: String = (0..600)
        .map(|i| {
            let (p, d) = (1e8 * (1.0 + f64::from(i)), 1e10 * (1.0 + f64::from(i % 7)));
            format!(
                "{p},{d},{}\n",
                1.8 + 400.0 / p.powf(0.34) + 410.0 / d.powf(0.28)
            )
        })
        .collect();
    std::fs::write(
        dir.path().join("many.csv"),
        format!("params,tokens,loss\n{many}"),
    )
    .unwrap();
    let o = run(&[
        "fit",
        s(&dir.path().join("many.csv")),
        "--bootstrap",
        "100000",
    ]);
    refused(&o, &["--bootstrap:", "over the limit"]);
}

// 5. run --plot keeps the run when a chart cannot be drawn.

#[test]
fn run_plot_skips_charts_that_cannot_be_drawn_and_keeps_the_csvs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    // No uncertain input: the tornado has nothing to show.
    let sc = scenario_file(
        dir.path(),
        "[law]\npreset = \"chinchilla\"\nuncertainty = \"none\"\n",
    );
    let o = run(&[
        "run",
        s(&sc),
        "--set",
        "budget.mfu=0.4",
        "--set",
        "budget.goodput=0.9",
        "--draws",
        "1",
        "--plot",
        "--out",
        s(&out),
    ]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("note: tornado.svg not drawn"), "{e}");
    assert!(!e.contains("error"), "{e}");
    for f in ["configs.csv", "draws.csv", "run.json", "loss_vs_params.svg"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(!out.join("tornado.svg").exists());
}

// 7. Temporary outputs and concurrent runs.

/// Killed while it writes, a run leaves no partial file under a CSV's name: a leftover temporary
/// folder holds only `.part` files or complete ones (compared byte for byte with a finished run
/// of the same seed), and the next run into the folder removes it.
#[test]
fn a_killed_run_leaves_no_partial_csv_under_a_csv_name() {
    let dir = tempfile::tempdir().unwrap();
    let args = |out: &Path| -> Vec<String> {
        let mut a: Vec<String> = [
            "run",
            "scenarios/a100-3days.toml",
            "--backend",
            "cpu",
            "--quiet",
            "--set",
            "sampling.draws=2048",
            "--out",
        ]
        .map(String::from)
        .to_vec();
        a.push(s(out).into());
        a
    };
    let reference = dir.path().join("ref");
    let o = Command::new(bin())
        .args(args(&reference))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = dir.path().join("res");
    let temp_dir = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".res.tmp-"))
    };
    let mut killed_while_writing = 0;
    for delay_ms in [0u64, 1, 3, 8, 20, 50] {
        let mut child = Command::new(bin())
            .args(args(&out))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .spawn()
            .unwrap();
        // Wait for the write phase (its temporary folder), then kill at a few moments in it.
        while !temp_dir() && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if !name.starts_with(".res.") || !entry.path().is_dir() {
                continue;
            }
            killed_while_writing += 1;
            for f in std::fs::read_dir(entry.path()).unwrap().flatten() {
                let fname = f.file_name().to_string_lossy().to_string();
                if fname.ends_with(".part") || fname == scalerisk::export::MARKER {
                    continue;
                }
                assert!(
                    std::fs::read(f.path()).unwrap()
                        == std::fs::read(reference.join(&fname)).unwrap(),
                    "{name}/{fname} is partial"
                );
            }
        }
    }
    assert!(
        killed_while_writing > 0,
        "no kill landed in the write phase"
    );
    let mut a = args(&out);
    a.extend(["--set".into(), "sampling.draws=64".into()]);
    let o = Command::new(bin())
        .args(&a)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".res"))
        .collect();
    let inside: Vec<_> = left
        .iter()
        .flat_map(|l| {
            std::fs::read_dir(dir.path().join(l))
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?} holding {inside:?}");
}

/// A second run into a folder another run is writing is refused naming the other process; a
/// lock left by a killed run is taken over.
#[test]
fn concurrent_runs_into_one_folder_are_serialised_by_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("res");
    let lock = dir.path().join(".res.lock");
    let mut first = Command::new(bin())
        .args([
            "run",
            "scenarios/a100-3days.toml",
            "--backend",
            "cpu",
            "--quiet",
        ])
        .args(["--set", "sampling.draws=40000", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !lock.exists() {
        assert!(t.elapsed() < Duration::from_secs(20), "no lock taken");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut args = vec!["run", "scenarios/a100-3days.toml", "--out", s(&out)];
    args.extend(SMALL);
    let o = run(&args);
    let pid = first.id().to_string();
    refused(&o, &["--out:", "another scalerisk run", &pid]);
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(lock.exists(), "a killed run cannot remove its lock");
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!lock.exists());
}

// 8. Memory and disk.

#[test]
fn runs_too_large_for_memory_are_refused_before_any_work() {
    let t = Instant::now();
    let o = run(&[
        "run",
        "scenarios/a100-3days.toml",
        "--set",
        "search.params={min=1e8,max=2e9,points=40}",
        "--set",
        "search.tokens={min=1e9,max=1e11,points=20}",
        "--set",
        "search.hours=[72]",
        "--draws",
        "10000000",
    ]);
    refused(&o, &["sampling.draws:", "GB of memory", "over "]);
    let o = run(&[
        "run",
        "scenarios/a100-3days.toml",
        "--set",
        // Pass 1's per-size profiles: 20,000 sizes × 20,000 draws × 28 B = 11 GB, on a grid of
        // only 60,000 configurations (the term the first memory estimate missed).
        "search.params={min=1e8,max=2e9,points=20000}",
        "--set",
        "search.tokens={min=1e9,max=1e11,points=2}",
        "--set",
        "search.hours=[72]",
        "--draws",
        "20000",
    ]);
    refused(&o, &["GB of memory", "over "]);
    assert!(t.elapsed() < Duration::from_secs(10));
}

// 9. Minor items.

#[test]
fn minor_refusals_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    // A misspelt section is named.
    let p = dir.path().join("b.toml");
    std::fs::write(
        &p,
        "name = \"b\"\n[budjet]\ngpu = \"a100-80gb\"\nhours = 72\n",
    )
    .unwrap();
    // The refusal leads with the key that is wrong and names the right one.
    refused(
        &run(&["run", s(&p)]),
        &["budjet: unknown key", "did you mean `budget`?"],
    );
    // Nonsense the issue found accepted.
    for (set, needle) in [
        ("budget.hours=1e300", "budget.hours:"),
        (
            "budget.flops_per_param_token=1e-300",
            "budget.flops_per_param_token:",
        ),
        ("data.unique_tokens=0.5", "data.unique_tokens:"),
    ] {
        let o = run(&["run", "scenarios/a100-3days.toml", "--set", set]);
        refused(&o, &[needle]);
    }
    // Not UTF-8: said so, not "missing".
    let p = dir.path().join("latin1.csv");
    std::fs::write(&p, b"params,tokens,loss\n1e8,1e10,3.0\xe9\n").unwrap();
    refused(&run(&["fit", s(&p)]), &["not UTF-8"]);
    // A file of another kind is not echoed back at length.
    let long_header = format!("{}:x:0:0:root:/root:/bin/bash\n", "root".repeat(40));
    std::fs::write(dir.path().join("d.csv"), &long_header).unwrap();
    let sc = scenario_file(
        dir.path(),
        "[law]\npreset = \"custom\"\nuncertainty = \"draws\"\ndraws_file = \"d.csv\"\n",
    );
    let o = run(&["run", s(&sc)]);
    refused(&o, &["law.draws_file:", "no column E"]);
    assert!(stderr(&o).len() < 300, "{}", stderr(&o));
    // Duplicate columns in a runs CSV.
    let p = dir.path().join("dup.csv");
    std::fs::write(&p, "params,tokens,loss,loss\n1,1,1,1\n").unwrap();
    refused(&run(&["fit", s(&p)]), &["\"loss\" twice"]);
}

/// `plot` on a folder whose CSV lost a column or was cut mid-row: both bad input (exit 2), the
/// file named (the issue found 1 for one and 2 for the other).
#[test]
fn plot_refuses_renamed_columns_and_truncated_csvs_alike() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let mut args = vec![
        "run",
        "scenarios/a100-3days.toml",
        "--quiet",
        "--out",
        s(&out),
    ];
    args.extend(SMALL);
    assert!(run(&args).status.success());
    let configs = std::fs::read_to_string(out.join("configs.csv")).unwrap();
    std::fs::write(
        out.join("configs.csv"),
        configs.replacen("params", "parameters", 1),
    )
    .unwrap();
    refused(
        &run(&["plot", s(&out)]),
        &["configs.csv:", "no column \"params\""],
    );
    std::fs::write(out.join("configs.csv"), &configs[..configs.len() / 2]).unwrap();
    refused(&run(&["plot", s(&out)]), &["configs.csv:", "line"]);
}

/// An OS error is printed once, not once per layer of context.
#[test]
fn os_errors_are_printed_once() {
    let e = scalerisk::Error::io(
        "/x/y",
        std::io::Error::from(std::io::ErrorKind::PermissionDenied),
    );
    let msg = format!("{:#}", anyhow::Error::from(e).context("writing /x"));
    assert_eq!(msg.matches("permission denied").count(), 1, "{msg}");
}

/// With XDG_RUNTIME_DIR unset (a server, a container), probing adapters prints no `error:` line
/// from Mesa: a successful run's stderr is empty.
#[test]
fn a_successful_run_is_quiet_without_xdg_runtime_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let quiet = |args: &[&str], envs: &[(&str, &str)]| {
        let mut c = Command::new(bin());
        c.args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("XDG_RUNTIME_DIR");
        for (k, v) in envs {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(!e.contains("error"), "{args:?}: {e}");
    };
    // SCALERISK_AUTO=any: auto probes the adapters (and uses lavapipe when present).
    let mut args = vec![
        "run",
        "scenarios/a100-3days.toml",
        "--quiet",
        "--out",
        s(&out),
    ];
    args.extend(SMALL);
    quiet(&args, &[("SCALERISK_AUTO", "any")]);
    quiet(&["devices"], &[]);
}
