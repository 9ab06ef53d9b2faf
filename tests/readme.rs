//! README's examples, run as a user runs them (issue 16).

use assert_cmd::Command;

/// README's pandas example reproduces the tool's loss-against-size chart: its minimum is the
/// grid's best plan of recommendations.csv (scripts/readme_pandas.py). Skipped, with the reason,
/// where python3, pandas or matplotlib is missing (`SCALERISK_PYTHON` names another python).
#[test]
fn readme_pandas_example_reproduces_the_chart() {
    let python = std::env::var("SCALERISK_PYTHON").unwrap_or_else(|_| "python3".into());
    if std::process::Command::new(&python)
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: {python} is not installed");
        return;
    }
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
        Some(3) => eprintln!("{said}"),
        _ => panic!("README's pandas example: {said}"),
    }
}
