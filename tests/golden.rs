//! Golden numbers: published figures, closed forms and independent computations, never values
//! taken from the code under test.

use std::path::Path;

use scalerisk::backend::cpu;
use scalerisk::grid::Grid;
use scalerisk::law;
use scalerisk::pipeline::{self, BackendChoice};
use scalerisk::presets::laws::EPOCH2024_COV;
use scalerisk::sampling;
use scalerisk::scenario::{self, Scenario};
use scalerisk::stats;

fn scenario(text: &str) -> Scenario {
    scenario::from_str(text, Path::new("."), &[]).expect("valid scenario")
}

/// Hoffmann et al. 2022, eq. 4 with Approach 3's coefficients: P_opt ≈ 4.036e10 at the Gopher
/// budget of 5.76e23 FLOPs (the paper's "40B"). The oracle must find it within 2%.
#[test]
fn chinchilla_oracle_at_gopher_budget() {
    let s = scenario(
        r#"
        name = "hindcast"
        [budget]
        flops = 5.76e23
        [law]
        preset = "chinchilla"
        uncertainty = "none"
        [search]
        params = { min = 1e9, max = 1e12, points = 61 }
        tokens = { min = 1e10, max = 1e14, points = 41 }
        [sampling]
        draws = 2
        "#,
    );
    let r = pipeline::run(s, BackendChoice::Cpu, false).unwrap();
    for o in &r.evaluation.optima {
        assert!(
            (o.params / 4.036e10 - 1.0).abs() < 0.02,
            "P* = {:e}",
            o.params
        );
        // Under C = 6PD the optimal run uses the whole budget.
        assert!(
            (6.0 * o.params * o.tokens / 5.76e23 - 1.0).abs() < 1e-3,
            "C* = {:e}",
            6.0 * o.params * o.tokens
        );
    }
}

/// Besiroglu et al. 2024 (Epoch), MVN over the bootstrap covariance at 5.88e23 FLOPs: tokens per
/// parameter of the per-draw optimum has p10 / p50 / p90 ≈ 10.8 / 18.3 / 31.4 (Monte Carlo
/// reference from the closed form over MVN draws of the published covariance, produced by
/// scripts/epoch_tpp_band.py with the Python standard library alone).
#[test]
fn epoch_mvn_tokens_per_param_band() {
    let s = scenario(
        r#"
        name = "epoch-band"
        [budget]
        flops = 5.88e23
        [law]
        preset = "epoch2024"
        uncertainty = "mvn"
        [search]
        params = { min = 1e9, max = 1e13, points = 97 }
        tokens = { min = 1e10, max = 1e14, points = 9 }
        [sampling]
        draws = 4000
        seed = 7
        "#,
    );
    let r = pipeline::run(s, BackendChoice::Cpu, false).unwrap();
    let mut tpp: Vec<f64> = r
        .evaluation
        .optima
        .iter()
        .map(|o| o.tokens / o.params)
        .collect();
    for (q, want) in [(0.10, 10.8), (0.50, 18.3), (0.90, 31.4)] {
        let got = stats::quantile(&mut tpp, q);
        assert!(
            (got / want - 1.0).abs() < 0.06,
            "p{:.0}: {got} vs {want}",
            q * 100.0
        );
    }
}

/// The sample covariance of 100k MVN draws reproduces the Epoch covariance within 5 Monte Carlo
/// standard errors per entry (var of a product of normals: (σ_ii σ_jj + σ_ij²)/n).
#[test]
fn mvn_draws_reproduce_the_epoch_covariance() {
    let s = scenario(
        r#"
        name = "cov"
        [budget]
        flops = 1e20
        [law]
        preset = "epoch2024"
        [sampling]
        draws = 100000
        seed = 3
        "#,
    );
    let draws = sampling::draws(&s, 0..s.sampling.draws).unwrap();
    let cols: Vec<Vec<f64>> = vec![
        draws.iter().map(|d| d.coeffs.a.ln()).collect(),
        draws.iter().map(|d| d.coeffs.b.ln()).collect(),
        draws.iter().map(|d| d.coeffs.e.ln()).collect(),
        draws.iter().map(|d| d.coeffs.alpha).collect(),
        draws.iter().map(|d| d.coeffs.beta).collect(),
    ];
    let n = draws.len() as f64;
    let means: Vec<f64> = cols.iter().map(|c| c.iter().sum::<f64>() / n).collect();
    for i in 0..5 {
        for j in 0..5 {
            let c: f64 = (0..draws.len())
                .map(|k| (cols[i][k] - means[i]) * (cols[j][k] - means[j]))
                .sum::<f64>()
                / (n - 1.0);
            let want = EPOCH2024_COV[i][j];
            let se = ((EPOCH2024_COV[i][i] * EPOCH2024_COV[j][j] + want * want) / n).sqrt();
            assert!(
                (c - want).abs() < 5.0 * se,
                "cov[{i}][{j}] = {c:e}, want {want:e} ± {se:e}"
            );
        }
    }
}

