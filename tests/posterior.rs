//! The posterior is calibrated, not plausible (docs/MODEL.md §8): simulation-based calibration
//! over synthetic truths drawn from the prior (Talts et al. 2018), and a two-dimensional case
//! against brute-force quadrature computed here independently of the library's likelihood.

use std::path::Path;

mod common;

use scalerisk::curve;
use scalerisk::law::{self, Coeffs};
use scalerisk::posterior;
use scalerisk::sampling::{self, Draw};
use scalerisk::scenario::{self, Scenario};

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// A scenario: one A100 budget, epoch2024 with its joint normal, MFU uniform and measured,
/// two observed runs (a cosine pilot and the first 40% of a constant-rate run).
fn scenario_text(seed: u64, draws: usize, extra: &str) -> String {
    format!(
        r#"
name = "sbc"
[budget]
gpu = "a100-80gb"
hours = 72
mfu = {{ uniform = [0.3, 0.5] }}
goodput = 1.0
[law]
preset = "epoch2024"
uncertainty = "mvn"
[search]
params = {{ min = 1e8, max = 1e9, points = 4 }}
tokens = {{ min = 1e9, max = 1e11, points = 4 }}
hours = [72]
[sampling]
draws = {draws}
seed = {seed}
[observations]
losses = "losses.csv"
noise = 0.01
first = 0
{extra}
[observations.runs.pilot]
schedule = "cosine"
tokens = 2e9
warmup = 2e7
[observations.runs.live]
schedule = "constant"
tokens = 8e9
warmup = 8e7
"#
    )
}

/// The rows the runs are observed at.
fn rows() -> Vec<(&'static str, f64, curve::Schedule, Vec<f64>)> {
    let pilot = curve::Schedule {
        shape: curve::Shape::Cosine { final_lr: 0.1 },
        planned: 2e9,
        warmup: 2e7,
        batch_tokens: None,
    };
    let live = curve::Schedule {
        shape: curve::Shape::Constant,
        planned: 8e9,
        warmup: 8e7,
        batch_tokens: None,
    };
    vec![
        (
            "pilot",
            1e8,
            pilot,
            (1..=12).map(|i| 2e9 * i as f64 / 12.0).collect(),
        ),
        (
            "live",
            4e8,
            live,
            (1..=12).map(|i| 8e9 * 0.4 * i as f64 / 12.0).collect(),
        ),
    ]
}

/// Simulate the observations of `truth` by the documented model: the curve model, a per-run
/// offset and slope in ln(x/x_end) with sd τ₀ = τ₁ = 0.01, noise 0.01.
fn simulate(truth: &Draw, g: f64, rng: &mut impl rand::Rng) -> String {
    let shape = law::LawShape {
        form: law::Form::Additive,
        effective_params: false,
        time_term: false,
        embedding: None,
    };
    let tau = Normal::new(0.0, 0.01).unwrap();
    let mut out = String::from("run,params,tokens,loss\n");
    for (name, params, schedule, tokens) in rows() {
        let (d0, d1) = (tau.sample(rng), tau.sample(rng));
        let end = schedule.points(&[schedule.planned])[0];
        for p in schedule.points(&tokens) {
            let at_x = law::loss(shape, &truth.coeffs, params, p.x, 1.0, f64::INFINITY);
            let y = curve::observed_loss(at_x, g, params, &p)
                + d0
                + d1 * (p.x / end.x).ln()
                + tau.sample(rng);
            out.push_str(&format!("{name},{params},{},{y}\n", p.tokens));
        }
    }
    out
}

fn load(dir: &Path, text: &str, losses: &str) -> Scenario {
    std::fs::write(dir.join("losses.csv"), losses).unwrap();
    scenario::from_str(text, dir, &[]).unwrap()
}

fn values(d: &Draw) -> [f64; 6] {
    let k: &Coeffs = &d.coeffs;
    [k.e, k.a, k.b, k.alpha, k.beta, d.mfu]
}
const NAMES: [&str; 6] = ["E", "A", "B", "alpha", "beta", "mfu"];

