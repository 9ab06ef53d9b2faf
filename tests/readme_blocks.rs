//! README's printed outputs are what the binary prints: the guided tour (a100-3days) and the
//! live run's lines (live-run), run as the README runs them. Only the adapter's thread count in
//! the header and the output folder in the last line depend on the machine; both are normalised.

use std::path::Path;
use std::process::Command;

/// The fenced block that follows the paragraph ending in `after`.
fn block_after<'a>(readme: &'a str, after: &str) -> &'a str {
    let at = readme
        .find(after)
        .unwrap_or_else(|| panic!("README has no {after:?}"));
    let start = at + readme[at..].find("```\n").expect("a block follows") + 4;
    let end = start + readme[start..].find("```").expect("the block ends");
    &readme[start..end]
}

/// The report of `scenario` with `--plot=png` into a temporary folder, normalised.
fn report(scenario: &str, plot: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scalerisk"));
    cmd.args(["run", scenario, "--backend", "cpu", "--out"])
        .arg(&out_dir)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir());
    if plot {
        cmd.arg("--plot=png");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    normalise(
        &String::from_utf8(out.stdout).unwrap(),
        &out_dir.display().to_string(),
    )
}

/// "(2 CPU threads (f64))" → "(N CPU threads (f64))"; the output folder → "OUT".
fn normalise(text: &str, out_dir: &str) -> String {
    let mut s = text.replace(out_dir, "OUT");
    if let Some(i) = s.find(" CPU threads (f64))") {
        let start = s[..i].rfind('(').unwrap() + 1;
        s.replace_range(start..i, "N");
    }
    s
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn the_guided_tour_prints_what_readme_shows() {
    let readme = readme();
    let shown = normalise(
        block_after(&readme, "--plot=png` prints:"),
        "output/one-a100-three-days",
    );
    let printed = report("scenarios/a100-3days.toml", true);
    assert_eq!(
        printed, shown,
        "README's tour differs from the binary's report"
    );
}

#[test]
fn the_live_run_prints_what_readme_shows() {
    let readme = readme();
    let shown = block_after(&readme, "its first 20%) prints, after the header:");
    let printed = report("scenarios/live-run.toml", false);
    let start = printed
        .find("conditioned on")
        .expect("the observations' line");
    let end = printed.find("recommended (").expect("the recommendation");
    assert_eq!(
        &printed[start..end],
        shown,
        "README's live-run lines differ"
    );
}
