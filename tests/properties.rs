//! Property tests of the scenario parser and validator (proptest): arbitrary text never panics,
//! every scenario the validator accepts runs to the end, and every accepted `[law.mvn]`
//! or draws file gives only finite numbers in every CSV and in the report.

use std::path::Path;

use proptest::prelude::*;
use scalerisk::pipeline::{self, BackendChoice};
use scalerisk::scenario;

/// A TOML value of the kinds a scenario holds, including hostile ones.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (-1e3f64..1e3).prop_map(|v| format!("{v}")),
        prop_oneof![
            Just("nan"),
            Just("inf"),
            Just("-inf"),
            Just("0"),
            Just("-1"),
            Just("1e400")
        ]
        .prop_map(String::from),
        (0u32..10).prop_map(|v| v.to_string()),
        "[a-z0-9_-]{0,8}".prop_map(|s| format!("{s:?}")),
        (-2.0f64..3.0, -2.0f64..3.0).prop_map(|(a, b)| format!("{{ uniform = [{a}, {b}] }}")),
        (-1.0f64..2.0, -0.5f64..1.0).prop_map(|(a, b)| format!("{{ normal = [{a}, {b}] }}")),
        Just("[]".to_string()),
        Just("{ bogus = 1 }".to_string()),
    ]
}

/// Scenario text: a valid small skeleton with keys replaced or added at random.
fn scenario_text() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        ("budget", "hours"),
        ("budget", "count"),
        ("budget", "mfu"),
        ("budget", "goodput"),
        ("budget", "flops"),
        ("budget", "gpu"),
        ("budget", "hourz"),
        ("data", "unique_tokens"),
        ("law", "preset"),
        ("law", "uncertainty"),
        ("law", "alpha"),
        ("law", "E"),
        ("search", "hours"),
        ("search", "max_params"),
        ("decision", "min_completion"),
        ("decision", "target_loss"),
        ("decision", "objectives"),
        ("decision", "inference_tokens"),
        ("sampling", "draws"),
        ("sampling", "seed"),
        ("sampling", "method"),
    ]);
    prop::collection::vec((keys, value()), 0..4).prop_map(|edits| {
        let mut sections: Vec<(&str, Vec<(String, String)>)> = vec![
            (
                "budget",
                vec![
                    ("gpu".into(), "\"a100-80gb\"".into()),
                    ("hours".into(), "24".into()),
                ],
            ),
            ("data", vec![]),
            ("law", vec![("preset".into(), "\"epoch2024\"".into())]),
            (
                "search",
                vec![
                    (
                        "params".into(),
                        "{ min = 1e8, max = 1e9, points = 3 }".into(),
                    ),
                    (
                        "tokens".into(),
                        "{ min = 1e9, max = 1e11, points = 3 }".into(),
                    ),
                ],
            ),
            ("decision", vec![]),
            ("sampling", vec![("draws".into(), "16".into())]),
        ];
        for ((section, key), v) in edits {
            let entries = &mut sections.iter_mut().find(|(s, _)| *s == section).unwrap().1;
            entries.retain(|(k, _)| k != key);
            // A draws count from the generator is capped so that accepted scenarios stay quick.
            let v = if key == "draws" {
                v.replace("1e400", "7")
            } else {
                v
            };
            entries.push((key.to_string(), v));
        }
        let mut text = String::from("name = \"prop\"\n");
        for (section, entries) in sections {
            text += &format!("[{section}]\n");
            for (k, v) in entries {
                text += &format!("{k} = {v}\n");
            }
        }
        text
    })
}

/// A number a hostile user might give a coefficient, a mean or a cell.
fn hostile_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => 0.01f64..3.0,
        2 => (-30.0f64..30.0).prop_map(f64::exp),
        1 => -2.0f64..0.0,
        1 => prop_oneof![
            Just(1e308),
            Just(1e-9),
            Just(0.0),
            Just(-1.0),
            Just(1e12),
            Just(1.1e12),
            Just(800.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
        ],
    ]
}

fn toml_num(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        "inf".into()
    } else {
        format!("{v:e}")
    }
}

