//! Parameters with and without embeddings (MODEL.md §1, `budget.vocabulary`): the grid's P is the
//! total count; the shape rule splits it into N = 12·n_layer·d² and a tied V·d embedding; a law
//! fitted on non-embedding parameters (kaplan2020) sees N on every evaluation path.
//!
//! Golden numbers come from published model shapes (Brown et al. 2020, Table 2.1: GPT-3 Medium,
//! 24 layers, d_model 1024, n_ctx 2048, the GPT-2 vocabulary of 50,257 tokens), Kaplan et al.
//! 2020 Table 1's per-token FLOPs rows, and Pearce & Song 2024's fitted γ = 47491 for Chinchilla's
//! configurations (V = 32,000, aspect 39.2; their analysis script prints the fit), all summed here
//! by hand.

use std::path::Path;

use scalerisk::backend::{cpu, gpu, Backend, Oracle};
use scalerisk::grid::Grid;
use scalerisk::law::{self, Attention, ModelShape};
use scalerisk::pipeline::{self, BackendChoice};
use scalerisk::sampling;
use scalerisk::scenario::{self, Scenario};

mod common;

const GPT2_VOCABULARY: f64 = 50257.0;

fn scenario(text: &str) -> Scenario {
    scenario::from_str(text, Path::new("."), &[]).expect("valid scenario")
}

fn refusal(text: &str) -> String {
    scenario::from_str(text, Path::new("."), &[])
        .expect_err("refused")
        .to_string()
}

/// GPT-3 Medium (Brown et al. 2020 Table 2.1): 24 layers, d_model 1024, n_ctx 2048. From Table 1
/// of Kaplan et al.: N = 2·d·n_layer·(2·d_attn + d_ff) = 12·n_layer·d² non-embedding parameters,
/// a V·d token embedding (tied with the de-embedding), and per token a forward pass of 2N (the
/// QKV, projection and feed-forward rows) + 2·n_layer·n_ctx·d (attention mask) + 2·d·V
/// (de-embed); training is three forward passes.
#[test]
fn gpt3_medium_split_and_flops_by_hand() {
    let (n_layer, d, n_ctx, v) = (24.0f64, 1024.0f64, 2048.0f64, GPT2_VOCABULARY);
    let qkv = n_layer * d * 3.0 * d;
    let project = n_layer * d * d;
    let ffn = n_layer * 2.0 * d * (4.0 * d);
    let n = qkv + project + ffn;
    assert_eq!(n, 301_989_888.0);
    let total = n + v * d;
    // Table 2.1 calls it "350M"; it also has 2048·1024 = 2.1M learned position embeddings,
    // which the shape rule leaves out (modern models use rotary or relative positions).
    assert!((total / 350e6 - 1.0).abs() < 0.02, "{total:e}");
    let shape = ModelShape {
        aspect_ratio: d / n_layer,
        vocabulary: Some(v),
    };
    assert!((shape.d_model(total) / d - 1.0).abs() < 1e-12);
    assert!((shape.n_layer(total) / n_layer - 1.0).abs() < 1e-12);
    assert!((shape.non_embedding(total) / n - 1.0).abs() < 1e-12);
    assert!((shape.embedding(total) / (v * d) - 1.0).abs() < 1e-12);

    let forward = 2.0 * (qkv + project + ffn) + 2.0 * n_layer * n_ctx * d + 2.0 * d * v;
    let training = 3.0 * forward;
    let attention = Attention {
        context: n_ctx,
        aspect_ratio: d / n_layer,
        vocabulary: Some(v),
    };
    let ours = law::flops_per_token(6.0, Some(attention), total);
    assert!(
        (ours / training - 1.0).abs() < 1e-12,
        "{ours} vs {training}"
    );
    // The attention term is 6·24·2048·1024 = 302M FLOPs per token, +14.2% over 6P.
    assert!((training / (6.0 * total) - 1.1424).abs() < 1e-3);
    // At the default aspect ratio of 64 (GPT-3 Medium's is 42.7) d_model moves as a cube root
    // and n_layer·d as its square: the estimate is 1.7% low.
    let default = Attention {
        aspect_ratio: scalerisk::scenario::DEFAULT_ASPECT_RATIO,
        ..attention
    };
    let at_64 = law::flops_per_token(6.0, Some(default), total);
    assert!(
        (at_64 / training - 1.0).abs() < 0.02,
        "{at_64} vs {training}"
    );
    // Without the vocabulary the same P is taken as all non-embedding: a wider, deeper model
    // (d_model 1079), whose attention term n_layer·n_ctx·d is larger.
    let no_vocab = Attention {
        vocabulary: None,
        ..attention
    };
    let plain = law::flops_per_token(6.0, Some(no_vocab), total);
    assert!(plain > training * 1.01, "{plain} vs {training}");
}