/// Adding draws never changes the earlier ones.
#[test]
fn more_draws_keep_the_earlier_ones() {
    let s = scenario(
        r#"
        name = "stable"
        [budget]
        gpu = "h100-sxm"
        hours = 24
        mfu = { pert = [0.2, 0.4, 0.55] }
        goodput = { normal = [0.95, 0.03], min = 0.8, max = 1.0 }
        [data]
        unique_tokens = { lognormal = [3e10, 0.5] }
        [law]
        preset = "epoch2024"
        alpha = { triangular = [0.33, 0.35, 0.36] }
        "#,
    );
    let a = sampling::draws(&s, 0..100).unwrap();
    let b = sampling::draws(&s, 0..300).unwrap();
    assert_eq!(a[..], b[..100]);
    let c = sampling::draws(&s, 50..60).unwrap();
    assert_eq!(c[..], a[50..60]);
}

/// A small case computed independently: 2 configurations × 4 draws, every statistic from a plain
/// formula and a full sort in this test, compared with the backend's streaming result.
#[test]
fn two_configs_four_draws_by_hand() {
    let s = scenario(
        r#"
        name = "hand"
        [budget]
        peak_tflops = 100
        memory_gb = 80
        hours = 10
        mfu = { uniform = [0.2, 0.6] }
        [law]
        preset = "custom"
        E = 1.5
        A = 400.0
        B = 1800.0
        alpha = 0.34
        beta = 0.36
        [search]
        params = { min = 2e8, max = 8e8, points = 2 }
        tokens = { min = 3e9, max = 3e9, points = 1 }
        until_deadline = false
        [decision]
        target_loss = 3.1
        [sampling]
        draws = 4
        seed = 11
        "#,
    );
    let grid = Grid::new(&s);
    let draws = sampling::draws(&s, 0..4).unwrap();
    let settings = cpu::Settings {
        shape: s.law.shape,
        flops_per_param_token: 6.0,
        attention: None,
        target_loss: Some(3.1),
        min_completion: 0.0,
        near_best_within: 0.4,
    };
    let eval = cpu::evaluate(&settings, &grid, &draws, &|_| {});

    // Independent losses: L = E + A/P^α + B/min(D, cap)^β, cap = X·3600·T/(6P).
    let loss = |p: f64, i: usize| {
        let x = 100e12 * draws[i].mfu;
        let cap = x * 3600.0 * 10.0 / (6.0 * p);
        (
            1.5 + 400.0 / p.powf(0.34) + 1800.0 / 3e9f64.min(cap).powf(0.36),
            3e9 <= cap,
        )
    };
    let ps = [2e8, 8e8];
    let l: Vec<Vec<(f64, bool)>> = ps
        .iter()
        .map(|&p| (0..4).map(|i| loss(p, i)).collect())
        .collect();
    let l_star: Vec<f64> = (0..4).map(|i| l[0][i].0.min(l[1][i].0)).collect();
    for (c, st) in eval.stats.iter().enumerate() {
        let x: Vec<f64> = l[c].iter().map(|v| v.0).collect();
        let mean = x.iter().sum::<f64>() / 4.0;
        let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        // type 7 on 4 values: h = 3q → p05 at 0.15, p50 at 1.5, p95 at 2.85.
        let q = |h: f64| {
            sorted[h as usize] + (h - h.floor()) * (sorted[h as usize + 1] - sorted[h as usize])
        };
        let regrets: Vec<f64> = (0..4).map(|i| x[i] - l_star[i]).collect();
        let mut rs = regrets.clone();
        rs.sort_by(f64::total_cmp);
        let rq = rs[2] + 0.85 * (rs[3] - rs[2]);
        // ε = 0.4 falls inside the larger plan's regrets here (about 0.34–0.52), so its share is
        // neither 0 nor 1.
        let near = regrets.iter().filter(|&&r| r <= 0.4).count() as f64 / 4.0;
        let close = |a: f64, b: f64, what: &str| {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "config {c} {what}: {a} vs {b}"
            )
        };
        close(st.loss_mean, mean, "mean");
        close(st.loss_sd, sd, "sd");
        close(st.loss_se, sd / 2.0, "se");
        close(st.loss_p05, q(0.15), "p05");
        close(st.loss_p50, q(1.5), "p50");
        close(st.loss_p95, q(2.85), "p95");
        close(
            st.loss_cvar95,
            sorted[3],
            "cvar95 (worst ceil(0.05·4) = 1 value)",
        );
        close(
            st.p_complete,
            l[c].iter().filter(|v| v.1).count() as f64 / 4.0,
            "p_complete",
        );
        close(
            st.p_target,
            x.iter().filter(|v| **v <= 3.1).count() as f64 / 4.0,
            "p_target",
        );
        close(
            st.regret_mean,
            regrets.iter().sum::<f64>() / 4.0,
            "regret_mean",
        );
        close(st.regret_p95, rq, "regret_p95");
        close(st.regret_max, rs[3], "regret_max");
        close(st.p_near_best, near, "p_near_best");
    }
}