/// Talts et al. 2018, Algorithm 1: θ̃ ~ prior, ỹ ~ p(y | θ̃), {θ_l} ~ p(θ | ỹ); the rank of θ̃
/// among L posterior draws is uniform on 0..=L when the posterior is right. 600 truths, L = 99
/// (every tenth of 990 shuffled particles, to thin their dependence), 20 bins of 5 ranks:
/// χ² with 19 degrees of freedom, p > 0.01 for E, A, B, α, β and MFU.
#[test]
fn simulation_based_calibration_ranks_are_uniform() {
    let truths_n: u64 = 600;
    const PARTICLES: usize = 990;
    const L: usize = 99;
    const BINS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    // Truths come from the prior under a seed of their own.
    let truth_scenario = load(
        dir.path(),
        &scenario_text(999_999, 1, ""),
        "run,params,tokens,loss\npilot,1e8,1e9,3\nlive,4e8,1e9,3\n",
    );
    let truths = sampling::draws(&truth_scenario, 0..truths_n as usize).unwrap();
    let gap_prior = posterior::latent::gap_prior();
    let mut counts = [[0usize; BINS]; 6];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2018);
    for (j, truth) in truths.iter().enumerate() {
        let g = gap_prior.quantile(rand::Rng::random::<f64>(&mut rng));
        let mfu_obs = truth.mfu + Normal::new(0.0, 0.02).unwrap().sample(&mut rng);
        let losses = simulate(truth, g, &mut rng);
        let text = scenario_text(
            j as u64 + 1,
            PARTICLES,
            &format!("mfu = {{ value = {mfu_obs}, sd = 0.02 }}"),
        );
        let s = load(dir.path(), &text, &losses);
        let prior = sampling::draws(&s, 0..PARTICLES).unwrap();
        let post = posterior::condition(&s, prior).unwrap();
        let thinned: Vec<&Draw> = post.draws.iter().step_by(PARTICLES / L).take(L).collect();
        assert_eq!(thinned.len(), L);
        let t = values(truth);
        for k in 0..6 {
            let rank = thinned.iter().filter(|d| values(d)[k] < t[k]).count();
            counts[k][rank * BINS / (L + 1)] += 1;
        }
    }
    let expected = truths_n as f64 / BINS as f64;
    let chi = ChiSquared::new((BINS - 1) as f64).unwrap();
    for k in 0..6 {
        let x2: f64 = counts[k]
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        let p = 1.0 - chi.cdf(x2);
        println!(
            "{}: χ² = {x2:.1}, p = {p:.3}, bins {:?}",
            NAMES[k], counts[k]
        );
        assert!(
            p > 0.01,
            "{}: ranks not uniform (χ² {x2:.1}, p {p:.4}): {:?}",
            NAMES[k],
            counts[k]
        );
    }
}

