//! Pilots priced before they are spent (MODEL.md §5, "Pilots"): the value of "pilot, then
//! decide" is bounded by the EVPI of the same choice, is 0 for a pilot that measures nothing,
//! falls as the pilot's noise grows, agrees with a brute-force nested Monte Carlo (exact Bayes
//! by importance weights, written out here), and is what following the rule gains on truths
//! drawn afresh from the prior.

mod common;

use scalerisk::aggregate::pilots::{self, Family, Pilot};
use scalerisk::law;
use scalerisk::pipeline::{self, RunResult};
use scalerisk::sampling::Draw;

fn run(name: &str, draws: usize) -> RunResult {
    common::run_shipped(name, 40, draws, &["decision.pilots=true"])
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Size `p`'s loss in `d` when it trains until the deadline `hours` less `flops` of pilots,
/// written from the law as MODEL.md §2 states it (not through the family).
fn loss_after(r: &RunResult, d: &Draw, p: f64, flops: f64) -> f64 {
    let s = pipeline::settings(&r.scenario);
    let hours = r.scenario.budget.hours - flops / (d.throughput * 3600.0);
    let kp = law::flops_per_token(s.flops_per_param_token, s.attention, p);
    let tokens = d.throughput * 3600.0 * hours / kp;
    law::loss(s.shape, &d.coeffs, p, tokens, hours, d.unique_tokens)
}

/// The sd of a pilot's reading as MODEL.md §5 states it: the noise, and 0.01 nats per decade the
/// pilot lies below the decide-now size, in quadrature.
fn sd_of(noise: f64, params: f64, reference: f64) -> f64 {
    let decades = (reference / params).log10().max(0.0);
    (noise * noise + (0.01 * decades).powi(2)).sqrt()
}

/// What the pilots read in truth `t` with standard normals `e`: each noise-free loss plus its
/// sd times its normal.
fn readings(
    fam: &Family,
    pilots: &[Pilot],
    t: &Draw,
    e: &[f64],
    noise: f64,
    reference: f64,
) -> Vec<f64> {
    pilots
        .iter()
        .zip(e)
        .map(|(x, e)| fam.pilot_loss(x, t) + sd_of(noise, x.params, reference) * e)
        .collect()
}

/// Per draw, the decide-now size's loss with every hour less the realised loss after pilots.
fn gains(r: &RunResult, fam: &Family, j0: usize, realised: &[f64]) -> Vec<f64> {
    fam.draws()
        .iter()
        .zip(realised)
        .map(|(d, x)| loss_after(r, d, fam.sizes[j0], 0.0) - x)
        .collect()
}

fn family(r: &RunResult) -> Family<'_> {
    Family::new(
        &pipeline::settings(&r.scenario),
        &r.grid,
        &r.draws,
        r.scenario.budget.hours,
    )
}

/// The decide-now size of the family: least mean loss at the full budget.
fn decide_now(r: &RunResult, fam: &Family) -> usize {
    let means: Vec<f64> = fam
        .sizes
        .iter()
        .map(|&p| {
            fam.draws()
                .iter()
                .map(|d| loss_after(r, d, p, 0.0))
                .sum::<f64>()
        })
        .collect();
    (0..means.len())
        .min_by(|&a, &b| means[a].total_cmp(&means[b]))
        .unwrap()
}

