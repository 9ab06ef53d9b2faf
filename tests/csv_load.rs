//! The CSVs load with `pandas.read_csv` / `polars.read_csv` and no options
//! (scripts/check_csv_load.py); skipped, with the reason, where python3 or both libraries are
//! missing, unless `SCALERISK_REQUIRE_PYTHON=1` (set by .ci/run), where that fails.

use assert_cmd::Command;

mod common;

#[test]
fn csvs_load_in_pandas_and_polars_with_no_options() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // Limited data (unique_tokens filled), a target and lifetime cost (p_target filled),
    // and the plain case (empty p_target cells).
    for scenario in [
        "scenarios/a100-3days.toml",
        "scenarios/data-scarce.toml",
        "scenarios/inference-heavy.toml",
    ] {
        Command::cargo_bin("scalerisk")
            .unwrap()
            .args(["run", scenario, "--draws", "256", "--quiet", "--out"])
            .arg(&out)
            .assert()
            .success();
        let r = std::process::Command::new(&python)
            .arg("scripts/check_csv_load.py")
            .arg(&out)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&r.stdout);
        match r.status.code() {
            Some(0) => eprintln!("{scenario}: {stdout}"),
            Some(3) => {
                common::python_library_missing(&stdout);
                return;
            }
            _ => panic!("{scenario}: {stdout}{}", String::from_utf8_lossy(&r.stderr)),
        }
    }
}