/// Pearce & Song 2024: N_T = N_\E + γ·N_\E^(1/3) with γ = (a/12)^(1/3)·V; for Chinchilla's
/// configurations (V = 32,000, a = 39.2) their script's fit is γ = 47491. The shape rule's
/// inverse must give back N from N_T over Kaplan's whole range and beyond, where the embedding
/// is most of the model (768 non-embedding parameters) or a rounding error (100B).
#[test]
fn pearce_song_gamma_and_the_inverse() {
    let shape = ModelShape {
        aspect_ratio: 39.2,
        vocabulary: Some(32_000.0),
    };
    for n in [768.0, 1e5, 3e7, 1.5e9, 1e11] {
        let total = shape.total_from_non_embedding(n);
        let gamma = (total - n) / f64::cbrt(n);
        assert!((gamma / 47491.0 - 1.0).abs() < 5e-4, "γ {gamma}");
        let back = shape.non_embedding(total);
        assert!((back / n - 1.0).abs() < 1e-9, "N {n:e}: {back:e}");
    }
}

/// A compute budget makes every draw's throughput the same, and kaplan2020 has no uncertainty,
/// so a configuration's mean loss is Kaplan's L(N, D_run) at the non-embedding N, computed here
/// with N found by bisection on P = 12·d³/a + V·d.
const KAPLAN: &str = r#"
    name = "emb"
    [budget]
    flops = 1e20
    vocabulary = 50257
    [law]
    preset = "kaplan2020"
    [search]
    params = { min = 2e7, max = 2e9, points = 9 }
    tokens = { min = 1e9, max = 1e11, points = 7 }
    [sampling]
    draws = 16
"#;