/// Scrambled Sobol draws (`sampling.method = "sobol"`): prefix-stable like random draws, and the
/// mean of a uniform MFU over 4096 points is far closer to its closed form (0.4) than Monte
/// Carlo's standard error (0.0577/√4096 ≈ 9e-4) would give.
#[test]
fn sobol_draws_are_prefix_stable_and_low_discrepancy() {
    let text = r#"
        name = "sobol"
        [budget]
        gpu = "a100-80gb"
        hours = 72
        mfu = { uniform = [0.3, 0.5] }
        goodput = { triangular = [0.8, 0.95, 1.0] }
        [law]
        preset = "epoch2024"
        uncertainty = "mvn"
        [sampling]
        draws = 4096
        method = "sobol"
        "#;
    let s = scenario(text);
    let all = sampling::draws(&s, 0..4096).unwrap();
    assert_eq!(sampling::draws(&s, 0..100).unwrap(), all[..100].to_vec());
    let mean_mfu = all.iter().map(|d| d.mfu).sum::<f64>() / 4096.0;
    assert!((mean_mfu - 0.4).abs() < 1e-5, "{mean_mfu}");
    let mean_goodput = all.iter().map(|d| d.goodput).sum::<f64>() / 4096.0;
    assert!(
        (mean_goodput - (0.8 + 0.95 + 1.0) / 3.0).abs() < 1e-4,
        "{mean_goodput}"
    );
    // The joint normal still has the published covariance: var(alpha) within 5%.
    let (_, sd_alpha) = stats::mean_sd(&all.iter().map(|d| d.coeffs.alpha).collect::<Vec<_>>());
    assert!((sd_alpha * sd_alpha / EPOCH2024_COV[3][3] - 1.0).abs() < 0.05);
    let too_many = scenario::from_str(&text.replace("4096", "70000"), Path::new("."), &[]);
    assert!(too_many.unwrap_err().to_string().contains("sampling.draws"));
}

