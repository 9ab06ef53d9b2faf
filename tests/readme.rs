//! README's examples, run as a user runs them.

use assert_cmd::Command;

mod common;

/// README's pandas example reproduces the tool's loss-against-size chart: its minimum is the
/// grid's best plan of recommendations.csv (scripts/readme_pandas.py). Skipped, with the reason,
/// where python3, pandas or matplotlib is missing (`SCALERISK_PYTHON` names another python),
/// unless `SCALERISK_REQUIRE_PYTHON=1` (set by .ci/run), where that fails.
#[test]
fn readme_pandas_example_reproduces_the_chart() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("one-a100-three-days");
    Command::cargo_bin("scalerisk")
        .unwrap()
        .args([
            "run",
            "scenarios/a100-3days.toml",
            "--draws",
            "1024",
            "--quiet",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let r = std::process::Command::new(&python)
        .arg("scripts/readme_pandas.py")
        .arg(&out)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&r.stdout).to_string() + &String::from_utf8_lossy(&r.stderr);
    match r.status.code() {
        Some(0) => {}
        Some(3) => common::python_library_missing(&said),
        _ => panic!("README's pandas example: {said}"),
    }
}
