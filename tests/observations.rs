//! `[observations]` refused as bad input: one line naming the field, the value and what is
//! allowed, exit code 2, before any work (docs/SCENARIOS.md).

use assert_cmd::Command;

const BASE: &str = r#"
name = "obs"
[budget]
gpu = "a100-80gb"
hours = 72
mfu = { uniform = [0.3, 0.5] }
[law]
preset = "epoch2024"
uncertainty = "mvn"
[search]
params = { min = 1e8, max = 1e9, points = 4 }
tokens = { min = 1e9, max = 1e11, points = 4 }
hours = [72]
"#;

const ROWS: &str = "run,params,tokens,loss\na,1e8,1e9,3.2\na,1e8,2e9,3.1\na,1e8,3e9,3.05\n";

const RUN: &str = "[observations.runs.a]\nschedule = \"cosine\"\ntokens = 3e9\n";

/// `check` on BASE + `observations` with `rows` as losses.csv: the one stderr line, exit 2.
fn refused(observations: &str, rows: &str) -> String {
    refused_scenario(&format!("{BASE}{observations}"), rows)
}

/// `check` on the scenario `text` with `rows` as losses.csv: the one stderr line, exit 2.
fn refused_scenario(text: &str, rows: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("losses.csv"), rows).unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::cargo_bin("scalerisk")
        .unwrap()
        .env("XDG_RUNTIME_DIR", "/tmp")
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{text}: {out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn bad_observations_name_the_field_and_what_is_allowed() {
    let head = "[observations]\nlosses = \"losses.csv\"\n";
    let cases: [(String, &str, &str); 9] = [
        (head.to_string(), ROWS, "observations.runs: losses.csv line 2: run \"a\" has no [observations.runs.a] table"),
        (format!("{head}{RUN}"), "run,params,tokens,loss\na,1e8,2e9,3\na,1e8,1e9,3.1\n", "rows of a run must ascend in tokens"),
        (format!("{head}{RUN}"), "run,params,tokens,loss\na,1e8,1e9,3\na,2e8,2e9,3.1\n", "one size per run"),
        (format!("{head}{RUN}"), "run,params,tokens\na,1e8,1e9\n", "columns run, params, tokens, loss are needed"),
        (format!("{head}{RUN}"), "run,params,tokens,loss\na,1e8,1e9,nan\n", "column loss: \"nan\" is not a number > 0"),
        (format!("{head}[observations.runs.a]\nschedule = \"cos\"\ntokens = 3e9\n"), ROWS, "observations.runs.a.schedule: \"cos\" is not allowed"),
        (format!("{head}[observations.runs.a]\nschedule = \"cosine\"\ntokens = 3e9\ndecay_start = 1e9\n"), ROWS, "observations.runs.a.decay_start: is for schedule = \"wsd\" only"),
        (format!("{head}level = \"loose\"\n{RUN}"), ROWS, "observations.level: \"loose\" is not allowed"),
        (format!("{head}live = \"a\"\nlive_hours = 80\n{RUN}"), ROWS, "observations.live_hours: 80 is not allowed; the hours the live run has trained, < budget.hours (72)"),
    ];
    for (obs, rows, want) in cases {
        let err = refused(&obs, rows);
        assert!(err.contains(want), "want {want:?} in {err:?}");
    }
    // A misspelt key gets the closest name.
    let err = refused(&format!("{head}nosie = 0.01\n{RUN}"), ROWS);
    assert!(
        err.contains("observations.nosie: unknown key; did you mean `noise`?"),
        "{err}"
    );
    // Hours that would need more than the hardware's peak.
    let err = refused(
        &format!("{head}live = \"a\"\nlive_hours = 0.01\n{RUN}"),
        ROWS,
    );
    assert!(err.contains("needs MFU × goodput = "), "{err}");
    // A FLOPs budget has no MFU to measure.
    let err = refused_scenario(
        "name = \"f\"\n[budget]\nflops = 1e21\nhours = 72\n[law]\npreset = \"epoch2024\"\n[observations]\nmfu = { value = 0.4 }\n",
        ROWS,
    );
    assert!(err.contains("observations.mfu: a FLOPs budget"), "{err}");
    // Keys with nothing to apply to.
    let err = refused("[observations]\nnoise = 0.01\n", ROWS);
    assert!(
        err.contains("observations.noise: has nothing to apply to"),
        "{err}"
    );
}