/// The fast statistics pass (lane sums, bucketed order statistics, one shared column for the
/// runs past every draw's capacity) against a brute force of the reference formula with full
/// sorts, on an odd number of draws (not a multiple of the lanes) with limited data and a
/// target: every statistic of every configuration.
#[test]
fn fast_statistics_match_a_brute_force_with_full_sorts() {
    let s = scenario(
        r#"
        name = "brute"
        [budget]
        gpu = "a100-80gb"
        hours = 48
        [data]
        unique_tokens = { uniform = [3e9, 8e9] }
        [law]
        preset = "epoch2024"
        uncertainty = "mvn"
        [search]
        params = { min = 1e8, max = 1e9, points = 3 }
        tokens = { min = 2e9, max = 4e10, points = 4 }
        hours = [24, 48]
        [decision]
        target_loss = 2.9
        [sampling]
        draws = 5001
        seed = 3
        "#,
    );
    let grid = Grid::new(&s);
    let draws = sampling::draws(&s, 0..5001).unwrap();
    let settings = cpu::Settings {
        shape: s.law.shape,
        flops_per_param_token: 6.0,
        attention: None,
        target_loss: Some(2.9),
        min_completion: 0.0,
        near_best_within: 0.001,
    };
    let eval = cpu::evaluate(&settings, &grid, &draws, &|_| {});
    let column = |i: usize| -> Vec<f64> {
        let (p, d, t) = grid.config(i);
        draws
            .iter()
            .map(|dr| {
                let cap = dr.throughput * 3600.0 * t / (6.0 * p);
                scalerisk::law::loss(s.law.shape, &dr.coeffs, p, d.min(cap), t, dr.unique_tokens)
            })
            .collect()
    };
    let cols: Vec<Vec<f64>> = (0..grid.len()).map(column).collect();
    // The shortcut is exercised: some (P, T) have several D past every draw's capacity.
    let never_complete = (0..grid.len())
        .filter(|&i| eval.stats[i].p_complete == 0.0)
        .count();
    assert!(never_complete >= 4, "{never_complete}");
    let l_star: Vec<f64> = (0..draws.len())
        .map(|j| {
            (0..grid.len())
                .filter(|&i| grid.feasible(i))
                .map(|i| cols[i][j])
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let type7 = |sorted: &[f64], q: f64| {
        let h = (sorted.len() - 1) as f64 * q;
        let lo = h.floor() as usize;
        sorted[lo] + (h - lo as f64) * (sorted[(lo + 1).min(sorted.len() - 1)] - sorted[lo])
    };
    for (i, st) in eval.stats.iter().enumerate() {
        let x = &cols[i];
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        let m = (0.05 * n).ceil() as usize;
        let cvar = sorted[sorted.len() - m..].iter().sum::<f64>() / m as f64;
        let mut r: Vec<f64> = x.iter().zip(&l_star).map(|(a, b)| a - b).collect();
        let r_mean = r.iter().sum::<f64>() / n;
        r.sort_by(f64::total_cmp);
        let close = |a: f64, b: f64, what: &str| {
            assert!(
                (a - b).abs() <= 1e-11 * b.abs().max(1e-3),
                "config {i} {what}: {a} vs {b}"
            )
        };
        close(st.loss_mean, mean, "mean");
        close(st.loss_sd, sd, "sd");
        close(st.loss_p05, type7(&sorted, 0.05), "p05");
        close(st.loss_p50, type7(&sorted, 0.5), "p50");
        close(st.loss_p95, type7(&sorted, 0.95), "p95");
        close(st.loss_cvar95, cvar, "cvar95");
        close(st.regret_mean, r_mean, "regret_mean");
        close(st.regret_p95, type7(&r, 0.95), "regret_p95");
        close(st.regret_max, r[r.len() - 1], "regret_max");
        let hits = x.iter().filter(|v| **v <= 2.9).count() as f64 / n;
        assert_eq!(st.p_target, hits, "config {i} p_target");
    }
}

/// Kaplan et al. 2020 Table 1, row by row, for a 24-layer model of d_model 1248 (d_attn =
/// d_model, d_ff = 4·d_model) at a 2048-token context: N = 2·d·n_layer·(2·d_attn + d_ff), forward
/// FLOPs per token = 2N (QKV, projection, feed-forward) + 2·n_layer·n_ctx·d_attn (the attention
/// mask), training = 3 × forward. `law::k_at` with the same shape's aspect ratio must give the
/// same FLOPs, and the default aspect ratio must stay within 2% of it.
#[test]
fn kaplan_flops_per_token_match_table_1() {
    let (n_layer, d, n_ctx) = (24.0f64, 1248.0f64, 2048.0f64);
    let qkv = n_layer * d * 3.0 * d;
    let project = n_layer * d * d;
    let ffn = n_layer * 2.0 * d * (4.0 * d);
    let n = qkv + project + ffn;
    let forward = 2.0 * qkv + 2.0 * n_layer * n_ctx * d + 2.0 * project + 2.0 * ffn;
    let training = 3.0 * forward;
    assert!((n / 448.6e6 - 1.0).abs() < 1e-3, "{n}");
    let shape = law::Attention {
        context: n_ctx,
        aspect_ratio: d / n_layer,
        vocabulary: None,
    };
    let ours = law::k_at(6.0, Some(shape), n) * n;
    assert!((ours / training - 1.0).abs() < 1e-9, "{ours} vs {training}");
    assert!(
        (training / (6.0 * n) - 1.137).abs() < 0.001,
        "+13.7% over 6N"
    );
    let default = law::Attention {
        context: n_ctx,
        aspect_ratio: scalerisk::scenario::DEFAULT_ASPECT_RATIO,
        vocabulary: None,
    };
    let with_default = law::k_at(6.0, Some(default), n) * n;
    assert!(
        (with_default / training - 1.0).abs() < 0.02,
        "{with_default} vs {training}"
    );
}
