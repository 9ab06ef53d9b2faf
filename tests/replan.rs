//! Re-planning the live run (docs/MODEL.md §8) over synthetic truths drawn from the prior: after
//! 20% of a cosine run, following the recommendation lowers the mean regret against continuing
//! blind, no option is recommended that is worse than continuing beyond twice its error, and
//! no restart size on a 4× finer grid beats the recommended one beyond its Monte Carlo error.

use scalerisk::aggregate::replan::{self, Live};
use scalerisk::curve;
use scalerisk::law;
use scalerisk::posterior;
use scalerisk::sampling;
use scalerisk::scenario;

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

const PARAMS: f64 = 3e8;
/// The tokens the middle of the prior (MFU 0.4, goodput 0.95) trains in 72 h at 3e8 params: the
/// plan finishes in about half the draws, so continuing, extending and decaying trade off.
const PLANNED: f64 = 1.7e10;
const WARMUP: f64 = 5e7;
const TAU: f64 = 0.01;
const NOISE: f64 = 0.01;

fn text(seed: u64, draws: usize, live_hours: f64) -> String {
    format!(
        r#"
name = "replan"
[budget]
gpu = "a100-80gb"
hours = 72
mfu = {{ uniform = [0.3, 0.5] }}
goodput = {{ uniform = [0.9, 1.0] }}
[law]
preset = "epoch2024"
uncertainty = "mvn"
[search]
params = {{ min = 5e7, max = 2e9, points = 8 }}
tokens = {{ min = 1e9, max = 1e11, points = 4 }}
hours = [72]
[sampling]
draws = {draws}
seed = {seed}
[observations]
losses = "losses.csv"
noise = {NOISE}
live = "live"
live_hours = {live_hours}
[observations.runs.live]
schedule = "cosine"
tokens = {PLANNED}
warmup = {WARMUP}
"#
    )
}

fn shape() -> law::LawShape {
    law::LawShape {
        form: law::Form::Additive,
        effective_params: false,
        time_term: false,
        embedding: None,
    }
}