const SKELETON: &str = "name = \"prop\"\n[budget]\ngpu = \"a100-80gb\"\nhours = 24\n\
[search]\nparams = { min = 1e8, max = 1e9, points = 3 }\ntokens = { min = 1e9, max = 1e11, points = 3 }\n\
[sampling]\ndraws = 32\n";

/// An mvn group over a random subset of coefficient names with hostile means and variances.
fn mvn_law() -> impl Strategy<Value = String> {
    let names = prop::sample::subsequence(
        vec!["lnA", "lnB", "lnE", "alpha", "beta", "E", "A", "B"],
        1..4,
    );
    (
        names,
        prop::collection::vec(hostile_number(), 4),
        prop::collection::vec(
            prop_oneof![6 => 1e-8f64..1e-3, 2 => 1e-3f64..1.0, 1 => 1.0f64..10.0, 1 => Just(0.0)],
            4,
        ),
        -0.9f64..0.9,
    )
        .prop_map(|(names, mean, var, rho)| {
            let n = names.len();
            let cov: Vec<String> = (0..n)
                .map(|i| {
                    let row: Vec<String> = (0..n)
                        .map(|j| {
                            let v = if i == j {
                                var[i]
                            } else {
                                rho * (var[i] * var[j]).sqrt()
                            };
                            toml_num(v)
                        })
                        .collect();
                    format!("[{}]", row.join(", "))
                })
                .collect();
            format!(
                "{SKELETON}[law]\npreset = \"epoch2024\"\n[law.mvn]\nnames = [{}]\nmean = [{}]\ncov = [{}]\n",
                names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "),
                mean[..n].iter().map(|v| toml_num(*v)).collect::<Vec<_>>().join(", "),
                cov.join(", ")
            )
        })
}

/// A draws file of 1 to 4 rows with hostile cells, plain or log columns.
fn draws_file() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(
            prop::collection::vec(prop_oneof![12 => 0.05f64..3.0, 1 => hostile_number()], 5),
            1..4,
        ),
    )
        .prop_map(|(logs, rows)| {
            let mut text = if logs {
                "logE,logA,logB,alpha,beta\n".to_string()
            } else {
                "E,A,B,alpha,beta\n".to_string()
            };
            for r in rows {
                text += &r
                    .iter()
                    .map(|v| format!("{v:e}"))
                    .collect::<Vec<_>>()
                    .join(",");
                text.push('\n');
            }
            text
        })
}

