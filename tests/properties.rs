//! Property tests of the scenario parser and validator (proptest): arbitrary text never panics,
//! and every scenario the validator accepts runs to the end.

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
}
