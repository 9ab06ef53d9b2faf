//! Serving as a frontier (docs/OUTPUTS.md: configs.csv's lifetime columns, serving.csv; MODEL.md
//! §5, lifetime cost): every plan's lifetime cost recomputed by hand from the A100 80GB
//! datasheet (312 TFLOP/s dense BF16) and the forward pass's 2P FLOPs per served token; the
//! frontier checked against a brute-force dominance test over the candidates; reserved
//! GPU-hours subtracted; the report's serving section read back against serving.csv.

mod common;

use std::collections::HashMap;
use std::path::Path;

use scalerisk::pipeline::{self, BackendChoice, RunResult};
use scalerisk::scenario;

const SERVED: f64 = 1e12;
const USD: f64 = 2.5;

fn run_with(extra: &[&str]) -> RunResult {
    common::run_shipped("inference-heavy", 30, 512, extra)
}

/// The rows of one of the run's CSVs, as column → cell maps.
fn table(r: &RunResult, name: &str) -> Vec<HashMap<String, String>> {
    let files = scalerisk::export::files(r).unwrap();
    let (_, bytes) = files
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no {name}"));
    let mut rd = csv::Reader::from_reader(&bytes[..]);
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    rd.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// The frontier's row of params below 1/1.2 of `params` nearest 1/1.5 of it (in ln P), the
/// smaller model the report's trade line names.
fn nearest_smaller(front: &[HashMap<String, String>], params: f64) -> &HashMap<String, String> {
    front
        .iter()
        .filter(|x| num(x, "params") < params / 1.2)
        .min_by(|a, b| {
            let d = |x: &HashMap<String, String>| (num(x, "params") / (params / 1.5)).ln().abs();
            d(a).total_cmp(&d(b))
        })
        .unwrap()
}

/// "1.5× smaller, 3.47B params: +0.0047 loss, -2664 GPU-h": what the report's trade line says of
/// `row` against `plan`.
fn trade(
    side: &str,
    row: &HashMap<String, String>,
    plan: &scalerisk::aggregate::Recommendation,
) -> String {
    format!(
        "1.5× {side}, {} params: {:+.4} loss, {:+.0} GPU-h",
        scalerisk::report::si(num(row, "params")),
        num(row, "loss_mean") - plan.stats.loss_mean,
        num(row, "lifetime_gpu_hours") - plan.lifetime_gpu_hours
    )
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    let cell = row.get(col).unwrap_or_else(|| panic!("no column {col}"));
    if cell.is_empty() {
        f64::NAN
    } else {
        cell.parse().unwrap()
    }
}

/// Lifetime GPU-hours by hand: one GPU's mean training hours plus 1e12 tokens × 2P FLOPs at
/// E[1/MFU] of the draws over the A100's 312 TFLOP/s (the FLOPs bound: no inference batch).
fn by_hand(r: &RunResult, row: &HashMap<String, String>) -> f64 {
    let inv_mfu = r.draws.iter().map(|d| 1.0 / d.mfu).sum::<f64>() / r.draws.len() as f64;
    num(row, "gpu_hours_mean") + SERVED * 2.0 * num(row, "params") * inv_mfu / 312e12 / 3600.0
}

#[test]
fn every_plan_carries_its_lifetime_cost_in_gpu_hours_and_dollars() {
    let usd = format!("budget.usd_per_gpu_hour={USD}");
    let r = run_with(&[&usd]);
    for name in ["configs.csv", "recommendations.csv"] {
        let rows = table(&r, name);
        assert!(!rows.is_empty());
        for row in &rows {
            let hand = by_hand(&r, row);
            let got = num(row, "lifetime_gpu_hours");
            assert!((got / hand - 1.0).abs() < 1e-9, "{name}: {got} vs {hand}");
            let dollars = num(row, "lifetime_cost_usd");
            assert!(
                (dollars / (USD * hand) - 1.0).abs() < 1e-9,
                "{name}: ${dollars}"
            );
        }
    }
    // Without serving, the columns are empty: a statistic that does not apply.
    let s = scenario::from_path(
        Path::new("scenarios/a100-3days.toml"),
        &[
            "sampling.draws=64".into(),
            "search.params={min=1e8,max=1e9,points=8}".into(),
        ],
    )
    .unwrap();
    let plain = pipeline::run(s, BackendChoice::Cpu, false).unwrap();
    let rows = table(&plain, "configs.csv");
    assert!(rows.iter().all(|x| x["lifetime_gpu_hours"].is_empty()));
    assert!(!scalerisk::export::files(&plain)
        .unwrap()
        .iter()
        .any(|(n, _)| *n == "serving.csv"));
}

#[test]
fn serving_csv_holds_exactly_the_candidates_no_other_beats_on_both() {
    let r = run_with(&[]);
    // Candidates (MODEL.md §5): feasible plans, less the finite token counts that complete in
    // no draw (they train what "until the deadline" trains).
    let cands: Vec<(f64, f64)> = table(&r, "configs.csv")
        .iter()
        .filter(|x| x["feasible"] == "true")
        .filter(|x| x["tokens"] == "inf" || num(x, "p_complete") > 0.0)
        .map(|x| (num(x, "lifetime_gpu_hours"), num(x, "loss_mean")))
        .collect();
    let beaten = |&(c, l): &(f64, f64)| {
        cands
            .iter()
            .any(|&(c2, l2)| c2 <= c && l2 <= l && (c2 < c || l2 < l))
    };
    let mut brute: Vec<(f64, f64)> = cands.iter().copied().filter(|p| !beaten(p)).collect();
    brute.sort_by(|a, b| a.0.total_cmp(&b.0));
    brute.dedup();
    let front: Vec<(f64, f64)> = table(&r, "serving.csv")
        .iter()
        .map(|x| (num(x, "lifetime_gpu_hours"), num(x, "loss_mean")))
        .collect();
    assert!(front.len() > 5, "{front:?}");
    assert_eq!(front, brute);
    // Its ends: the cheapest candidate, and the lowest expected loss of any candidate.
    let cheapest = cands.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
    let lowest = cands.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    assert_eq!(front[0].0, cheapest);
    assert_eq!(front.last().unwrap().1, lowest);
}

#[test]
fn reserved_gpu_hours_cost_nothing() {
    let base = table(&run_with(&[]), "configs.csv");
    let r = run_with(&["budget.reserved_hours=1500"]);
    let reserved = table(&r, "configs.csv");
    for (a, b) in base.iter().zip(&reserved) {
        let want = (num(a, "lifetime_gpu_hours") - 1500.0).max(0.0);
        let got = num(b, "lifetime_gpu_hours");
        assert!((got - want).abs() < 1e-9 * want.max(1.0), "{got} vs {want}");
    }
    // What is already paid makes a larger model free up to it: the lifetime plan grows.
    let size = |r: &RunResult| {
        r.summary
            .recommendations
            .iter()
            .find(|x| x.objective.name() == "lifetime_cost")
            .unwrap()
            .params
    };
    assert!(
        size(&r) > 1.2 * size(&run_with(&[])),
        "{} vs base",
        size(&r)
    );
}

#[test]
fn reserved_hours_are_refused_where_they_mean_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = common::small_scenario(dir.path(), 64, "");
    let out = dir.path().join("out");
    for (set, needles) in [
        (
            "budget.reserved_hours=100",
            &["budget.reserved_hours", "decision.inference_tokens"][..],
        ),
        (
            "budget.reserved_hours=-5",
            &["budget.reserved_hours", "-5", "> 0"][..],
        ),
    ] {
        let o = common::run_in(
            dir.path(),
            &["run", common::s(&p), "--out", common::s(&out), "--set", set],
            std::time::Duration::from_secs(60),
        );
        common::refused(&o, needles);
        assert!(!out.exists(), "{set}: wrote output");
    }
}