fn bisect_non_embedding(p: f64, aspect: f64, v: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, p.cbrt() * 100.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if 12.0 * mid.powi(3) / aspect + v * mid > p {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    12.0 * lo.powi(3) / aspect
}

#[test]
fn kaplan_law_sees_non_embedding_parameters() {
    let s = scenario(KAPLAN);
    let r = pipeline::run(s, BackendChoice::Cpu, false).unwrap();
    let (alpha_n, alpha_d, n_c, d_c) = (0.076, 0.103, 6.4e13, 1.8e13);
    let mut checked = 0;
    for i in 0..r.grid.len() {
        let (p, d, _) = r.grid.config(i);
        let n = bisect_non_embedding(p, 64.0, GPT2_VOCABULARY);
        let d_run = d.min(1e20 / (6.0 * p));
        let hand = ((n_c / n).powf(alpha_n / alpha_d) + d_c / d_run).powf(alpha_d);
        let got = r.evaluation.stats[i].loss_mean;
        assert!(
            (got / hand - 1.0).abs() < 1e-12,
            "P {p:e} D {d:e}: {got} vs {hand}"
        );
        checked += 1;
    }
    assert!(checked > 50);
    // The embedding is a large share of a small model: at 20M total parameters the law sees
    // about half, and the loss is visibly higher than the law's at P.
    let n = bisect_non_embedding(2e7, 64.0, GPT2_VOCABULARY);
    assert!(n < 0.6 * 2e7, "{n:e}");
}

/// kaplan2020's fitted range (768 to 1.5B non-embedding parameters) is compared in the grid's
/// total parameters: the upper end moves up by the embedding of a 1.5B model.
#[test]
fn kaplan_range_is_converted_to_total_parameters() {
    let s = scenario(KAPLAN);
    let ranges = scalerisk::aggregate::fit_ranges(&s);
    let (_, r) = &ranges[0];
    let d = (1.5e9f64 * 64.0 / 12.0).cbrt();
    assert!((r.params.1 / (1.5e9 + GPT2_VOCABULARY * d) - 1.0).abs() < 1e-12);
    assert!(r.params.1 > 1.5e9 * 1.05);
}

/// Every backend gives the CPU's answer with the law's own parameter count: the GPU (when an
/// adapter exists) and the shader twins through the per-P ln(N/P) axis. MFU is uncertain here
/// so runs stop at different points in different draws.
#[test]
fn backends_agree_on_the_non_embedding_count() {
    let text = r#"
        name = "emb-gpu"
        [budget]
        gpu = "a100-80gb"
        hours = 72
        flops_per_token = "kaplan"
        vocabulary = 50257
        aspect_ratio = 80
        [law]
        preset = "kaplan2020"
        [search]
        params = { min = 2e7, max = 3e9, points = 12 }
        tokens = { min = 1e9, max = 1e11, points = 9 }
        [sampling]
        draws = 256
    "#;
    let s = scenario(text);
    assert!(s.law.shape.embedding.is_some());
    let grid = Grid::new(&s);
    let draws = sampling::draws(&s, 0..s.sampling.draws).unwrap();
    let settings = pipeline::settings(&s);
    let oracle = Oracle::new(&settings, &grid, &draws);
    let on = |b: &dyn Backend| {
        b.statistics(&settings, &grid, &draws, &oracle, &|_| {})
            .expect("statistics")
    };
    let reference = on(&cpu::Cpu);
    let mut others: Vec<(&str, Vec<_>)> = vec![("twin", on(&gpu::twin::Twin))];
    if let Some(g) = common::gpu() {
        others.push(("gpu", on(&g)));
    }
    // The same grid seen with P as the law's count would differ by far more than f32 noise.
    let plain = {
        let mut s2 = s.clone();
        s2.law.shape.embedding = None;
        let settings = pipeline::settings(&s2);
        let oracle = Oracle::new(&settings, &grid, &draws);
        cpu::Cpu
            .statistics(&settings, &grid, &draws, &oracle, &|_| {})
            .unwrap()
    };
    assert!(
        (plain[0].loss_mean / reference[0].loss_mean - 1.0).abs() > 1e-2,
        "the smallest model's loss must move with its embedding"
    );
    for (name, stats) in others {
        for (i, (a, b)) in stats.iter().zip(&reference).enumerate() {
            assert!(
                (a.loss_mean / b.loss_mean - 1.0).abs() < 1e-5,
                "{name} config {i}: {} vs cpu {}",
                a.loss_mean,
                b.loss_mean
            );
            assert!((a.p_complete - b.p_complete).abs() <= 3.0 / draws.len() as f64);
        }
    }
}

/// A law that counts total parameters (chinchilla) with the default 6P FLOPs: the vocabulary
/// changes nothing, since 6·P over the total already counts the de-embedding's FLOPs.
#[test]
fn total_count_laws_ignore_the_vocabulary_under_6p() {
    let base = r#"
        name = "emb-chin"
        [budget]
        flops = 1e21
        [law]
        preset = "chinchilla"
        [search]
        params = { min = 5e7, max = 5e9, points = 12 }
        tokens = { min = 1e9, max = 1e12, points = 12 }
        [sampling]
        draws = 64
    "#;
    let with = base.replace("flops = 1e21", "flops = 1e21\nvocabulary = 32000");
    let a = pipeline::run(scenario(base), BackendChoice::Cpu, false).unwrap();
    let b = pipeline::run(scenario(&with), BackendChoice::Cpu, false).unwrap();
    assert!(b.scenario.law.shape.embedding.is_none());
    // Debug text, since the empty p_target is NaN (never equal to itself).
    assert_eq!(
        format!("{:?}", a.evaluation.stats),
        format!("{:?}", b.evaluation.stats)
    );
}

#[test]
fn vocabulary_refusals_are_one_line() {
    let base = "name = \"x\"\n[budget]\nflops = 1e21\n";
    for (extra, want) in [
        (
            "vocabulary = 0.5",
            "budget.vocabulary: 0.5 is not allowed; the tokens in the vocabulary, a whole number from 2 to 1e7",
        ),
        (
            "vocabulary = 50257.5",
            "budget.vocabulary: 50257.5 is not allowed",
        ),
        (
            "aspect_ratio = 64",
            "budget.aspect_ratio: used only with budget.flops_per_token = \"kaplan\" (the attention term) or budget.vocabulary",
        ),
    ] {
        let e = refusal(&format!("{base}{extra}\n"));
        assert!(e.starts_with(want), "{extra}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    // With a vocabulary the aspect ratio shapes the embedding, so it is accepted.
    let s = scenario(&format!("{base}vocabulary = 32000\naspect_ratio = 39.2\n"));
    assert_eq!(s.budget.model.unwrap().aspect_ratio, 39.2);
}

/// Counting the embedding moves Kaplan's optimum to more total parameters (the direction of
/// Pearce & Song 2024: a law in non-embedding N, read in total P, asks for a larger model), and
/// the report says what the law sees.
#[test]
fn the_embedding_moves_kaplans_optimum_up_and_the_report_says_so() {
    let text = |vocab: &str| {
        format!(
            r#"
            name = "emb-opt"
            [budget]
            gpu = "a100-80gb"
            hours = 72
            {vocab}
            [law]
            preset = "kaplan2020"
            [search]
            params = {{ min = 1e7, max = 3e9, points = 40 }}
            tokens = {{ min = 1e9, max = 1e12, points = 40 }}
            [sampling]
            draws = 128
            "#
        )
    };
    let plain = pipeline::run(scenario(&text("")), BackendChoice::Cpu, false).unwrap();
    let with = pipeline::run(
        scenario(&text("vocabulary = 50257")),
        BackendChoice::Cpu,
        false,
    )
    .unwrap();
    let p = |r: &pipeline::RunResult| r.summary.recommendations[0].params;
    assert!(
        p(&with) > 1.03 * p(&plain),
        "{:e} vs {:e}",
        p(&with),
        p(&plain)
    );
    let report = scalerisk::report::render(&with);
    assert!(
        report
            .contains("P counts a tied 50257-token embedding; kaplan2020 sees the non-embedding N"),
        "{report}"
    );
    assert!(!scalerisk::report::render(&plain).contains("-token embedding"));
}
