//! One conformance suite, written once over `&dyn Backend` and instantiated for every backend
//! (cubecl's habit): the CPU (f64), the GPU and the Rust twins of its shaders (f32), each held to
//! the brute force below (the CPU backend is never its own reference). The GPU instance skips
//! with a printed reason when no adapter exists, unless SCALERISK_REQUIRE_GPU=1 (set by
//! .ci/run), where "no adapter" fails.

use std::path::Path;

use scalerisk::backend::{cpu, gpu, Backend, ConfigStats, Oracle, Settings};
use scalerisk::grid::Grid;
use scalerisk::sampling::{self, Draw};
use scalerisk::scenario::{self, Scenario};

fn scenario(text: &str) -> Scenario {
    scenario::from_str(text, Path::new("."), &[]).expect("valid scenario")
}

fn settings(s: &Scenario) -> Settings {
    Settings {
        shape: s.law.shape,
        flops_per_param_token: s.budget.flops_per_param_token,
        attention: s.budget.attention,
        target_loss: s.decision.target_loss,
        min_completion: s.decision.min_completion,
        near_best_within: s.decision.near_best_within,
    }
}

mod common;
use common::gpu_with;

fn gpu() -> Option<Box<dyn Backend>> {
    common::gpu().map(|g| Box::new(g) as Box<dyn Backend>)
}

fn cpu() -> Option<Box<dyn Backend>> {
    Some(Box::new(cpu::Cpu))
}

/// The Rust twins of the shaders (f32, the shaders' shape), run on the CPU.
fn twin() -> Option<Box<dyn Backend>> {
    Some(Box::new(gpu::twin::Twin))
}

/// The candidate rule of MODEL.md §5, from its definition rather than from `candidates.rs`: a
/// feasible plan that completes (D ≤ capacity) in a share of draws ≥ `min_completion`; the
/// until-the-deadline plan only when `min_completion` is 0; with that plan on the grid and no
/// cut-run penalty, no finite D that completes in no draw (it trains what D = ∞ trains). When
/// nothing qualifies, every plan that qualifies at `min_completion` = 0.
fn reference_candidates(s: &Scenario, grid: &Grid, draws: &[Draw]) -> Vec<usize> {
    let b = &s.budget;
    let n = draws.len() as f64;
    let cut_runs_pay = draws.iter().any(|x| x.anneal != 0.0);
    let pick = |min_completion: f64| -> Vec<usize> {
        (0..grid.len())
            .filter(|&i| {
                if !grid.feasible(i) {
                    return false;
                }
                let (p, d, t) = grid.config(i);
                if d.is_infinite() {
                    return min_completion <= 0.0;
                }
                let kp = scalerisk::law::k_at(b.flops_per_param_token, b.attention, p) * p;
                let done = draws
                    .iter()
                    .filter(|x| d <= x.throughput * 3600.0 * t / kp)
                    .count();
                done as f64 / n >= min_completion
                    && (done > 0 || !grid.until_deadline || cut_runs_pay)
            })
            .collect()
    };
    let c = pick(s.decision.min_completion);
    if c.is_empty() {
        pick(0.0)
    } else {
        c
    }
}

