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
    let batch =
        "[observations.runs.a]\nschedule = \"cosine\"\ntokens = 3e9\nbatch_tokens = 524288\n";
    let cases: [(String, &str, &str); 17] = [
        (head.to_string(), ROWS, "observations.runs: losses.csv line 2: run \"a\" has no [observations.runs.a] table"),
        (format!("{head}{RUN}"), "run,params,tokens,loss\na,1e8,2e9,3\na,1e8,1e9,3.1\n", "rows of a run must ascend in tokens"),
        (format!("{head}{RUN}"), "run,params,tokens,loss\na,1e8,1e9,3\na,2e8,2e9,3.1\n", "one size per run"),
        (format!("{head}{RUN}"), "run,params,tokens\na,1e8,1e9\n", "columns run, params, tokens, loss are needed"),
        (format!("{head}{RUN}"), "run,params,tokens,loss\na,1e8,1e9,nan\n", "column loss: \"nan\" is not a number > 0"),
        (format!("{head}[observations.runs.a]\nschedule = \"cos\"\ntokens = 3e9\n"), ROWS, "observations.runs.a.schedule: \"cos\" is not allowed"),
        (format!("{head}[observations.runs.a]\nschedule = \"cosine\"\ntokens = 3e9\ndecay_start = 1e9\n"), ROWS, "observations.runs.a.decay_start: is for schedule = \"wsd\" only"),
        (format!("{head}level = \"loose\"\n{RUN}"), ROWS, "observations.level: \"loose\" is not allowed"),
        (format!("{head}live = \"a\"\nlive_hours = 80\n{RUN}"), ROWS, "observations.live_hours: 80 is not allowed; the hours the live run has trained, < budget.hours (72)"),
        // Units a user can mix up: steps for tokens, millions for parameters, perplexity for
        // loss; rows or a decay past the run's plan; a noise that makes the rows say nothing;
        // an empty file; a run name with a dot, unquoted.
        (format!("{head}{batch}"), "run,params,tokens,loss\na,1e8,1000,3.2\na,1e8,2000,3.1\n", "losses.csv line 2: run \"a\" tokens 1000 is less than one step's batch (524288 tokens); the column holds tokens, not steps"),
        (format!("{head}{RUN}"), "run,params,tokens,loss\na,124,1e9,3.2\n", "losses.csv line 2, column params: 124 is below 100000; give the parameter count"),
        (format!("{head}{RUN}"), "run,params,tokens,loss\na,1e8,1e9,27.5\n", "losses.csv line 2, column loss: 27.5 is above 20 nats"),
        (format!("{head}{RUN}"), "run,params,tokens,loss\na,1e8,1e9,3.2\na,1e8,4e9,3.1\n", "losses.csv line 3: run \"a\" tokens 4000000000 is past its planned 3000000000"),
        (format!("{head}[observations.runs.a]\nschedule = \"wsd\"\ntokens = 3e9\ndecay_start = 2e9\ndecay_tokens = 2e9\n"), ROWS, "observations.runs.a.decay_tokens: 2000000000 is not allowed; the decay must end by the planned tokens: at most tokens − decay_start = 1000000000"),
        (format!("{head}noise = 5\n{RUN}"), ROWS, "observations.noise: 5 is not allowed; the sd of one observed loss in nats, in (0, 1]"),
        (format!("{head}{RUN}"), "\n", "observations.losses: losses.csv is empty; columns run, params, tokens, loss are needed"),
        (format!("{head}[observations.runs.a.b]\nschedule = \"cosine\"\ntokens = 3e9\n"), ROWS, "observations.runs.a.b: a run's table holds no table; a run name with a dot needs quotes: [observations.runs.\"a.b\"]"),
    ];
    for (obs, rows, want) in cases {
        let err = refused(&obs, rows);
        assert!(err.contains(want), "want {want:?} in {err:?}");
    }
    // A misspelt key of a run is a misspelling, not a dotted name.
    let err = refused(&format!("{head}{RUN}decay_strat = 2e9\n"), ROWS);
    assert!(
        err.contains("observations.runs.a.decay_strat: unknown key; did you mean `decay_start`?")
            && !err.contains("quotes"),
        "{err}"
    );
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

/// `scalerisk run` on BASE + `observations` with `rows` as losses.csv (512 draws): the report.
fn report(observations: &str, rows: &str) -> String {
    report_with(observations, rows, 512)
}

