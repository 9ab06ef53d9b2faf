//! Command-line integration tests: the binary as a user runs it.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

mod common;

fn scalerisk() -> Command {
    Command::cargo_bin("scalerisk").unwrap()
}

const SMALL: [&str; 6] = [
    "--set",
    "search.params={min=1e8,max=2e9,points=24}",
    "--set",
    "search.tokens={min=1e9,max=1e11,points=20}",
    "--set",
    "sampling.draws=512",
];

fn read_csv(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

/// The README's main command: a recommendation in the hundreds of millions of parameters at
/// roughly 10–40 tokens per parameter (what the published laws imply for 2.4–4.0e19 FLOPs).
#[test]
fn a100_three_days_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let assert = scalerisk()
        .args(["run", "scenarios/a100-3days.toml", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("recommended (expected loss):"), "{stdout}");
    for f in [
        "configs.csv",
        "draws.csv",
        "recommendations.csv",
        "run.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let mut reader = csv::Reader::from_path(out.join("recommendations.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let recs: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let expected = recs
        .iter()
        .find(|r| &r[0] == "expected")
        .expect("expected row");
    let cell = |name: &str| -> f64 { expected[col(name)].parse().unwrap() };
    // Under the default schedule the plan trains until the deadline (D = inf); the tokens it
    // actually trains are a band.
    let (p, d) = (cell("params"), cell("tokens_trained_p50"));
    assert!(cell("tokens").is_infinite(), "until the deadline");
    assert!((1e8..1e9).contains(&p), "params {p:e}");
    assert!((10.0..40.0).contains(&(d / p)), "tokens/param {}", d / p);
    let draws = read_csv(&out.join("draws.csv"));
    assert_eq!(draws.len(), 8192);
}

/// Same seed → byte-identical CSVs with 1 and 2 threads.
#[test]
fn identical_outputs_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    for threads in ["1", "2"] {
        scalerisk()
            .env("RAYON_NUM_THREADS", threads)
            .args(["run", "scenarios/a100-3days.toml", "--quiet", "--out"])
            .arg(dir.path().join(threads))
            .args(SMALL)
            .assert()
            .success()
            .stdout("");
    }
    for f in [
        "configs.csv",
        "draws.csv",
        "frontier.csv",
        "recommendations.csv",
        "sensitivity.csv",
    ] {
        let a = std::fs::read(dir.path().join("1").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("2").join(f)).unwrap();
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
}

/// Bad values: one line naming the field, exit code 2, nothing written.
#[test]
fn bad_input_is_refused_with_the_field_named() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--set", "budget.mfu={uniform=[0.6,0.5]}"],
            "budget.mfu: uniform low 0.6 >= high 0.5",
        ),
        (
            &["--set", "budget.count=1.5"],
            "budget.count: 1.5 is not allowed",
        ),
        (
            &["--set", "budget.gpu=a100"],
            "budget.gpu: \"a100\" is not a preset",
        ),
        (
            &["--set", "budget.hourz=3"],
            "budget.hourz: unknown key; did you mean `hours`?",
        ),
        (
            &["--set", "law.preset=gpt"],
            "law.preset: \"gpt\" is not a preset",
        ),
        (
            &["--set", "budget.mfu={uniform=[0.3,1.5]}"],
            "budget.mfu: 0.3–1.5 reaches 1.5",
        ),
        (
            &["--set", "search.params={min=1e9,max=1e8,points=4}"],
            "search.params: min 1000000000",
        ),
        (
            &["--set", "decision.min_completion=1.5"],
            "decision.min_completion: 1.5 is not allowed",
        ),
        (
            &["--set", "decision.objectives=[\"expected\",\"p_best\"]"],
            "decision.objectives: \"p_best\" is not allowed (replaced by \"near_best\"",
        ),
        (
            &["--set", "decision.near_best_within=0"],
            "decision.near_best_within: 0 is not allowed",
        ),
        (
            &[
                "--set",
                "decision.pilots=true",
                "--set",
                "training.schedule=\"cosine\"",
            ],
            "decision.pilots: pilots are priced under training.schedule = \"wsd\"",
        ),
        (
            &["--set", "decision.pilot_noise=-1"],
            "decision.pilot_noise: -1 is not allowed",
        ),
        (
            &["--set", "sampling.draws=0"],
            "sampling.draws: 0 is not allowed",
        ),
        (
            &[
                "--set",
                "law.uncertainty=mvn",
                "--set",
                "law.preset=chinchilla",
            ],
            "law.uncertainty: \"mvn\" needs a covariance",
        ),
        (
            &["--set", "budget.flops=1e20"],
            "budget.gpu: not used with budget.flops",
        ),
        (
            &["--set", "budget.hours=nan"],
            "budget.hours: nan is not allowed",
        ),
        (
            &["--set", "budget.hours=inf"],
            "budget.hours: inf is not allowed",
        ),
        (
            &["--set", "budget.count=-2"],
            "budget.count: -2 is not allowed",
        ),
        (&["--set", "budget.goodput=-0.1"], "budget.goodput"),
        (
            &[
                "--set",
                "law.uncertainty=draws",
                "--set",
                "law.draws_file=nope.csv",
            ],
            "law.draws_file: cannot read",
        ),
        (
            &[
                "--set",
                "search.params={min=1e7,max=1e10,points=5000}",
                "--set",
                "search.tokens={min=1e8,max=1e12,points=5000}",
            ],
            "search: 5000 × 5000 × 4 = 100000000 configurations is over the limit",
        ),
        (
            &["--draws", "9000000"],
            "sampling.draws: 9000000 draws × 153600 configurations",
        ),
        (&["--precision", "-1"], "--precision: -1 is not allowed"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in cases {
        let out = dir.path().join("never");
        // A negative flag value must be attached (--precision=-1), or clap reads it as a flag.
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let args = if args.len() == 2 && args[0] == "--precision" {
            vec![format!("--precision={}", args[1])]
        } else {
            args
        };
        let assert = scalerisk()
            .args(["run", "scenarios/a100-3days.toml", "--out"])
            .arg(&out)
            .args(&args)
            .assert()
            .code(2);
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(
            stderr.starts_with("error: ") && stderr.contains(message),
            "{args:?}: {stderr}"
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: more than one line: {stderr}"
        );
        assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary files left behind"
    );
}

#[test]
fn missing_scenario_file_is_bad_input() {
    scalerisk()
        .args(["run", "no/such.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read no/such.toml"));
}

#[test]
fn set_overrides_reach_the_run() {
    let dir = tempfile::tempdir().unwrap();
    scalerisk()
        .args([
            "run",
            "scenarios/a100-3days.toml",
            "--quiet",
            "--draws",
            "256",
            "--seed",
            "9",
            "--set",
            "budget.hours=48",
            "--out",
        ])
        .arg(dir.path())
        .args(&SMALL[..4])
        .assert()
        .success();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(doc["scenario"]["budget"]["hours"], 48.0);
    assert_eq!(doc["draws"], 256);
    assert_eq!(doc["seed"], 9);
    // Hours past the budget are listed but infeasible.
    let configs = read_csv(&dir.path().join("configs.csv"));
    assert!(configs
        .iter()
        .filter(|r| &r[2] == "72.0")
        .all(|r| &r[4] == "false"));
    assert!(configs.iter().any(|r| &r[2] == "36.0" && &r[4] == "true"));
}

#[test]
fn json_report_is_one_document() {
    let dir = tempfile::tempdir().unwrap();
    let assert = scalerisk()
        .args(["run", "scenarios/a100-3days.toml", "--json", "--out"])
        .arg(dir.path())
        .args(SMALL)
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(doc["recommendations"][0]["objective"], "expected");
}

#[test]
fn check_laws_and_gpus_print_their_tables() {
    scalerisk()
        .args(["check", "scenarios/a100-3days.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"preset\": \"epoch2024\""));
    scalerisk().arg("laws").assert().success().stdout(
        predicate::str::contains("muennighoff2023").and(predicate::str::contains("ILLUSTRATIVE")),
    );
    scalerisk().arg("gpus").assert().success().stdout(
        predicate::str::contains("a100-80gb")
            .and(predicate::str::contains("312"))
            // The A100 80GB SXM datasheet's 2,039 GB/s, which the decoding bound uses.
            .and(predicate::str::contains("memory GB/s"))
            .and(predicate::str::contains("2039")),
    );
}

/// `--backend gpu` with no adapter is bad input naming the fix, never a silent fallback.
/// (WGPU_BACKEND=dx12 hides every adapter on Linux.)
#[cfg(target_os = "linux")]
#[test]
fn gpu_without_adapter_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    scalerisk()
        .env("WGPU_BACKEND", "dx12")
        .args([
            "run",
            "scenarios/a100-3days.toml",
            "--backend",
            "gpu",
            "--out",
        ])
        .arg(dir.path().join("x"))
        .args(SMALL)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--backend: gpu: no GPU adapter found; install a Vulkan driver",
        ));
    assert!(!dir.path().join("x").exists());
}