/// The brute force every backend is held to (the CPU backend included, which must not be its
/// own reference): each configuration's loss in each draw from the reference formula
/// (`law::loss` plus the cosine cut-run penalty, at the capacity of `law::k_at`), each draw's
/// best candidate by a scan (ties: the lower expected loss, compared as the sum of the
/// differences, then the lower index), and every statistic from full sorts.
fn reference(s: &Scenario, grid: &Grid, draws: &[Draw]) -> (Vec<(usize, f64)>, Vec<ConfigStats>) {
    use scalerisk::law;
    let b = &s.budget;
    let cols: Vec<Vec<f64>> = (0..grid.len())
        .map(|i| {
            let (p, d, t) = grid.config(i);
            let kp = law::k_at(b.flops_per_param_token, b.attention, p) * p;
            draws
                .iter()
                .map(|x| {
                    let cap = x.throughput * 3600.0 * t / kp;
                    let at = (p, d, cap, t, x.unique_tokens);
                    law::planned_loss(s.law.shape, &x.coeffs, x.anneal, at)
                })
                .collect()
        })
        .collect();
    let cands = reference_candidates(s, grid, draws);
    let lower_mean = |a: usize, b: usize| {
        cols[a]
            .iter()
            .zip(&cols[b])
            .map(|(x, y)| x - y)
            .sum::<f64>()
            < 0.0
    };
    let n = draws.len();
    let optima: Vec<(usize, f64)> = (0..n)
        .map(|j| {
            let mut best = cands[0];
            for &c in &cands[1..] {
                let (v, w) = (cols[c][j], cols[best][j]);
                if v < w || (v == w && lower_mean(c, best)) {
                    best = c;
                }
            }
            (best, cols[best][j])
        })
        .collect();
    let type7 = |sorted: &[f64], q: f64| {
        let h = (sorted.len() - 1) as f64 * q;
        let lo = h.floor() as usize;
        sorted[lo] + (h - lo as f64) * (sorted[(lo + 1).min(sorted.len() - 1)] - sorted[lo])
    };
    let nf = n as f64;
    let stats = (0..grid.len())
        .map(|i| {
            let (p, d, t) = grid.config(i);
            let kp = law::k_at(b.flops_per_param_token, b.attention, p) * p;
            let x = &cols[i];
            let mean = x.iter().sum::<f64>() / nf;
            let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0)).sqrt();
            let mut sorted = x.clone();
            sorted.sort_by(f64::total_cmp);
            let m = scalerisk::stats::cvar_tail(n, 0.95);
            let mut r: Vec<f64> = x.iter().zip(&optima).map(|(a, o)| a - o.1).collect();
            let regret_mean = r.iter().sum::<f64>() / nf;
            r.sort_by(f64::total_cmp);
            let caps: Vec<f64> = draws
                .iter()
                .map(|dr| dr.throughput * 3600.0 * t / kp)
                .collect();
            ConfigStats {
                loss_mean: mean,
                loss_sd: sd,
                loss_se: sd / nf.sqrt(),
                loss_p05: type7(&sorted, 0.05),
                loss_p50: type7(&sorted, 0.5),
                loss_p95: type7(&sorted, 0.95),
                loss_cvar95: sorted[n - m..].iter().sum::<f64>() / m as f64,
                p_complete: caps.iter().filter(|&&c| d <= c).count() as f64 / nf,
                p_target: s.decision.target_loss.map_or(f64::NAN, |tl| {
                    x.iter().filter(|&&v| v <= tl).count() as f64 / nf
                }),
                regret_mean,
                regret_p95: type7(&r, 0.95),
                regret_max: r[n - 1],
                p_near_best: x
                    .iter()
                    .zip(&optima)
                    .filter(|(a, o)| *a - o.1 <= s.decision.near_best_within)
                    .count() as f64
                    / nf,
                hours_mean: t * caps.iter().map(|&c| (d / c).min(1.0)).sum::<f64>() / nf,
            }
        })
        .collect();
    (optima, stats)
}