#[test]
fn the_report_reads_the_trade_off_from_the_frontier() {
    let r = run_with(&["budget.usd_per_gpu_hour=2"]);
    let text = scalerisk::report::render(&r);
    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("serving 1T tokens"))
        .collect();
    assert!(!section.is_empty(), "{text}");
    let front = table(&r, "serving.csv");
    // The lifetime plan's line gives its GPU-hours and dollars (2 $/GPU-h).
    let plan = r
        .summary
        .recommendations
        .iter()
        .find(|x| x.objective.name() == "lifetime_cost")
        .unwrap();
    let marked = section
        .iter()
        .find(|l| l.contains("← lifetime_cost"))
        .expect("the lifetime plan on the frontier");
    assert!(
        marked.contains(&format!("{:.0} GPU-h", plan.lifetime_gpu_hours)),
        "{marked}"
    );
    assert!(marked.contains(&format!(
        "${}",
        scalerisk::report::si(2.0 * plan.lifetime_gpu_hours)
    )));
    // The trade line: the frontier's plan nearest 1.5× smaller, its loss and cost differences.
    let smaller = nearest_smaller(&front, plan.params);
    let want = trade("smaller", smaller, plan);
    assert!(
        section.iter().any(|l| l.contains(&want)),
        "{want:?} not in {section:#?}"
    );
}

