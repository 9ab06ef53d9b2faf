//! Which law (MODEL.md §3, `law.mixture`): a mixture of one member is that law, and a mixture of
//! two spans both members' optima (computed here from the Chinchilla closed form).

use std::path::Path;

use scalerisk::export;
use scalerisk::law;
use scalerisk::pipeline::{self, BackendChoice, RunResult};
use scalerisk::presets::laws;
use scalerisk::scenario;

fn run(law_section: &str) -> RunResult {
    let text = format!(
        r#"
        name = "which"
        [budget]
        flops = 5.76e23
        [law]
        {law_section}
        [search]
        params = {{ min = 5e9, max = 5e11, points = 60 }}
        tokens = {{ min = 1e11, max = 1e14, points = 60 }}
        [sampling]
        draws = 1024
        "#
    );
    let s = scenario::from_str(&text, Path::new("."), &[]).unwrap();
    pipeline::run(s, BackendChoice::Cpu, false).unwrap()
}

#[test]
fn a_mixture_of_one_law_is_that_law_byte_for_byte() {
    let plain = run(r#"preset = "epoch2024""#);
    let mixed = run(r#"mixture = [{ preset = "epoch2024", weight = 1.0 }]"#);
    let files = |r: &RunResult| export::files(r).unwrap();
    let (a, b) = (files(&plain), files(&mixed));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        if *name == "run.json" {
            continue; // it echoes the scenario as written
        }
        assert!(x == y, "{name} differs");
    }
}

/// A preset's compute-optimal tokens per parameter at its point values at the Gopher budget,
/// 5.76e23 FLOPs (Hoffmann eq. 4 under C = 6PD).
fn tpp(name: &str) -> f64 {
    let p = laws::find(name).unwrap();
    let get = |c: law::Coeff| laws::point(&p, c).unwrap();
    let k = law::Coeffs {
        e: get(law::Coeff::E),
        a: get(law::Coeff::A),
        b: get(law::Coeff::B),
        alpha: get(law::Coeff::Alpha),
        beta: get(law::Coeff::Beta),
        ..law::Coeffs::default()
    };
    let (p_opt, d_opt) = law::chinchilla_optimum(&k, 5.76e23, 6.0);
    d_opt / p_opt
}

/// The README's opening numbers are the presets' closed form: chinchilla 58.9 and epoch2024
/// 18.3 tokens per parameter at Gopher's budget (also computed by hand from the coefficients of
/// MODEL.md §3: G = (αA/(βB))^(1/(α+β)), P = G·(C/6)^(β/(α+β)), D = C/(6P)).
#[test]
fn readme_tokens_per_parameter_match_the_presets() {
    let (chin, epoch) = (tpp("chinchilla"), tpp("epoch2024"));
    assert!(
        (chin - 58.93).abs() < 0.01 && (epoch - 18.34).abs() < 0.01,
        "{chin} {epoch}"
    );
    let readme = std::fs::read_to_string("README.md")
        .unwrap()
        .replace('\n', " ");
    let said = format!(
        "at {chin:.0} tokens per parameter, Epoch AI's 2024 refit of the same data at {epoch:.0})"
    );
    assert!(readme.contains(&said), "README should say: {said}");
}

#[test]
fn a_mixture_spans_both_members_optima() {
    let r = run(
        r#"mixture = [{ preset = "chinchilla", weight = 0.5 }, { preset = "epoch2024", weight = 0.5 }]"#,
    );
    let (chin, epoch) = (tpp("chinchilla"), tpp("epoch2024"));
    assert!(chin > 50.0 && epoch < 25.0, "{chin} {epoch}");
    let band = r.summary.bands.tokens_per_param;
    // The chinchilla member has no uncertainty: half the draws sit on its optimum, which the
    // oracle finds between grid points by a parabola (within 0.5% here), so that is the band's
    // upper end.
    assert!(
        band.p05 <= epoch.min(chin) && band.p95 >= epoch.max(chin) * 0.995,
        "band {band:?} vs members {epoch} and {chin}"
    );
    // Per-member bands sit around their own closed forms.
    let members = &r.summary.member_bands;
    assert_eq!(members.len(), 2);
    let chin_band = members.iter().find(|m| m.preset == "chinchilla").unwrap();
    // All of its draws share one optimum, found between grid points to within the same 0.5%.
    assert!(
        (chin_band.bands.tokens_per_param.p50 / chin - 1.0).abs() < 0.005,
        "{} vs {chin}",
        chin_band.bands.tokens_per_param.p50
    );
    assert!(
        (chin_band.draws as f64 / 1024.0 - 0.5).abs() < 0.06,
        "weight 0.5"
    );
    // Knowing which law holds is worth something, and is part of knowing the law.
    let info = &r.summary.information;
    let member = info.iter().find(|v| v.group == "law_member").unwrap();
    let whole = info.iter().find(|v| v.group == "law").unwrap();
    assert!(member.value > 3.0 * member.se);
    assert!(member.value <= whole.value + 2.0 * (member.se + whole.se));
}

/// epoch2024's fitted range is the range of the 245 points behind it (data/), recomputed here.
#[test]
fn epoch_fit_range_is_the_range_of_its_data() {
    let mut rd = csv::Reader::from_path("data/chinchilla_fig4_points.csv").unwrap();
    let h = rd.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (ip, ifl) = (col("Model Size"), col("Training FLOP"));
    let mut p = (f64::INFINITY, 0.0f64);
    let mut d = (f64::INFINITY, 0.0f64);
    let mut c = (f64::INFINITY, 0.0f64);
    for r in rd.records() {
        let r = r.unwrap();
        let (size, flops): (f64, f64) = (r[ip].parse().unwrap(), r[ifl].parse().unwrap());
        let tokens = flops / (6.0 * size);
        p = (p.0.min(size), p.1.max(size));
        d = (d.0.min(tokens), d.1.max(tokens));
        c = (c.0.min(flops), c.1.max(flops));
    }
    let r = laws::find("epoch2024").unwrap().fit_range.unwrap();
    let close = |a: (f64, f64), b: (f64, f64)| {
        (a.0 / b.0 - 1.0).abs() < 0.01 && (a.1 / b.1 - 1.0).abs() < 0.01
    };
    assert!(close(r.params, p), "{:?} vs {p:?}", r.params);
    assert!(close(r.tokens, d), "{:?} vs {d:?}", r.tokens);
    assert!(close(r.flops, c), "{:?} vs {c:?}", r.flops);
}

/// The report says where the plan sits against the fitted runs: inside for one A100 for three
/// days, beyond them for 64 H100s for a month (22B+ parameters against 16B fitted).
#[test]
fn reports_say_where_the_plan_sits_in_the_fitted_range() {
    let report = |name: &str| {
        let sets: Vec<String> = ["sampling.draws=512"].map(String::from).to_vec();
        let s = scenario::from_path(Path::new(&format!("scenarios/{name}.toml")), &sets).unwrap();
        scalerisk::report::render(&pipeline::run(s, BackendChoice::Cpu, false).unwrap())
    };
    let a100 = report("a100-3days");
    assert!(
        a100.contains("inside the runs epoch2024 was fitted to"),
        "{a100}"
    );
    let h100 = report("h100-cluster-month");
    assert!(
        h100.contains(
            "warning: the plan extrapolates beyond the runs epoch2024 was fitted to: params"
        ),
        "{h100}"
    );
}