/// MODEL.md §6 agreement with the f64 reference: loss_mean ≤ 1e-5 relative, loss_sd ≤ 1e-3
/// relative, quantiles and CVaR within max(1e-4·|L|, 0.02·sd), probabilities within a few near-tie
/// draws. For the CPU backend itself the bound is f64 rounding.
fn assert_agrees(
    backend: &dyn Backend,
    got: &ConfigStats,
    want: &ConfigStats,
    draws: usize,
    what: &str,
) {
    let exact = backend.name() == "cpu";
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-300);
    // The CPU backend's tables and the reference formula round differently (exp(−β·ln D)
    // against powf): f64 rounding, a few ulps of each loss.
    let (mean_tol, sd_tol) = if exact { (1e-12, 1e-9) } else { (1e-5, 1e-3) };
    assert!(
        rel(got.loss_mean, want.loss_mean) <= mean_tol,
        "{what} loss_mean {} vs {}",
        got.loss_mean,
        want.loss_mean
    );
    // The documented exception (docs/MODEL.md §6): f32 evaluation noise of about 1e-7·|L| per
    // loss bounds how small an sd the GPU can resolve, so sd gets an absolute floor of 2e-7·|L|.
    let sd_floor = if exact {
        1e-11 * want.loss_mean
    } else {
        2e-7 * want.loss_mean
    };
    assert!(
        (got.loss_sd - want.loss_sd).abs() <= sd_tol * want.loss_sd + sd_floor,
        "{what} loss_sd {} vs {}",
        got.loss_sd,
        want.loss_sd
    );
    let qtol = if exact {
        1e-11 * want.loss_mean
    } else {
        (1e-4 * want.loss_mean.abs()).max(0.02 * want.loss_sd)
    };
    for (name, a, b) in [
        ("p05", got.loss_p05, want.loss_p05),
        ("p50", got.loss_p50, want.loss_p50),
        ("p95", got.loss_p95, want.loss_p95),
        ("cvar95", got.loss_cvar95, want.loss_cvar95),
        ("regret_p95", got.regret_p95, want.regret_p95),
        ("regret_max", got.regret_max, want.regret_max),
    ] {
        assert!(
            (a - b).abs() <= qtol,
            "{what} {name} {a} vs {b} (tol {qtol})"
        );
    }
    // The means of regret and of hours used: sums of the same terms in another order (and f32
    // terms on the GPU).
    let mtol = if exact { 1e-12 } else { 1e-5 };
    for (name, a, b, scale) in [
        (
            "regret_mean",
            got.regret_mean,
            want.regret_mean,
            want.loss_mean,
        ),
        (
            "hours_mean",
            got.hours_mean,
            want.hours_mean,
            want.hours_mean,
        ),
    ] {
        assert!(
            (a - b).abs() <= mtol * scale.abs(),
            "{what} {name} {a} vs {b}"
        );
    }
    let ptol = if exact { 0.0 } else { 3.0 / draws as f64 };
    for (name, a, b) in [
        ("p_complete", got.p_complete, want.p_complete),
        ("p_target", got.p_target, want.p_target),
        ("p_near_best", got.p_near_best, want.p_near_best),
    ] {
        assert!(
            (a - b).abs() <= ptol + 1e-15 || (a.is_nan() && b.is_nan()),
            "{what} {name} {a} vs {b}"
        );
    }
}

/// Scenarios covering every law form, limited data, a time term and a target.
const CASES: [&str; 3] = [
    r#"
    name = "epoch-mvn"
    [budget]
    gpu = "a100-80gb"
    hours = 72
    mfu = { uniform = [0.3, 0.5] }
    goodput = { uniform = [0.9, 1.0] }
    [search]
    params = { min = 5e7, max = 3e9, points = 20 }
    tokens = { min = 1e9, max = 3e11, points = 15 }
    hours = [24, 72]
    [decision]
    target_loss = 2.8
    [sampling]
    draws = 1000
    "#,
    r#"
    name = "muennighoff-limited"
    [budget]
    gpu = "h100-sxm"
    count = 8
    hours = 240
    [data]
    unique_tokens = { lognormal = [5e9, 0.3] }
    [law]
    preset = "muennighoff2023"
    [search]
    params = { min = 1e8, max = 3e10, points = 14 }
    tokens = { min = 1e9, max = 1e12, points = 12 }
    [sampling]
    draws = 777
    "#,
    r#"
    name = "seed-and-kaplan"
    [budget]
    peak_tflops = 100
    memory_gb = 24
    hours = 100
    [law]
    preset = "seed"
    E = 1.6
    A = 4.0
    B = 6.0
    c = 0.4
    [search]
    params = { min = 1e7, max = 1e9, points = 10 }
    tokens = { min = 1e8, max = 1e11, points = 10 }
    hours = [10, 50, 100]
    [sampling]
    draws = 513
    "#,
];