/// Every shipped scenario validates and runs (at 256 draws), writing all six outputs; each
/// starts with a comment header stating its question.
#[test]
fn every_shipped_scenario_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut names: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 7, "{names:?}");
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# "),
            "{}: no comment header",
            path.display()
        );
        let out = dir.path().join(path.file_stem().unwrap());
        scalerisk()
            .arg("run")
            .arg(&path)
            .args(["--draws", "256", "--quiet", "--out"])
            .arg(&out)
            .assert()
            .success();
        for f in [
            "configs.csv",
            "draws.csv",
            "frontier.csv",
            "recommendations.csv",
            "sensitivity.csv",
            "run.json",
        ] {
            assert!(out.join(f).is_file(), "{}: {f} missing", path.display());
        }
        assert_eq!(read_csv(&out.join("frontier.csv")).len(), 7);
        let recs = read_csv(&out.join("recommendations.csv"));
        for baseline in ["point_estimate", "twenty_tokens_per_param"] {
            assert!(
                recs.iter().any(|r| &r[0] == baseline),
                "{}: no {baseline} row",
                path.display()
            );
        }
    }
}

/// Killing a run midway (SIGKILL, as a crash or an impatient Ctrl-C would) leaves the previous
/// results intact and no partial CSV; the next run into the same folder cleans up what a run
/// killed while writing left behind, and restores results it had moved aside.
#[test]
fn killing_a_run_midway_leaves_no_partial_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("configs.csv"), "previous\n").unwrap();
    // The marker of a previous run: without it the folder is refused before any work.
    std::fs::write(
        out.join("run.json"),
        "{\"tool\": \"scalerisk\", \"scenario\": {}}\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scalerisk"))
        .args([
            "run",
            "scenarios/a100-3days.toml",
            "--backend",
            "cpu",
            "--quiet",
            // Four times the default draws: still computing, nothing written yet, when killed.
            "--draws",
            "32768",
            "--out",
        ])
        .arg(&out)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.code().is_none(),
        "the run ended ({status}) before it was killed"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("configs.csv")).unwrap(),
        "previous\n"
    );
    // Besides the results, only the killed run's lock (its pid; the next run takes it over).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![".results.lock".to_string(), "results".to_string()],
        "partial files left: {names:?}"
    );

    // What a run killed while writing would leave: a half-written temporary folder, and the
    // previous results moved aside with the target missing, each with the marker the tool puts
    // in the folders it makes or moves. pids 999999 and 999998 are not running.
    use scalerisk::export::{marker_text, MARKER};
    let old = dir.path().join(".results.old-999999");
    std::fs::write(out.join(MARKER), marker_text(999999)).unwrap();
    std::fs::rename(&out, &old).unwrap();
    let tmp = dir.path().join(".results.tmp-999998");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join(MARKER), marker_text(999998)).unwrap();
    std::fs::write(tmp.join("configs.csv"), "half").unwrap();
    scalerisk()
        .args(["run", "scenarios/a100-3days.toml", "--quiet", "--out"])
        .arg(dir.path().join("other"))
        .args(SMALL)
        .assert()
        .success();
    // Another target does not touch them ...
    assert!(old.exists() && tmp.exists());
    scalerisk()
        .args(["run", "scenarios/a100-3days.toml", "--quiet", "--out"])
        .arg(&out)
        .args(SMALL)
        .assert()
        .success();
    // ... the same target cleans up, and its new results replace the restored ones as a whole.
    assert!(!old.exists() && !tmp.exists() && !dir.path().join(".results.lock").exists());
    let configs = std::fs::read_to_string(out.join("configs.csv")).unwrap();
    assert!(configs.starts_with("params,tokens,hours"));
}