/// The same with `draws` draws.
fn report_with(observations: &str, rows: &str, draws: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("losses.csv"), rows).unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        format!("{BASE}[sampling]\ndraws = {draws}\n{observations}"),
    )
    .unwrap();
    let out = Command::cargo_bin("scalerisk")
        .unwrap()
        .env("XDG_RUNTIME_DIR", "/tmp")
        .args(["run", "--backend", "cpu", "--out"])
        .arg(dir.path().join("out"))
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json = std::fs::read_to_string(dir.path().join("out/run.json")).unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    let warnings = report.matches("  warning: ").count();
    let listed = json.matches("\"warnings\"").count();
    assert_eq!(listed, 1, "run.json lists the warnings once");
    assert_eq!(
        json.contains("\"warnings\": []") || json.contains("\"warnings\":[]"),
        warnings == 0,
        "report and run.json agree"
    );
    report
}

/// Accepted observations the posterior cannot honour are said in the report (and run.json): a
/// run none of whose rows is past the transient, a measured MFU outside the prior's range, rows
/// the curve cannot follow; rows and a measurement the prior can meet get no warning.
#[test]
fn observations_the_posterior_cannot_use_are_warned_about() {
    let head = "[observations]\nlosses = \"losses.csv\"\nnoise = 0.01\nlevel = \"free\"\n";
    let quiet = report(&format!("{head}mfu = {{ value = 0.4 }}\n{RUN}"), ROWS);
    assert!(!quiet.contains("warning"), "{quiet}");
    // The same on 48 draws: too few prior draws survive to cluster standard errors on.
    let few = report_with(&format!("{head}mfu = {{ value = 0.4 }}\n{RUN}"), ROWS, 48);
    assert!(
        few.contains("warning: the posterior's 48 draws descend from only "),
        "{few}"
    );
    // Every row before a tenth of a 3e10-token plan.
    let early = report(
        &format!("{head}[observations.runs.a]\nschedule = \"cosine\"\ntokens = 3e10\n"),
        "run,params,tokens,loss\na,1e8,1e9,3.2\na,1e8,2e9,3.1\n",
    );
    assert!(
        early.contains("warning: run a: none of its 2 rows is at or past 3.0000e9 tokens"),
        "{early}"
    );
    // MFU measured at 0.7 against a prior of 0.3–0.5.
    let outside = report(&format!("{head}mfu = {{ value = 0.7 }}\n{RUN}"), ROWS);
    assert!(
        outside.contains("warning: the measured MFU 0.700 is ")
            && outside.contains("sd from what the posterior allows (mean 0.49"),
        "{outside}"
    );
    // A loss that jumps by 0.3 nats between neighbouring rows of a smooth run, noise 0.01.
    let jumpy = report(
        &format!("{head}mfu = {{ value = 0.4 }}\n{RUN}"),
        "run,params,tokens,loss\na,1e8,1e9,3.2\na,1e8,1.5e9,3.5\na,1e8,2e9,3.1\na,1e8,2.5e9,3.4\na,1e8,3e9,3.05\n",
    );
    assert!(
        jumpy.contains("warning: run a: its 5 rows used sit ")
            && jumpy.contains("from the curve on average"),
        "{jumpy}"
    );
    // Steps where tokens belong and no batch to catch it: at a few thousand tokens the law
    // expects 20–40 nats, and the posterior would follow the rows by bending the law.
    let steps = report(
        "[observations]\nlosses = \"losses.csv\"\nnoise = 0.01\n[observations.runs.a]\nschedule = \"cosine\"\ntokens = 3000\n",
        "run,params,tokens,loss\na,1e8,1000,3.2\na,1e8,2000,3.1\na,1e8,3000,3.05\n",
    );
    assert!(
        steps.contains("warning: run a: its loss 3.0500 at 3.0000e3 tokens lies outside everything the prior expects there"),
        "{steps}"
    );
    // The same as a live run of ten hours: a throughput a millionth of the prior's, so sharp
    // that even the smallest tempering step keeps only a few draws.
    let live = report(
        "[observations]\nlosses = \"losses.csv\"\nnoise = 0.01\nlive = \"a\"\nlive_hours = 10\n[observations.runs.a]\nschedule = \"cosine\"\ntokens = 3000\nbatch_tokens = 1\n",
        "run,params,tokens,loss\na,1e8,1000,3.2\na,1e8,2000,3.1\na,1e8,3000,3.05\n",
    );
    assert!(
        live.contains("warning: at tempering step 1 the effective sample size fell to "),
        "{live}"
    );
}