/// A two-dimensional posterior: E ~ N(1.9, 0.2) and the anneal level g ~ lognormal(0.115,
/// 0.5) (the curve model's prior) are the only uncertain inputs; ten rows of a constant-rate run
/// (r = 1, x = t·(1/0.55)^κ without warm-up) with iid noise 0.2 (no discrepancy) inform E + c·g about
/// as much as the priors do, so both shape the answer.
/// The posterior mean and sd of E and g by quadrature on a 1,201 × 1,201 grid, with the
/// likelihood written out here, against ten independent SMC runs of 2,000 draws: within 3
/// Monte Carlo standard errors (the spread of the ten runs).
#[test]
fn a_two_dimensional_posterior_matches_quadrature() {
    let dir = tempfile::tempdir().unwrap();
    let text = |seed: u64| {
        format!(
            r#"
name = "quad"
[budget]
gpu = "a100-80gb"
hours = 72
mfu = 0.4
goodput = 1.0
[law]
preset = "epoch2024"
uncertainty = "none"
E = {{ normal = [1.9, 0.2] }}
[search]
params = {{ min = 1e8, max = 1e9, points = 4 }}
tokens = {{ min = 1e9, max = 1e11, points = 4 }}
hours = [72]
[sampling]
draws = 2000
seed = {seed}
[observations]
losses = "losses.csv"
discrepancy = 0
discrepancy_slope = 0
first = 0
noise = 0.2
[observations.runs.r]
schedule = "constant"
tokens = 4e9
"#
        )
    };
    let params = 2e8;
    let tokens: Vec<f64> = (1..=10).map(|i| 4e8 * i as f64).collect();
    // Epoch 2024's point (the preset's A, B, α, β), written out: A·N^−α + B·x^−β.
    let s0 = load(
        dir.path(),
        &text(1),
        "run,params,tokens,loss\nr,2e8,1e9,3\n",
    );
    let k = sampling::point_draw(&s0).coeffs;
    let c = (params / 1e8_f64).powf(curve::GAP_SIZE_EXPONENT);
    let mean_at = |e: f64, g: f64, t: f64| {
        let x = t * (1.0 / 0.55_f64).powf(curve::AREA_EXPONENT);
        e + k.a * params.powf(-k.alpha) + k.b * x.powf(-k.beta) + g * c
    };
    let (e_true, g_true) = (2.05, 0.09);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let noise = Normal::new(0.0, 0.2).unwrap();
    let ys: Vec<f64> = tokens
        .iter()
        .map(|&t| mean_at(e_true, g_true, t) + noise.sample(&mut rng))
        .collect();
    let mut losses = String::from("run,params,tokens,loss\n");
    for (t, y) in tokens.iter().zip(&ys) {
        losses.push_str(&format!("r,{params},{t},{y}\n"));
    }
    std::fs::write(dir.path().join("losses.csv"), &losses).unwrap();

    // Quadrature over E and ln g (the lognormal's density in ln g is normal).
    let (n, (e_lo, e_hi), (lg_lo, lg_hi)) = (
        1201,
        (0.9, 2.9),
        (
            curve::GAP_MEDIAN.ln() - 6.0 * curve::GAP_LOG_SD,
            curve::GAP_MEDIAN.ln() + 6.0 * curve::GAP_LOG_SD,
        ),
    );
    let mut logs = Vec::with_capacity(n * n);
    for i in 0..n {
        let e = e_lo + (e_hi - e_lo) * i as f64 / (n - 1) as f64;
        for j in 0..n {
            let lg = lg_lo + (lg_hi - lg_lo) * j as f64 / (n - 1) as f64;
            let g = lg.exp();
            let prior = -0.5 * ((e - 1.9) / 0.2).powi(2)
                - 0.5 * ((lg - curve::GAP_MEDIAN.ln()) / curve::GAP_LOG_SD).powi(2);
            let ll: f64 = tokens
                .iter()
                .zip(&ys)
                .map(|(&t, y)| -0.5 * ((y - mean_at(e, g, t)) / 0.2).powi(2))
                .sum();
            logs.push((e, g, prior + ll));
        }
    }
    let top = logs.iter().map(|x| x.2).fold(f64::NEG_INFINITY, f64::max);
    let (mut w, mut me, mut mg, mut me2, mut mg2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (e, g, l) in &logs {
        let p = (l - top).exp();
        w += p;
        me += p * e;
        mg += p * g;
        me2 += p * e * e;
        mg2 += p * g * g;
    }
    let quad = [
        me / w,
        (me2 / w - (me / w).powi(2)).sqrt(),
        mg / w,
        (mg2 / w - (mg / w).powi(2)).sqrt(),
    ];

    let runs: Vec<[f64; 4]> = (0..10)
        .map(|r| {
            let s = scenario::from_str(&text(100 + r), dir.path(), &[]).unwrap();
            let prior = sampling::draws(&s, 0..2000).unwrap();
            let post = posterior::condition(&s, prior).unwrap();
            let es: Vec<f64> = post.draws.iter().map(|d| d.coeffs.e).collect();
            let mean_sd = |v: &[f64]| {
                let m = v.iter().sum::<f64>() / v.len() as f64;
                (
                    m,
                    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt(),
                )
            };
            let (a, b) = mean_sd(&es);
            let (c, d) = mean_sd(&post.gaps);
            [a, b, c, d]
        })
        .collect();
    for (k, name) in ["mean E", "sd E", "mean g", "sd g"].iter().enumerate() {
        let v: Vec<f64> = runs.iter().map(|r| r[k]).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
        let se = sd / (v.len() as f64).sqrt();
        println!("{name}: quadrature {:.5}, SMC {m:.5} ± {se:.5}", quad[k]);
        assert!(
            (m - quad[k]).abs() <= 3.0 * se,
            "{name}: quadrature {} vs SMC {m} ± {se}",
            quad[k]
        );
    }
}

/// Under cosine the curve's anneal level g and the engine's cut-run penalty are one input
/// (`training.anneal_gain`, docs/MODEL.md §2): every posterior draw's `anneal` is the schedule's
/// scaling of its g, so what the loss rows say about the anneal is what a cosine plan pays; the
/// live run's rows move g's posterior mean away from the prior's by many standard errors.
#[test]
fn loss_rows_inform_the_cosine_penalty() {
    let sets = ["search.hours=[72]", "training.schedule=cosine"];
    let r = common::run_shipped("live-run", 16, 1000, &sets);
    let post = r.posterior.as_ref().unwrap();
    let per_level = r.scenario.training.anneal(1.0);
    assert!(per_level > 0.0, "a cosine schedule");
    for (d, &g) in post.draws.iter().zip(&post.gaps) {
        assert!(
            (d.anneal - g * per_level).abs() <= 1e-12 * g,
            "{} vs {g}",
            d.anneal
        );
    }
    let ln: Vec<f64> = post.gaps.iter().map(|g| g.ln()).collect();
    let m = ln.iter().sum::<f64>() / ln.len() as f64;
    let sd = (ln.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (ln.len() - 1) as f64).sqrt();
    let prior = scalerisk::curve::GAP_MEDIAN.ln();
    println!("posterior ln g: mean {m:.3}, sd {sd:.3} (prior {prior:.3}, 0.5)");
    let se = sd / (ln.len() as f64).sqrt();
    assert!(
        (m - prior).abs() > 5.0 * se,
        "the rows did not move g: {m} ± {se}"
    );
}