/// A scenario whose law draws come from `csv` is refused with `message`, exit code 2, nothing
/// written.
fn refuses_draws_csv(csv: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("draws.csv"), csv).unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "name = \"s\"\n[budget]\ngpu = \"a100-80gb\"\nhours = 72\n[law]\npreset = \"custom\"\n\
         uncertainty = \"draws\"\ndraws_file = \"draws.csv\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    scalerisk()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(message));
    assert!(!out.exists());
}

/// A draws CSV with a bad row names its line and column; an output path that is a file is
/// refused before any work; exit code 2 and nothing written in both cases.
#[test]
fn bad_csv_rows_and_outputs_are_refused() {
    refuses_draws_csv(
        "E,A,B,alpha,beta\n1.8,480,2100,0.35,0.37\n1.8,480,oops,0.35,0.37\n",
        "law.draws_file: line 3, column B: \"oops\" is not a finite number",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    scalerisk()
        .args(["run", "scenarios/a100-3days.toml", "--out"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--out:").and(predicate::str::contains("is not a folder")),
        );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

/// Line numbers in CSV messages are the file's lines (the csv crate's positions), not counted
/// records: a quoted cell over two lines and a blank line come before the bad row, on line 5.
#[test]
fn csv_errors_name_the_files_own_line() {
    refuses_draws_csv(
        "E,A,B,alpha,beta,note\n1.8,480,2100,0.35,0.37,\"two\nlines\"\n\n1.8,480,oops,0.35,0.37,x\n",
        "law.draws_file: line 5, column B: \"oops\" is not a finite number",
    );
}

/// The usage line `fit` prints works when copied into a scenario in another
/// folder and run from a third (law.draws_file is relative to the scenario file; the printed
/// path is absolute).
#[test]
fn fit_usage_line_works_when_copied_into_a_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::canonicalize("data/chinchilla_fig4_points.csv").unwrap();
    let out = scalerisk()
        .current_dir(dir.path())
        .arg("fit")
        .arg(&data)
        .args(["--drop-highest", "5", "--bootstrap", "24", "--out"])
        .arg("fits/draws.csv")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("uncertainty = ") || l.starts_with("draws_file = "))
        .collect();
    assert_eq!(lines.len(), 2, "no usage lines to copy in {out}");
    let template = std::fs::read_to_string("scenarios/chinchilla-hindcast.toml").unwrap();
    assert!(template.contains("uncertainty = \"mvn\""));
    let scenario = template.replace("uncertainty = \"mvn\"", &lines.join("\n"));
    std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
    let path = dir.path().join("scenarios").join("mine.toml");
    std::fs::write(&path, scenario).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    scalerisk()
        .current_dir(elsewhere.path())
        .arg("run")
        .arg(&path)
        .args(["--draws", "24", "--quiet", "--out"])
        .arg(elsewhere.path().join("run"))
        .assert()
        .success();
    let draws = read_csv(&elsewhere.path().join("run/draws.csv"));
    assert_eq!(draws.len(), 24);
}

/// Numbers in help as people read them; `--plot SCENARIO` keeps the scenario;
/// "median of 1 runs"; `check` says what it prints.
#[test]
fn help_plot_bench_and_check_say_what_they_do() {
    let help = scalerisk().args(["fit", "--help"]).assert().success();
    let help = String::from_utf8(help.get_output().stdout.clone()).unwrap();
    assert!(help.contains("[default: 5.76e23]"), "{help}");
    assert!(!help.contains("576000000000000000000000"), "{help}");

    let dir = tempfile::tempdir().unwrap();
    scalerisk()
        .args(["run", "--plot", "scenarios/chinchilla-hindcast.toml"])
        .args(SMALL)
        .args(["--quiet", "--out"])
        .arg(dir.path().join("svg"))
        .assert()
        .success();
    assert!(dir.path().join("svg/frontier.svg").exists());
    scalerisk()
        .args(["run", "scenarios/chinchilla-hindcast.toml", "--plot=png"])
        .args(SMALL)
        .args(["--quiet", "--out"])
        .arg(dir.path().join("png"))
        .assert()
        .success();
    assert!(dir.path().join("png/frontier.png").exists());

    // --quiet prints nothing at all on a success; without it the report and the files.
    let quiet = scalerisk()
        .args(["run", "scenarios/chinchilla-hindcast.toml", "--quiet"])
        .args(SMALL)
        .arg("--out")
        .arg(dir.path().join("quiet"))
        .assert()
        .success();
    assert!(quiet.get_output().stdout.is_empty());
    assert!(
        quiet.get_output().stderr.is_empty(),
        "{:?}",
        quiet.get_output()
    );

    let bench = scalerisk()
        .args(["bench", "--configs", "64", "--draws", "16", "--reps", "1"])
        .assert()
        .success();
    let bench = String::from_utf8(bench.get_output().stdout.clone()).unwrap();
    assert!(!bench.contains("of 1 runs"), "{bench}");
    assert!(bench.contains("one run after a warm-up"), "{bench}");

    scalerisk()
        .args(["check", "scenarios/a100-3days.toml"])
        .assert()
        .success()
        .stderr(predicate::str::contains("the resolved scenario as JSON"));
    // stdout is the resolved scenario alone: it parses as JSON.
    let out = scalerisk()
        .args(["check", "scenarios/a100-3days.toml"])
        .output()
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("check's stdout is JSON");
    assert_eq!(doc["law"]["preset"], "epoch2024");
}

/// `--backend gpu` on a software adapter says so, with an estimate, before it
/// starts (skipped, with the reason printed, where no adapter or a hardware one is found).
#[test]
fn gpu_backend_on_a_software_adapter_says_so() {
    let devices = scalerisk().arg("devices").output().unwrap();
    let devices = String::from_utf8_lossy(&devices.stdout).to_string();
    let adapters: Vec<&str> = devices
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("auto:"))
        .collect();
    if !common::has_adapter() {
        return;
    }
    if !adapters.iter().all(|l| l.contains("[software")) {
        eprintln!("skipped: a hardware adapter is here ({devices})");
        return;
    }
    // Enough work for the note (estimated at least 2 s at 4.5e6 evaluations/s per core), and
    // not much more: the hindcast's 25,600 configurations × draws.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let draws = (3.0 * 4.5e6 * cores as f64 / 25_600.0).ceil() as usize;
    let dir = tempfile::tempdir().unwrap();
    let run = scalerisk()
        .args(["run", "scenarios/chinchilla-hindcast.toml"])
        .args(["--backend", "gpu", "--draws", &draws.to_string()])
        .arg("--out")
        .arg(dir.path().join("gpu"))
        .assert()
        .success();
    let err = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    assert!(
        err.contains("is a software adapter") && err.contains("will take about"),
        "{err}"
    );
}