/// The cases every backend is held to the reference on.
fn reference_cases() -> Vec<Scenario> {
    let mut cases: Vec<Scenario> = CASES.iter().map(|t| scenario(t)).collect();
    cases.push(
        scenario::from_str(
            CASES[0],
            Path::new("."),
            &[
                "law.preset=kaplan2020".into(),
                "law.uncertainty=none".into(),
                "decision.objectives=[\"expected\"]".into(),
                "decision.target_loss=3.5".into(),
            ],
        )
        .unwrap(),
    );
    // A binding min_completion: the candidates are a prefix of each (P, T)'s token axis, the
    // until-the-deadline plans are out, and the oracle and regret follow them.
    for mc in ["0.5", "0.9"] {
        cases.push(
            scenario::from_str(
                CASES[0],
                Path::new("."),
                &[format!("decision.min_completion={mc}")],
            )
            .unwrap(),
        );
    }
    // Kaplan's FLOPs per token: the capacity of each P carries the attention term.
    cases.push(
        scenario::from_str(
            CASES[0],
            Path::new("."),
            &["budget.flops_per_token=kaplan".into()],
        )
        .unwrap(),
    );
    // A cosine schedule: cut runs pay the penalty of an unfinished anneal (law::cut_penalty).
    for text in [CASES[0], CASES[CASES.len() - 1]] {
        cases.push(
            scenario::from_str(text, Path::new("."), &["training.schedule=cosine".into()]).unwrap(),
        );
    }
    cases
}

/// Pass 1, the oracle every backend is handed, runs once on the host whatever the backend: it is
/// held to the scan here, once.
#[test]
fn host_oracle_agrees_with_the_scan() {
    for s in &reference_cases() {
        let grid = Grid::new(s);
        let draws = sampling::draws(s, 0..s.sampling.draws).unwrap();
        let got = Oracle::new(&settings(s), &grid, &draws);
        let (optima, _) = reference(s, &grid, &draws);
        for (j, (o, (index, loss))) in got.optima.iter().zip(&optima).enumerate() {
            assert_eq!(o.index, *index, "{}: draw {j}'s best candidate", s.name);
            assert!(
                (o.loss_grid / loss - 1.0).abs() < 1e-12,
                "{}: draw {j}'s L* {} vs {loss}",
                s.name,
                o.loss_grid
            );
        }
    }
}

/// Pass 2 on `backend`, given the host's oracle, against the reference's statistics.
fn agreement_with_reference(backend: &dyn Backend) {
    for s in &reference_cases() {
        let grid = Grid::new(s);
        let draws = sampling::draws(s, 0..s.sampling.draws).unwrap();
        let got = backend
            .evaluate(&settings(s), &grid, &draws, &|_| {})
            .expect("evaluation");
        let (_, want) = reference(s, &grid, &draws);
        for i in (0..grid.len()).filter(|&i| grid.feasible(i)) {
            assert_agrees(
                backend,
                &got.stats[i],
                &want[i],
                draws.len(),
                &format!("{} config {i}", s.name),
            );
        }
    }
}

/// Hoffmann 2022 eq. 4: P_opt ≈ 4.036e10 at 5.76e23 FLOPs (the oracle, within 2%).
fn hoffmann_gopher_budget(backend: &dyn Backend) {
    let s = scenario(
        r#"
        name = "hindcast"
        [budget]
        flops = 5.76e23
        [law]
        preset = "chinchilla"
        uncertainty = "none"
        [search]
        params = { min = 1e9, max = 1e12, points = 31 }
        tokens = { min = 1e10, max = 1e14, points = 21 }
        [sampling]
        draws = 3
        "#,
    );
    let grid = Grid::new(&s);
    let draws = sampling::draws(&s, 0..3).unwrap();
    let e = backend
        .evaluate(&settings(&s), &grid, &draws, &|_| {})
        .expect("evaluation");
    for o in &e.optima {
        assert!((o.params / 4.036e10 - 1.0).abs() < 0.02, "{:e}", o.params);
    }
    // With no uncertainty every draw agrees, so the best configuration is best in every draw.
    let best = e.optima[0].index;
    assert_eq!(e.stats[best].p_near_best, 1.0);
    assert!(e.stats[best].regret_max.abs() < 1e-5);
}