#[test]
fn replanning_after_a_fifth_of_the_run_lowers_regret() {
    const TRUTHS: usize = 200;
    const DRAWS: usize = 600;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("losses.csv"),
        "run,params,tokens,loss\nlive,3e8,2e9,3\n",
    )
    .unwrap();
    let truths = sampling::draws(
        &scenario::from_str(&text(777_777, 1, 10.0), dir.path(), &[]).unwrap(),
        0..TRUTHS,
    )
    .unwrap();
    let schedule = curve::Schedule {
        shape: curve::Shape::Cosine { final_lr: 0.1 },
        planned: PLANNED,
        warmup: WARMUP,
        batch_tokens: None,
    };
    let end_x = schedule.points(&[PLANNED])[0].x;
    let tokens: Vec<f64> = (1..=12)
        .map(|i| 2.0 * WARMUP + (0.2 * PLANNED - 2.0 * WARMUP) * i as f64 / 12.0)
        .collect();
    let gap_prior = posterior::latent::gap_prior();
    let tau = Normal::new(0.0, TAU).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let (mut regret_replan, mut regret_continue) = (Vec::new(), Vec::new());
    let mut switched = 0;
    for (j, truth) in truths.iter().enumerate() {
        let g = gap_prior.quantile(rand::Rng::random::<f64>(&mut rng));
        let (d0, d1) = (tau.sample(&mut rng), tau.sample(&mut rng));
        let discrepancy = |x: f64| d0 + d1 * (x / end_x).ln();
        let mut losses = String::from("run,params,tokens,loss\n");
        for p in schedule.points(&tokens) {
            let y = curve::observed_loss(
                law::loss(shape(), &truth.coeffs, PARAMS, p.x, 1.0, f64::INFINITY),
                g,
                PARAMS,
                &p,
            ) + discrepancy(p.x)
                + NOISE * Normal::new(0.0, 1.0).unwrap().sample(&mut rng);
            losses.push_str(&format!("live,{PARAMS},{},{y}\n", p.tokens));
        }
        // The hours so far are the truth's: tokens · FLOPs per token / throughput.
        let t0 = *tokens.last().unwrap();
        let hours = t0 * law::flops_per_token(6.0, None, PARAMS) / (3600.0 * truth.throughput);
        std::fs::write(dir.path().join("losses.csv"), losses).unwrap();
        let s = scenario::from_str(&text(j as u64 + 1, DRAWS, hours), dir.path(), &[]).unwrap();
        let prior = sampling::draws(&s, 0..DRAWS).unwrap();
        let post = posterior::condition(&s, prior).unwrap();
        let plan = replan::replan(&s, &post).unwrap();
        // Nothing recommended that is worse than continuing beyond twice its error.
        let r = &plan.choices[plan.recommended];
        assert!(
            r.mean <= plan.choices[0].mean + 2.0 * r.gain_se,
            "truth {j}: {} worse than continuing",
            r.name
        );
        switched += usize::from(plan.recommended != 0);
        // The truth's loss under each option: the curve model at the truth, with its own
        // discrepancy where the run ends; a restart off the law.
        let live = Live::new(&s).unwrap();
        let mut truth_losses: Vec<f64> = live
            .ends(truth.throughput)
            .iter()
            .map(|p| {
                curve::observed_loss(
                    law::loss(shape(), &truth.coeffs, PARAMS, p.x, 1.0, f64::INFINITY),
                    g,
                    PARAMS,
                    p,
                ) + discrepancy(p.x)
            })
            .collect();
        truth_losses.push(replan::restart_loss(
            &s,
            truth,
            plan.choices[3].params,
            live.hours_left,
        ));
        let best = truth_losses.iter().copied().fold(f64::INFINITY, f64::min);
        regret_replan.push(truth_losses[plan.recommended] - best);
        regret_continue.push(truth_losses[0] - best);
        // Brute force on a few truths: no restart size on a 4× finer grid beats the one chosen
        // beyond the Monte Carlo error of the difference.
        if j % 40 == 0 {
            let chosen = plan.choices[3].params;
            let (lo, hi) = (s.search.params.min.ln(), s.search.params.max.ln());
            let at = |q: f64| -> Vec<f64> {
                post.draws
                    .iter()
                    .map(|d| replan::restart_loss(&s, d, q, live.hours_left))
                    .collect()
            };
            let base = at(chosen);
            for i in 0..(4 * replan::RESTART_SIZES) {
                let q = (lo + (hi - lo) * i as f64 / (4 * replan::RESTART_SIZES - 1) as f64).exp();
                if q * s.search.bytes_per_param > 80e9 {
                    continue;
                }
                let diff: Vec<f64> = base.iter().zip(at(q)).map(|(b, x)| b - x).collect();
                let n = diff.len() as f64;
                let m = diff.iter().sum::<f64>() / n;
                let sd = (diff.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
                assert!(
                    m <= 3.0 * sd / n.sqrt() + 1e-12,
                    "truth {j}: restart at {q:.3e} beats {chosen:.3e} by {m} (se {})",
                    sd / n.sqrt()
                );
            }
        }
    }
    let n = TRUTHS as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let diff: Vec<f64> = regret_continue
        .iter()
        .zip(&regret_replan)
        .map(|(c, r)| c - r)
        .collect();
    let m = mean(&diff);
    let se = (diff.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() / n.sqrt();
    println!(
        "mean regret: re-plan {:.4}, continue {:.4}; difference {m:.4} ± {se:.4}; switched in {switched} of {TRUTHS}",
        mean(&regret_replan),
        mean(&regret_continue)
    );
    assert!(
        m > 2.0 * se,
        "re-planning does not lower the regret: {m} ± {se}"
    );
}