/// Run an accepted scenario; every CSV cell that is a number is finite, and the report and
/// run.json hold no NaN or inf.
fn assert_finite_outputs(
    s: scalerisk::scenario::Scenario,
    what: &str,
) -> Result<(), TestCaseError> {
    let r = pipeline::run(s, BackendChoice::Cpu, false);
    prop_assert!(r.is_ok(), "accepted but failed: {:?}\n{what}", r.err());
    let r = r.unwrap();
    for (name, bytes) in scalerisk::export::files(&r).unwrap() {
        let text = String::from_utf8(bytes).unwrap();
        if name.ends_with(".csv") {
            let mut rd = csv::Reader::from_reader(text.as_bytes());
            let headers = rd.headers().unwrap().clone();
            for rec in rd.records() {
                let rec = rec.unwrap();
                for (h, cell) in headers.iter().zip(rec.iter()) {
                    // The one documented non-finite cell: `inf` tokens for "train until the
                    // deadline" (docs/OUTPUTS.md).
                    let deadline = cell == "inf"
                        && ["tokens", "tokens_per_param", "grid_tokens", "robust_tokens"]
                            .contains(&h);
                    let bad = !deadline
                        && (cell.parse::<f64>().is_ok_and(|v| !v.is_finite())
                            || ["inf", "-inf", "NaN", "nan"].contains(&cell));
                    prop_assert!(!bad, "{name} column {h}: {cell}\n{what}");
                }
            }
        } else {
            prop_assert!(
                !text.contains("NaN") && !text.contains("inf,") && !text.contains("Infinity"),
                "{name}: non-finite\n{what}"
            );
        }
    }
    let report = scalerisk::report::render(&r);
    prop_assert!(
        !report.contains("NaN") && !report.contains(" inf"),
        "report: {report}\n{what}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A `[law.mvn]` whose draws leave the law's domain (α < 0, E = exp(800)) is refused
    /// before any work, naming law.mvn; every accepted one gives finite outputs.
    #[test]
    fn every_accepted_mvn_gives_finite_outputs(text in mvn_law()) {
        match scenario::from_str(&text, Path::new("."), &[]) {
            Ok(s) => assert_finite_outputs(s, &text)?,
            Err(e) => {
                prop_assert!(e.is_input(), "{e}");
                prop_assert!(e.to_string().starts_with("law.mvn"), "{e}");
            }
        }
    }

    /// A draws file with cells out of the law's domain (A = 1e308, non-finite, ≤ 0) is
    /// refused naming law.draws_file; every accepted one gives finite outputs.
    #[test]
    fn every_accepted_draws_file_gives_finite_outputs(rows in draws_file()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("d.csv"), &rows).unwrap();
        let text = format!(
            "{SKELETON}[law]\npreset = \"custom\"\nuncertainty = \"draws\"\ndraws_file = \"d.csv\"\n"
        );
        match scenario::from_str(&text, dir.path(), &[]) {
            Ok(s) => assert_finite_outputs(s, &rows)?,
            Err(e) => {
                prop_assert!(e.is_input(), "{e}");
                prop_assert!(e.to_string().starts_with("law.draws_file"), "{e}\n{rows}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any text at all: an error or a scenario, never a panic.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = scenario::from_str(&text, Path::new("."), &[]);
    }

    /// Scenario-shaped text with hostile values: every accepted scenario runs to the end and
    /// every refusal names a field.
    #[test]
    fn every_accepted_scenario_runs(text in scenario_text()) {
        match scenario::from_str(&text, Path::new("."), &[]) {
            Ok(s) => {
                prop_assume!(s.sampling.draws <= 64);
                let r = pipeline::run(s, BackendChoice::Cpu, false);
                prop_assert!(r.is_ok(), "accepted but failed: {:?}\n{text}", r.err());
            }
            Err(e) => {
                prop_assert!(e.is_input(), "{e}");
                let msg = e.to_string();
                prop_assert!(msg.contains(": "), "no field named: {msg}");
            }
        }
    }

    /// The body of fuzz/fuzz_targets/csv_readers.rs on CSV-shaped text: the draws-file and
    /// runs readers never panic, and every row they accept is inside the law's domain.
    #[test]
    fn csv_readers_accept_only_rows_in_the_domain(
        header in prop::sample::select(vec![
            "E,A,B,alpha,beta", "logE,logA,logB,alpha,beta", "params,tokens,loss",
            "params,flops,loss", "E,A,B,alpha,beta,E", "params,loss,loss,tokens",
        ]),
        cells in prop::collection::vec(prop::collection::vec(hostile_number(), 5), 0..8),
    ) {
        let mut text = format!("{header}\n");
        for row in cells {
            text += &row.iter().map(|v| format!("{v:e}")).collect::<Vec<_>>().join(",");
            text.push('\n');
        }
        if let Ok(rows) = scenario::load_law_draws(&text, "law.draws_file") {
            for r in &rows {
                prop_assert!(r.iter().all(|v| v.is_finite()), "{r:?}");
                prop_assert!(r[0] >= 0.0 && r[1..].iter().all(|v| *v > 0.0), "{r:?}");
                prop_assert!(r[..3].iter().all(|v| *v <= scenario::MAX_TERM), "{r:?}");
            }
        }
        if let Ok(runs) = scalerisk::fit::runs::parse(&text, "runs.csv") {
            for r in &runs {
                prop_assert!(r.params.is_finite() && r.params > 0.0, "{r:?}");
                prop_assert!(r.loss.is_finite() && r.loss > 0.0, "{r:?}");
                prop_assert!(r.tokens.is_finite() && r.tokens > 0.0, "{r:?}");
            }
        }
    }
}