/// `scalerisk completions bash` prints a bash completion script that completes the `run`
/// subcommand (and its flags); an unknown shell is bad input.
#[test]
fn completions_print_a_script_that_knows_run() {
    let out = scalerisk()
        .args(["completions", "bash"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let script = String::from_utf8(out).unwrap();
    assert!(script.contains("complete -F _scalerisk"), "{script}");
    assert!(script.contains("scalerisk__subcmd__run)"), "{script}");
    assert!(script.contains(" run check plot fit "), "{script}");
    scalerisk()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'tcsh'"));
}

/// Every run folder holds its report as Markdown (the printed report, the charts it drew, the
/// command that reproduces it), and a what-if (`--set`) without `--out` goes beside the base
/// run, never over it.
#[test]
fn a_run_folder_holds_its_report_and_what_ifs_go_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/seed-three-factor.toml"),
        dir.path().join("s.toml"),
    )
    .unwrap();
    let small = [
        "--draws",
        "256",
        "--set",
        "search.params={min=1e8,max=2e9,points=12}",
    ];
    let base = scalerisk()
        .current_dir(dir.path())
        .args(["run", "s.toml", "--plot=svg"])
        .args(small)
        .output()
        .unwrap();
    assert!(base.status.success());
    let printed = String::from_utf8(base.stdout).unwrap();
    let folders = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d.join("output"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let first = folders(dir.path());
    assert_eq!(first.len(), 1);
    let md = std::fs::read_to_string(dir.path().join("output").join(&first[0]).join("report.md"))
        .unwrap();
    let report = printed.rsplit_once("wrote ").unwrap().0;
    assert!(md.contains(report), "report.md holds the printed report");
    assert!(md.contains("![tornado.svg](tornado.svg)"), "{md}");
    assert!(md.contains("`scalerisk run s.toml --plot=svg --draws 256 --set 'search.params={min=1e8,max=2e9,points=12}'`"), "{md}");
    // The what-if: a folder of its own; the base run keeps its charts.
    let whatif = scalerisk()
        .current_dir(dir.path())
        .args(["run", "s.toml", "--set", "budget.hours=48"])
        .args(small)
        .output()
        .unwrap();
    assert!(whatif.status.success());
    let both = folders(dir.path());
    assert_eq!(both.len(), 2, "{both:?}");
    // (The base run has overrides too, so both are what-if folders of the scenario's name.)
    assert!(both.contains(&first[0]), "{both:?}");
    assert!(
        both.iter()
            .all(|f| f.starts_with("seed-three-factor-whatif-")),
        "{both:?}"
    );
    assert!(dir
        .path()
        .join("output")
        .join(&first[0])
        .join("tornado.svg")
        .exists());
}