/// `plot` draws the serving chart from serving.csv: one line through every frontier plan, the
/// lifetime plan marked; a run that serves no tokens has none (the four charts only).
#[test]
fn plot_draws_the_frontier_where_the_run_serves_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let limit = std::time::Duration::from_secs(120);
    let out = dir.path().join("ih");
    let here = std::env::current_dir().unwrap();
    let o = common::run_in(
        &here,
        &[
            "run",
            "scenarios/inference-heavy.toml",
            "--draws",
            "256",
            "--quiet",
            "--plot=svg",
            "--out",
            common::s(&out),
        ],
        limit,
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let rows = std::fs::read_to_string(out.join("serving.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let svg = std::fs::read_to_string(out.join("serving.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let longest = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| {
            n.attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .count()
        })
        .max()
        .unwrap();
    assert_eq!(
        longest, rows,
        "the frontier line should pass through every row"
    );
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(
        texts.iter().any(|t| t.contains("lifetime_cost:")),
        "{texts:?}"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("serving.svg"),
        "report.md should link the chart"
    );

    let plain = dir.path().join("plain");
    let p = common::small_scenario(dir.path(), 64, "");
    let o = common::run_in(
        dir.path(),
        &[
            "run",
            common::s(&p),
            "--quiet",
            "--plot=svg",
            "--out",
            common::s(&plain),
        ],
        limit,
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(!plain.join("serving.svg").exists());
    assert!(plain.join("frontier.svg").exists());
}

/// Serving without a target loss: the frontier and the trade are shown around the first
/// objective's plan, so a user need not guess a target first; `lifetime_cost` asked for without
/// a target, or serving on a FLOPs budget, is refused with the field named.
#[test]
fn the_serving_trade_needs_no_target_loss() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let text = text_of(&base);
    let sets = |extra: &[&str]| -> Vec<String> {
        [
            "search.params={min=3e7,max=3e9,points=30}",
            "search.tokens={min=1e9,max=1e12,points=30}",
            "sampling.draws=512",
        ]
        .iter()
        .chain(extra)
        .map(|x| x.to_string())
        .collect()
    };
    let s = scenario::from_str(&text, &base, &sets(&[])).unwrap();
    assert!(s.decision.target_loss.is_none());
    let r = pipeline::run(s, BackendChoice::Cpu, false).unwrap();
    assert!(
        r.summary
            .recommendations
            .iter()
            .all(|x| x.objective.name() != "lifetime_cost"),
        "no lifetime plan without a target"
    );
    let front = table(&r, "serving.csv");
    assert!(front.len() >= 3, "a frontier of {} plans", front.len());
    let text = scalerisk::report::render(&r);
    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("serving 1T tokens"))
        .collect();
    assert!(!section.is_empty(), "{text}");
    let plan = r.summary.recommendations.first().unwrap();
    assert!(
        section
            .iter()
            .any(|l| l.contains(&format!("← {}", plan.objective))),
        "{section:#?}"
    );
    let smaller = nearest_smaller(&front, plan.params);
    let want = format!(
        "against the {} plan ({} params), a model about {}",
        plan.objective,
        scalerisk::report::si(plan.params),
        trade("smaller", smaller, plan)
    );
    assert!(
        section.iter().any(|l| l.contains(&want)),
        "{want:?} not in {section:#?}"
    );
    // Within the budget no larger model is on the frontier (past the optimum it loses on both):
    // the trade names the best plan of that size, from configs.csv, as off the frontier.
    assert!(front.iter().all(|x| num(x, "params") <= plan.params * 1.2));
    let configs = table(&r, "configs.csv");
    let larger_p = configs
        .iter()
        .map(|x| num(x, "params"))
        .filter(|&p| p > plan.params * 1.2)
        .min_by(|a, b| {
            let d = |p: f64| (p / (plan.params * 1.5)).ln().abs();
            d(*a).total_cmp(&d(*b))
        })
        .unwrap();
    let larger = configs
        .iter()
        .filter(|x| num(x, "params") == larger_p && num(x, "loss_mean").is_finite())
        .min_by(|a, b| num(a, "loss_mean").total_cmp(&num(b, "loss_mean")))
        .unwrap();
    let want = trade("larger", larger, plan);
    let line = section.iter().find(|l| l.contains(&want));
    assert!(
        line.is_some_and(|l| l.ends_with("(off the frontier: a cheaper plan has a lower loss)")),
        "{want:?} not in {section:#?}"
    );

    let refused = |extra: &[&str], field: &str| {
        let e = scenario::from_str(&text_of(&base), &base, &sets(extra))
            .err()
            .unwrap_or_else(|| panic!("{extra:?} accepted"))
            .to_string();
        assert!(e.starts_with(field), "{e}");
    };
    refused(
        &["decision.objectives=[\"expected\",\"lifetime_cost\"]"],
        "decision.objectives",
    );
    refused(
        &["budget={flops=1e19,hours=72}"],
        "decision.inference_tokens",
    );
}

/// inference-heavy.toml without its target loss and objectives.
fn text_of(base: &Path) -> String {
    std::fs::read_to_string(base.join("inference-heavy.toml"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("target_") && !l.starts_with("objectives"))
        .map(|l| format!("{l}\n"))
        .collect()
}