/// Repeated runs give identical numbers.
fn repeatable(backend: &dyn Backend) {
    let s = scenario(CASES[1]);
    let grid = Grid::new(&s);
    let draws = sampling::draws(&s, 0..s.sampling.draws).unwrap();
    let run = || {
        backend
            .evaluate(&settings(&s), &grid, &draws, &|_| {})
            .expect("evaluation")
            .stats
    };
    let (a, b) = (run(), run());
    // Debug prints the shortest round-trip text, so equal text is equal bits (NaN included).
    assert!(format!("{a:?}") == format!("{b:?}"), "two runs differ");
}

/// The suite for the backend `$make()` returns (None: skipped, the reason printed).
macro_rules! conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn agrees_with_the_f64_reference() {
                if let Some(b) = $make() {
                    agreement_with_reference(&*b);
                }
            }
            #[test]
            fn finds_the_hoffmann_optimum() {
                if let Some(b) = $make() {
                    hoffmann_gopher_budget(&*b);
                }
            }
            #[test]
            fn repeats_exactly() {
                if let Some(b) = $make() {
                    repeatable(&*b);
                }
            }
        }
    };
}

conformance!(cpu_backend, cpu);
conformance!(gpu_backend, gpu);
conformance!(shader_twins, twin);

/// The GPU and the Rust twin of its shaders, configuration by configuration: means to f32
/// summation noise, resolved quantiles and CVaR to a few fine histogram bins (1/16384 of four
/// times the loss spread), the difference f32 evaluation on two devices can make at a bin edge.
#[test]
fn gpu_output_matches_the_shader_twins() {
    let s = scenario(CASES[1]);
    let grid = Grid::new(&s);
    let draws = sampling::draws(&s, 0..s.sampling.draws).unwrap();
    let Some(g) = gpu() else {
        return;
    };
    let settings = settings(&s);
    let oracle = Oracle::new(&settings, &grid, &draws);
    let on_both = |b: &dyn Backend| {
        b.statistics(&settings, &grid, &draws, &oracle, &|_| {})
            .expect("statistics")
    };
    let (g, t) = (on_both(&*g), on_both(&gpu::twin::Twin));
    for (i, (a, b)) in g.iter().zip(&t).enumerate() {
        let span = (b.loss_p95 - b.loss_p05).abs().max(b.loss_sd) * 4.0 + 1e-12;
        for (what, x, y) in [
            ("loss_mean", a.loss_mean, b.loss_mean),
            ("loss_p05", a.loss_p05, b.loss_p05),
            ("loss_p50", a.loss_p50, b.loss_p50),
            ("loss_p95", a.loss_p95, b.loss_p95),
            ("loss_cvar95", a.loss_cvar95, b.loss_cvar95),
        ] {
            assert!(
                (x - y).abs() <= 1e-6 * y.abs() + span / 16384.0,
                "config {i} {what}: gpu {x} vs twin {y}"
            );
        }
        assert!((a.p_complete - b.p_complete).abs() <= 3.0 / draws.len() as f64);
    }
}

/// The GPU's results do not depend on how the configurations are split into dispatches
/// (7 per dispatch against the device's maximum): bit for bit.
#[test]
fn gpu_results_do_not_depend_on_the_dispatch_split() {
    let s = scenario(CASES[1]);
    let grid = Grid::new(&s);
    let draws = sampling::draws(&s, 0..s.sampling.draws).unwrap();
    let Some(g) = gpu_with(gpu::Options::default()) else {
        return;
    };
    let settings = settings(&s);
    let oracle = Oracle::new(&settings, &grid, &draws);
    let whole = g
        .statistics(&settings, &grid, &draws, &oracle, &|_| {})
        .unwrap();
    let g = gpu_with(gpu::Options {
        max_chunk: Some(7),
        ..Default::default()
    })
    .expect("adapter seen above");
    assert_eq!(g.chunk_configs(), 7);
    let split = g
        .statistics(&settings, &grid, &draws, &oracle, &|_| {})
        .unwrap();
    assert!(grid.len() > 7, "the case must span several dispatches");
    assert!(
        format!("{whole:?}") == format!("{split:?}"),
        "results depend on the dispatch split"
    );
}
