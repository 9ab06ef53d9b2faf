//! `scalerisk plot` / `run --plot`: on a run of each shipped scenario the four charts exist, parse
//! as SVG, and carry their title, axis labels with units, legend and data marks.

use assert_cmd::Command;

/// (chart, texts it must show, element kind of its data marks, least number of them).
fn expectations(
    draws: usize,
    inputs: usize,
) -> Vec<(&'static str, Vec<&'static str>, &'static str, usize)> {
    vec![
        (
            "loss_vs_params",
            vec![
                "expected loss against model size",
                "parameters P",
                "loss (nats per token)",
                "5–95% band",
                "recommended",
            ],
            "polygon",
            1,
        ),
        (
            "frontier",
            vec![
                "what more budget buys",
                "budget (",
                "optimal parameters P* and tokens D*",
                "median P*",
                "median D*",
            ],
            "polygon",
            2,
        ),
        (
            "tornado",
            vec![
                "what moves the plan's loss",
                "uncertain input",
                "lowest decile",
                "highest decile",
            ],
            "rect",
            2 * inputs,
        ),
        (
            "allocation_density",
            vec![
                "where each draw's optimum falls",
                "optimal parameters P*",
                "tokens D* it trains",
                "20 tokens per parameter",
            ],
            "circle",
            draws,
        ),
    ]
}

#[test]
fn plot_writes_four_readable_charts_for_every_shipped_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let mut scenarios: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    scenarios.sort();
    for path in scenarios {
        let out = dir.path().join(path.file_stem().unwrap());
        Command::cargo_bin("scalerisk")
            .unwrap()
            .arg("run")
            .arg(&path)
            .args(["--draws", "256", "--quiet", "--plot", "--out"])
            .arg(&out)
            .assert()
            .success();
        let sensitivity = std::fs::read_to_string(out.join("sensitivity.csv")).unwrap();
        let inputs = sensitivity.lines().count() - 1;
        for (chart, texts, mark, least) in expectations(256, inputs.min(12)) {
            let file = out.join(format!("{chart}.svg"));
            let svg = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let doc = roxmltree::Document::parse(&svg)
                .unwrap_or_else(|e| panic!("{} is not XML: {e}", file.display()));
            let shown: String = doc
                .descendants()
                .filter(|n| n.has_tag_name("text"))
                .filter_map(|n| n.text())
                .collect::<Vec<_>>()
                .join(" | ");
            for t in texts {
                assert!(shown.contains(t), "{}: no {t:?} in {shown}", file.display());
            }
            // Axis tick labels: at least two numbers on the chart.
            let numbers = doc
                .descendants()
                .filter(|n| n.has_tag_name("text"))
                .filter(|n| {
                    n.text()
                        .is_some_and(|s| s.chars().any(|c| c.is_ascii_digit()))
                })
                .count();
            assert!(numbers >= 2, "{}: no tick labels", file.display());
            let marks = doc.descendants().filter(|n| n.has_tag_name(mark)).count();
            assert!(
                marks >= least,
                "{}: {marks} <{mark}> marks, expected at least {least}",
                file.display()
            );
        }
    }
}

/// `scalerisk plot` on a folder that is not a run: exit 2 naming what is missing.
#[test]
fn plot_refuses_a_folder_that_is_not_a_run() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("scalerisk")
        .unwrap()
        .arg("plot")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("run.json: missing"));
}
