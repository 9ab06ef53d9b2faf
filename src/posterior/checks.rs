//! What a user should check before trusting a posterior (docs/MODEL.md §8.3 "Warnings"):
//! observations that were accepted as input but that the posterior cannot use as meant. Each
//! check returns sentences for the report, run.json and the Python advice; none changes a draw.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::likelihood::Model;
use super::smc::Particle;
use super::Posterior;
use crate::sampling::Draw;

/// How far a measurement may sit from what the posterior predicts for it, in sd of the
/// predictive (the posterior's spread and the measurement's own sd): judgement. A posterior that
/// honours a measurement puts it within about 1 sd; one pinned at a prior's bound by
/// measurements that contradict each other or the prior's range puts it many sd away.
pub const MEASUREMENT_Z: f64 = 3.0;

/// Fewest prior draws the posterior may descend from before its standard errors are said to
/// rest on few groups: judgement (a clustered variance from under 50 clusters is itself uncertain
/// by more than 10%).
pub const MIN_EVES: usize = 50;

/// How rare a run's residuals must be to be warned about (the posterior draws' median χ² of
/// them): the χ² tail probability, judgement (one run in a thousand is a false alarm).
pub const ROWS_P: f64 = 0.001;

/// Runs whose last used row lies outside everything the prior expects there (99.9% of the prior
/// draws' curves, widened by three sd of the noise and the run's offset): rows in other units
/// (steps for tokens, bits for nats) or data far from the law's, which the posterior would
/// follow by bending the law beyond what it describes (docs/MODEL.md §8.3).
pub(crate) fn prior_surprises(model: &Model, ps: &[Particle]) -> Vec<String> {
    let mut out = Vec::new();
    for r in &model.runs {
        let (Some(p), Some(&y)) = (r.points.last(), r.y.last()) else {
            continue;
        };
        let mut v: Vec<f64> = ps
            .iter()
            .map(|q| r.expected(model.shape(&q.draw), &q.draw, q.g, p))
            .collect();
        let lo = crate::stats::quantile(&mut v, 0.0005);
        let hi = crate::stats::quantile(&mut v, 0.9995);
        let pad = 3.0 * r.noise.hypot(r.tau0);
        if y < lo - pad || y > hi + pad {
            out.push(format!(
                "run {}: its loss {y:.4} at {:.4e} tokens lies outside everything the prior expects there ({lo:.4}–{hi:.4} in 99.9% of draws): check the rows' units (tokens, not steps; nats), or use observations.level = \"free\" if your data differ from the law's",
                r.name, p.tokens
            ));
        }
    }
    out
}

/// What the posterior could not use or honour (docs/MODEL.md §8.3).
pub(crate) fn after(
    o: &crate::scenario::Observations,
    model: &Model,
    post: &Posterior,
) -> Vec<String> {
    let mut out = Vec::new();
    let n = post.draws.len() as f64;
    for r in model.runs.iter().filter(|r| r.points.is_empty()) {
        out.push(format!(
            "run {}: none of its {} rows is at or past {:.4e} tokens (the later of observations.first × its planned tokens and twice its warm-up), so it informs nothing: earlier rows are the warm-up and the transient after it (if the run is further along, check its tokens column)",
            r.name, r.rows, r.from
        ));
    }
    // Rows the curve cannot follow: the posterior draws' median χ² of the rows (the
    // discrepancy integrated out) beyond what noise gives once in a thousand runs.
    for r in model.runs.iter().filter(|r| !r.points.is_empty()) {
        let mut chi2: Vec<f64> = post
            .draws
            .iter()
            .zip(&post.gaps)
            .map(|(d, &g)| r.chi2(model.shape(d), d, g))
            .collect();
        let median = crate::stats::quantile(&mut chi2, 0.5);
        let k = r.points.len() as f64;
        let limit = ChiSquared::new(k).expect("k > 0").inverse_cdf(1.0 - ROWS_P);
        if median > limit {
            out.push(format!(
                "run {}: its {} rows used sit {:.1} sd from the curve on average (χ² {median:.0} on {k} rows, against {limit:.0} that noise exceeds once in {:.0} runs): the law's level (observations.level = \"free\"), the run's schedule or its noise (observations.noise, {}) is off",
                r.name,
                r.points.len(),
                (median / k).sqrt(),
                1.0 / ROWS_P,
                if r.noise_estimated { format!("estimated {:.4}", r.noise) } else { format!("{}", r.noise) }
            ));
        }
    }
    // Standard errors cluster the draws by the prior draw they descend from (Posterior::mean_se):
    // with few such groups they rest on little.
    let eves = post.eve_count();
    if eves < MIN_EVES {
        out.push(format!(
            "the posterior's {n} draws descend from only {eves} prior draws, so its standard errors rest on few independent groups; raise sampling.draws"
        ));
    }
    // Each step keeps half the sample's weight by construction; below that the likelihood was
    // too sharp for even the smallest step.
    if let Some((k, s)) = post
        .stages
        .iter()
        .enumerate()
        .find(|(_, s)| s.ess < 0.5 * n * 0.999)
    {
        out.push(format!(
            "at tempering step {} the effective sample size fell to {:.0} of {n}: the observations are far sharper than the prior allows; check the rows' units (tokens, nats, parameters) and the measured values, or widen the prior (observations.level = \"free\")",
            k + 1,
            s.ess
        ));
    }
    let check = |what: &str, measured: f64, sd: f64, of: &dyn Fn(&Draw) -> f64| {
        let v: Vec<f64> = post.draws.iter().map(of).collect();
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let z = (measured - mean) / (var + sd * sd).sqrt();
        // Three decimals for a fraction, three significant digits for anything far below one.
        let show = |x: f64| {
            if x.abs() >= 0.01 {
                format!("{x:.3}")
            } else {
                format!("{x:.2e}")
            }
        };
        (z.abs() > MEASUREMENT_Z).then(|| {
            format!(
                "{what} {} is {:.0} sd from what the posterior allows (mean {}): the prior's range (budget.mfu, budget.goodput) or the other observations disagree with it",
                show(measured),
                z.abs(),
                show(mean)
            )
        })
    };
    if let Some(m) = o.mfu {
        out.extend(check("the measured MFU", m.value, m.sd, &|d| d.mfu));
    }
    if let Some(m) = o.goodput {
        out.extend(check("the measured goodput", m.value, m.sd, &|d| d.goodput));
    }
    if let Some((x, sd)) = model.throughput() {
        // In MFU × goodput, the unit a user thinks in: the throughput over the draw's peak.
        let peak = |d: &Draw| d.throughput / (d.mfu * d.goodput);
        out.extend(check(
            "the live run's throughput so far, as MFU × goodput,",
            x / peak(&post.draws[0]),
            sd / peak(&post.draws[0]),
            &|d| d.mfu * d.goodput,
        ));
    }
    out
}