#[test]
fn the_value_is_below_the_evpi_and_the_shipped_scenarios_say_whether_a_pilot_pays() {
    for (name, pays) in [("own-data", true), ("a100-3days", false)] {
        let r = run(name, 2048);
        let p = r.summary.pilots.as_ref().expect("pilots priced");
        let fam = family(&r);
        let j0 = decide_now(&r, &fam);
        assert_eq!(fam.sizes[j0], p.decide_now_params, "{name}");
        // EVPI of the same choice, from the law directly.
        let regret: Vec<f64> = fam
            .draws()
            .iter()
            .map(|d| {
                let l: Vec<f64> = fam
                    .sizes
                    .iter()
                    .map(|&s| loss_after(&r, d, s, 0.0))
                    .collect();
                l[j0] - l.iter().copied().fold(f64::INFINITY, f64::min)
            })
            .collect();
        let (evpi, _) = mean_se(&regret);
        assert!(
            (evpi - p.evpi).abs() <= 1e-12 * evpi.max(1.0),
            "{evpi} {}",
            p.evpi
        );
        // One run has no spread; more runs take every ratio.
        let designs = pilots::RUNS
            .iter()
            .map(|&k| if k == 1 { 1 } else { pilots::SIZE_RATIOS.len() })
            .sum::<usize>()
            * pilots::SHARES.len();
        assert_eq!(p.rows.len(), designs);
        for row in &p.rows {
            // Draw by draw the realised loss is at least the best size's with every hour.
            assert!(row.value <= evpi, "{name}: {} > EVPI {evpi}", row.value);
        }
        match p.best {
            Some(b) => {
                assert!(pays, "{name}: a pilot pays ({:?})", p.rows[b]);
                let best = &p.rows[b];
                assert!(best.value > pilots::PAYS_Z * best.se);
                assert!(p.rows.iter().all(|x| x.value <= best.value));
            }
            None => {
                assert!(!pays, "{name}: no pilot pays");
                assert!(p.rows.iter().all(|x| x.value <= pilots::PAYS_Z * x.se));
            }
        }
        let text = scalerisk::report::render(&r);
        let line = text
            .lines()
            .skip_while(|l| !l.starts_with("pilots first?"))
            .nth(1)
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(line.contains("none pays"), !pays, "{line}");
    }
}

#[test]
fn a_pilot_that_measures_nothing_is_worth_nothing_and_noise_lowers_the_value() {
    let r = run("own-data", 2048);
    let fam = family(&r);
    let j0 = decide_now(&r, &fam);
    let n = fam.draws().len();
    let z = pilots::observation_noise(11, n, 2);
    // Almost no compute (6e12 FLOPs) and a reading a million nats wide: the rule keeps the
    // decide-now plan.
    let nothing = [Pilot {
        params: 1e6,
        tokens: 1e6,
    }];
    let priced = pilots::price(&fam, &nothing, 1e6, &z, j0);
    let diff = gains(&r, &fam, j0, &priced.realised);
    // What it costs if the decide-now size is kept: its hours, nothing else.
    let flops = fam.pilot_flops(&nothing);
    let kept: Vec<f64> = fam
        .draws()
        .iter()
        .zip(&diff)
        .map(|(d, g)| {
            g - (loss_after(&r, d, fam.sizes[j0], 0.0) - loss_after(&r, d, fam.sizes[j0], flops))
        })
        .collect();
    let (v, se) = mean_se(&kept);
    assert!(v.abs() <= 2.0 * se + 1e-12, "{v} ± {se}");
    assert!(mean_se(&diff).0 <= 0.0, "measuring nothing gains nothing");
    // The same pilots read ever more noisily: the value falls (paired, same draws and normals).
    let design = fam.design(2, 1e18, 3.0);
    let mut last: Option<Vec<f64>> = None;
    let mut values = Vec::new();
    for noise in [0.01, 0.03, 0.3, 3.0] {
        let priced = pilots::price(&fam, &design, noise, &z, j0);
        let d = gains(&r, &fam, j0, &priced.realised);
        if let Some(prev) = &last {
            let paired: Vec<f64> = prev.iter().zip(&d).map(|(a, b)| a - b).collect();
            let (m, se) = mean_se(&paired);
            assert!(
                m > -3.0 * se,
                "noise {noise}: the value rose by {} ± {se}",
                -m
            );
        }
        values.push(mean_se(&d).0);
        last = Some(d);
    }
    assert!(
        values[0] > values[3] + 0.05,
        "noise should cost value: {values:?}"
    );
}

/// Exact Bayes by importance weights: for each truth, weight the run's draws by the likelihood
/// of the truth's pilot readings, choose the size of least weighted loss, and score it on the
/// truth. The tool conditions the other half of its own draws (cross-fitted), so the two agree
/// within their errors.
#[test]
fn the_value_agrees_with_a_brute_force_nested_monte_carlo() {
    let r = run("own-data", 4096);
    let fam = family(&r);
    let j0 = decide_now(&r, &fam);
    let noise = 0.01;
    let design = fam.design(2, 2e18, 3.0);
    let flops = fam.pilot_flops(&design);
    let n = fam.draws().len();
    let z = pilots::observation_noise(5, n, 2);
    let priced = pilots::price(&fam, &design, noise, &z, j0);
    let tool = gains(&r, &fam, j0, &priced.realised);
    let (tool_v, tool_se) = mean_se(&tool);

    let truths = common::run_shipped(
        "own-data",
        40,
        2000,
        &["decision.pilots=false", "sampling.seed=977"],
    );
    let inner: Vec<Vec<f64>> = fam
        .draws()
        .iter()
        .map(|d| design.iter().map(|x| fam.pilot_loss(x, d)).collect())
        .collect();
    let inner_loss: Vec<Vec<f64>> = fam
        .draws()
        .iter()
        .map(|d| {
            fam.sizes
                .iter()
                .map(|&p| loss_after(&r, d, p, flops))
                .collect()
        })
        .collect();
    let zt = pilots::observation_noise(6, truths.draws.len(), 2);
    let gains: Vec<f64> = truths
        .draws
        .iter()
        .zip(&zt)
        .map(|(t, e)| {
            let y = readings(&fam, &design, t, e, noise, fam.sizes[j0]);
            let logw: Vec<f64> = inner
                .iter()
                .map(|m| {
                    -0.5 * m
                        .iter()
                        .zip(&y)
                        .zip(&design)
                        .map(|((a, b), x)| {
                            ((a - b) / sd_of(noise, x.params, fam.sizes[j0])).powi(2)
                        })
                        .sum::<f64>()
                })
                .collect();
            let top = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let w: Vec<f64> = logw.iter().map(|l| (l - top).exp()).collect();
            let choose = (0..fam.sizes.len())
                .min_by(|&a, &b| {
                    let s = |j: usize| -> f64 {
                        w.iter().zip(&inner_loss).map(|(w, l)| w * l[j]).sum()
                    };
                    s(a).total_cmp(&s(b))
                })
                .unwrap();
            loss_after(&r, t, fam.sizes[j0], 0.0) - loss_after(&r, t, fam.sizes[choose], flops)
        })
        .collect();
    let (nested_v, nested_se) = mean_se(&gains);
    let tol = 3.0 * (tool_se * tool_se + nested_se * nested_se).sqrt();
    assert!(
        (tool_v - nested_v).abs() <= tol,
        "tool {tool_v} ± {tool_se} against nested {nested_v} ± {nested_se}"
    );
}

/// Truths drawn afresh from the prior (another seed, 300 of them): observing the recommended
/// pilot and following the tool's rule lowers the mean regret against deciding now by at least
/// the value the tool predicted, less their errors.
#[test]
fn following_the_recommended_pilot_pays_on_fresh_truths() {
    let r = run("own-data", 4096);
    let p = r.summary.pilots.as_ref().unwrap();
    let best = &p.rows[p.best.expect("own-data: a pilot pays")];
    let fam = family(&r);
    let j0 = decide_now(&r, &fam);
    let n = fam.draws().len();
    let z = pilots::observation_noise(r.scenario.sampling.seed, n, best.pilots.len());
    let priced = pilots::price(&fam, &best.pilots, p.noise, &z, j0);
    let truths = common::run_shipped(
        "own-data",
        40,
        300,
        &["decision.pilots=false", "sampling.seed=4242"],
    );
    let zt = pilots::observation_noise(99, truths.draws.len(), best.pilots.len());
    let gains: Vec<f64> = truths
        .draws
        .iter()
        .zip(&zt)
        .map(|(t, e)| {
            let y = readings(&fam, &best.pilots, t, e, p.noise, fam.sizes[j0]);
            let j = priced.rule.choose(&y);
            loss_after(&r, t, fam.sizes[j0], 0.0) - loss_after(&r, t, fam.sizes[j], best.flops)
        })
        .collect();
    let (g, se) = mean_se(&gains);
    assert!(
        g >= best.value - 3.0 * (se * se + best.se * best.se).sqrt(),
        "fresh truths gained {g} ± {se}; the tool predicted {} ± {}",
        best.value,
        best.se
    );
}
