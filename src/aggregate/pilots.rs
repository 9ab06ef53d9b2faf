//! Pilots priced before they are spent (MODEL.md §5, "Pilots"): k short runs on the budget's
//! own hardware and data, their final losses observed, then the main run re-planned in the
//! hours they leave; against deciding now with every hour.
//!
//! The decision on both sides is the model size P of a run that trains until the deadline
//! (under wsd the best plan of every size, MODEL.md §2), over the grid's feasible sizes thinned
//! to at most [`SIZES`]. Deciding now takes the size of least expected loss at the full budget.
//! A pilot design spends `share` of the budget's expected compute on `runs` models of equal
//! compute, `ratio`× apart in size (an IsoFLOP sweep; [`SIZE_RATIOS`]); draw i observes each
//! pilot's final loss under its own law, plus N(0, sd²) with sd the noise and a share per decade
//! of extrapolation to the decide-now size ([`reading_sd`]); the main run then trains F/k(P)
//! fewer tokens (F the pilots' FLOPs) in the hours left.
//!
//! "Pilot, then decide" needs E[L_P | y] for every size P given the pilots' readings y: the
//! draws conditioned on y by its likelihood (importance weights; a nested Monte Carlo whose inner
//! sample is the run's own draws). It is cross-fitted: the rule conditions one half of the draws
//! and is followed on the other, so each draw's realised loss comes from a rule that did not see
//! it. The value is the mean of (decide-now loss − realised loss) over the draws, with its
//! standard error: an unbiased estimate of what following that rule gains, and, draw by draw,
//! at most the decide-now plan's regret (whose mean is the EVPI of the same choice).

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

use crate::backend::cpu;
use crate::grid::Grid;
use crate::law::{self, LawShape};
use crate::sampling::{stream, Draw};
use crate::stats;

/// Tokens per parameter at the centre of a pilot sweep (judgement: Hoffmann et al. 2022's
/// compute-optimal ratio, so the sweep brackets its compute's optimum, where the law was fitted;
/// sizes 3× apart then train 9× more or fewer tokens per parameter).
pub const TOKENS_PER_PARAM: f64 = 20.0;

/// Size ratios of neighbouring pilots searched, the spread of a sweep (judgement: at 3× three
/// sizes span about a decade, as a scaling sweep does; at 10×, two decades).
pub const SIZE_RATIOS: [f64; 2] = [3.0, 10.0];

/// Numbers of pilot runs searched.
pub const RUNS: [usize; 3] = [1, 2, 3];

/// Shares of the budget's expected compute searched.
pub const SHARES: [f64; 5] = [0.005, 0.01, 0.02, 0.05, 0.10];

/// Sizes of the re-planned decision at most (every k-th feasible grid size).
pub const SIZES: usize = 64;

/// Draws of the estimate at most (an evenly spaced subsample).
pub const MAX_DRAWS: usize = 4096;

/// sd added to a pilot's reading per decade its size lies below the decide-now size, nats
/// (judgement: Choshen et al. 2025 find predictions most accurate from models of similar size,
/// and the law's own misfit at a size is of this order: Epoch's refit leaves residuals of a few
/// hundredths of a nat; without it the cheapest, smallest pilots always win, because the law
/// would hold exactly at any scale).
pub const EXTRAPOLATION_SD: f64 = 0.01;

/// The sd of a reading of a pilot of `params` against a main run of `reference` parameters:
/// the observation's `noise` and [`EXTRAPOLATION_SD`] per decade of extrapolation, in quadrature.
pub fn reading_sd(noise: f64, params: f64, reference: f64) -> f64 {
    let decades = (reference / params).log10().max(0.0);
    noise.hypot(EXTRAPOLATION_SD * decades)
}

/// A design pays when its value exceeds twice its standard error (judgement: a 2.3% one-sided
/// chance that a design that gains nothing is called one that pays).
pub const PAYS_Z: f64 = 2.0;

/// One pilot design and what it is worth.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub runs: usize,
    /// Size ratio of neighbouring pilots (1 for a single run).
    pub ratio: f64,
    /// Share of the budget's expected compute the pilots spend.
    pub share: f64,
    /// The pilots, smallest first.
    pub pilots: Vec<Pilot>,
    pub flops: f64,
    /// Mean hours the pilots take (the main run has that much less).
    pub hours_mean: f64,
    /// Expected loss "pilot, then decide" saves over "decide now" (negative: it costs).
    pub value: f64,
    pub se: f64,
    pub pays: bool,
}

/// Every design searched, the best, and what bounds them.
#[derive(Debug, Clone, Serialize)]
pub struct Pilots {
    pub rows: Vec<Row>,
    /// Index in `rows` of the design of largest value, when one pays.
    pub best: Option<usize>,
    /// The size deciding now chooses (until the deadline, full budget).
    pub decide_now_params: f64,
    pub decide_now_loss: f64,
    /// EVPI of the same choice: the decide-now plan's mean regret over the sizes.
    pub evpi: f64,
    pub evpi_se: f64,
    pub noise: f64,
    pub draws: usize,
}

/// The re-planned choice: sizes and the per-draw inputs a loss needs.
pub struct Family<'a> {
    shape: LawShape,
    draws: Vec<&'a Draw>,
    pub sizes: Vec<f64>,
    /// FLOPs per token of each size.
    kp: Vec<f64>,
    hours: f64,
    k: f64,
    attention: Option<law::Attention>,
}

impl<'a> Family<'a> {
    /// The grid's feasible sizes (thinned to [`SIZES`]) on `draws` (thinned to [`MAX_DRAWS`]).
    pub fn new(settings: &cpu::Settings, grid: &Grid, draws: &'a [Draw], hours: f64) -> Self {
        let n = draws.len();
        let take: Vec<usize> = if n <= MAX_DRAWS {
            (0..n).collect()
        } else {
            (0..MAX_DRAWS).map(|j| j * n / MAX_DRAWS).collect()
        };
        let n_p = grid.feasible_params;
        let stride = n_p.div_ceil(SIZES).max(1);
        let sizes: Vec<f64> = (0..n_p).step_by(stride).map(|p| grid.params[p]).collect();
        let kp = sizes
            .iter()
            .map(|&p| law::flops_per_token(settings.flops_per_param_token, settings.attention, p))
            .collect();
        Family {
            shape: settings.shape,
            draws: take.iter().map(|&i| &draws[i]).collect(),
            sizes,
            kp,
            hours,
            k: settings.flops_per_param_token,
            attention: settings.attention,
        }
    }

    pub fn draws(&self) -> &[&'a Draw] {
        &self.draws
    }

    /// Size j's loss in `d` when it trains until the deadline after `flops` of pilots: the
    /// capacity less flops/k(P), the hours less flops/X.
    pub fn loss(&self, j: usize, d: &Draw, flops: f64) -> f64 {
        let hours = self.hours - hours_of(flops, d);
        let tokens = law::capacity(d.throughput, hours, self.kp[j]);
        law::loss(
            self.shape,
            &d.coeffs,
            self.sizes[j],
            tokens,
            hours,
            d.unique_tokens,
        )
    }

    /// Every size's losses over the draws after `flops` of pilots: columns[j][i].
    fn columns(&self, flops: f64) -> Vec<Vec<f64>> {
        (0..self.sizes.len())
            .into_par_iter()
            .map(|j| self.draws.iter().map(|d| self.loss(j, d, flops)).collect())
            .collect()
    }

    /// The final loss of pilot `x` in `d`, before the observation's noise.
    pub fn pilot_loss(&self, x: &Pilot, d: &Draw) -> f64 {
        let flops = self.pilot_flops(std::slice::from_ref(x));
        law::loss(
            self.shape,
            &d.coeffs,
            x.params,
            x.tokens,
            hours_of(flops, d),
            d.unique_tokens,
        )
    }

    /// FLOPs of these pilots.
    pub fn pilot_flops(&self, pilots: &[Pilot]) -> f64 {
        pilots
            .iter()
            .map(|x| law::flops_per_token(self.k, self.attention, x.params) * x.tokens)
            .sum()
    }

    /// `runs` pilots spending `flops` in equal parts (an IsoFLOP sweep, Hoffmann et al. 2022's
    /// approach 2): sizes `ratio`× apart, centred on the size that trains
    /// [`TOKENS_PER_PARAM`] tokens per parameter with its part (bisection in ln P).
    pub fn design(&self, runs: usize, flops: f64, ratio: f64) -> Vec<Pilot> {
        let part = flops / runs as f64;
        let kp = |p: f64| law::flops_per_token(self.k, self.attention, p);
        let (mut lo, mut hi) = (0.0_f64, 40.0_f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            let p = mid.exp();
            if kp(p) * TOKENS_PER_PARAM * p < part {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let centre = (0.5 * (lo + hi)).exp();
        (0..runs)
            .map(|i| {
                let params = centre * ratio.powf(i as f64 - (runs as f64 - 1.0) / 2.0);
                Pilot {
                    params,
                    tokens: part / kp(params),
                }
            })
            .collect()
    }
}

/// Hours `flops` take at draw `d`'s throughput (the inverse of `law::capacity`).
fn hours_of(flops: f64, d: &Draw) -> f64 {
    flops / (d.throughput * 3600.0)
}

/// One pilot run: its size and the tokens it trains (annealed at its end, as wsd runs are).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Pilot {
    pub params: f64,
    pub tokens: f64,
}

/// Standard errors by which a size's conditional estimate must beat the decide-now size before
/// the rule moves to it (judgement: one-sided 2.3% per size; without it, a pilot that measures
/// nothing chased noise for −0.00085 ± 0.00035 nats on own-data.toml).
pub const SWITCH_Z: f64 = 2.0;

/// Draws the kernel of a rule reaches at least: its width is the readings' noise σ, or, where
/// fewer than this many draws read within it, √½ of the distance to the eighth nearest
/// (judgement: with the likelihood alone, one pilot, whose reading cannot tell A from B, was
/// re-planned on one or two matching draws and lost 0.012 nats beyond its hours on
/// own-data.toml; with 8 it costs its hours and no more, while 2 and 3 pilots keep 0.083 of the
/// 0.091 the exact likelihood gains in the brute force of tests/pilots.rs; 16 kept 0.078).
pub const NEIGHBOURS: usize = 8;

/// Importance weights below this share of the largest are dropped (e^−27.6: they move no sum).
const WEIGHT_FLOOR: f64 = 1e-12;

/// "Pilot, then decide" as a rule on some draws: given pilots' readings y, those draws are
/// conditioned on y by its likelihood under the observation model (each pilot's noise-free loss
/// plus N(0, σ²): importance weights, exact Bayes on that sample; the kernel widened to reach
/// [`NEIGHBOURS`] draws), each size's loss against the decide-now size is their weighted mean,
/// and the rule moves to the size of the lowest mean plus [`SWITCH_Z`] weighted standard errors,
/// only when that is below 0. A pilot that says nothing therefore leaves the decide-now plan in
/// place (its value is 0, not the cost of chasing noise).
#[derive(Debug, Clone)]
pub struct Rule {
    /// Per draw of the rule, its pilots' noise-free losses over their readings' sd.
    means: Vec<Vec<f64>>,
    /// Per draw of the rule, each size's loss minus the decide-now size's.
    delta: Vec<Vec<f64>>,
    /// Each pilot's reading sd ([`reading_sd`]).
    sd: Vec<f64>,
    now: usize,
}

impl Rule {
    /// The rule on the draws `rows`: `means[i]` the pilots' noise-free losses in draw i,
    /// `columns[j][i]` size j's loss in draw i, `now` the decide-now size, `sd` each pilot's
    /// reading sd.
    fn fit(
        means: &[Vec<f64>],
        rows: &[usize],
        columns: &[Vec<f64>],
        now: usize,
        sd: &[f64],
    ) -> Self {
        Rule {
            means: rows
                .iter()
                .map(|&i| means[i].iter().zip(sd).map(|(m, s)| m / s).collect())
                .collect(),
            delta: rows
                .iter()
                .map(|&i| columns.iter().map(|c| c[i] - columns[now][i]).collect())
                .collect(),
            sd: sd.to_vec(),
            now,
        }
    }

    /// The size the rule chooses after reading the pilots' losses `y` (index into the family's
    /// sizes).
    pub fn choose(&self, y: &[f64]) -> usize {
        // Distances in units of each reading's sd: the likelihood is exp(−d²/2).
        let y: Vec<f64> = y.iter().zip(&self.sd).map(|(v, s)| v / s).collect();
        let d2: Vec<f64> = self
            .means
            .iter()
            .map(|m| {
                m.iter()
                    .zip(&y)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
            })
            .collect();
        // The kernel is the readings' likelihood, widened where fewer than NEIGHBOURS draws
        // lie within it, so that no estimate rests on one or two draws.
        let mut sorted = d2.clone();
        let k = NEIGHBOURS.min(sorted.len()) - 1;
        let (_, kth, _) = sorted.select_nth_unstable_by(k, f64::total_cmp);
        let h2 = (0.5 * *kth).max(1.0);
        let top = d2.iter().copied().fold(f64::INFINITY, f64::min);
        let kept: Vec<(usize, f64)> = d2
            .iter()
            .enumerate()
            .map(|(i, d)| (i, (-0.5 * (d - top) / h2).exp()))
            .filter(|&(_, w)| w >= WEIGHT_FLOOR)
            .collect();
        let sum: f64 = kept.iter().map(|(_, w)| w).sum();
        let sum2: f64 = kept.iter().map(|(_, w)| w * w).sum();
        // One pass over the kept draws, each a contiguous row of sizes: Σwδ, Σw²δ, Σw²δ² per
        // size, from which the weighted mean m and Σw²(δ − m)² follow.
        let sizes = self.delta[0].len();
        let (mut s1, mut s2, mut s3) = (vec![0.0; sizes], vec![0.0; sizes], vec![0.0; sizes]);
        for &(i, w) in &kept {
            let w2 = w * w;
            for (j, &d) in self.delta[i].iter().enumerate() {
                s1[j] += w * d;
                s2[j] += w2 * d;
                s3[j] += w2 * d * d;
            }
        }
        let mut best = (0.0, self.now);
        for j in 0..sizes {
            let mean = s1[j] / sum;
            let var = ((s3[j] - 2.0 * mean * s2[j] + mean * mean * sum2) / (sum * sum)).max(0.0);
            let score = mean + SWITCH_Z * var.sqrt();
            if score < best.0 {
                best = (score, j);
            }
        }
        best.1
    }
}

/// The standard normals of each draw's pilot observations (run r of draw i: the r-th of draw i's
/// stream), shared by every design so that designs differ only by what they measure.
pub fn observation_noise(seed: u64, draws: usize, runs: usize) -> Vec<Vec<f64>> {
    let key = stream::key(seed, "pilots.observation");
    (0..draws)
        .map(|i| {
            let mut rng = stream::stream(&key, i as u64);
            (0..runs).map(|_| StandardNormal.sample(&mut rng)).collect()
        })
        .collect()
}

/// One design's cross-fitted realised losses, and the rule fitted on every draw.
pub struct Priced {
    /// Per draw, the loss of the size the held-out rule chose.
    pub realised: Vec<f64>,
    pub rule: Rule,
}

/// Price `pilots` observed with sd `noise` (`z`: the draws' standard normals) against
/// the decide-now size `now`.
pub fn price(family: &Family, pilots: &[Pilot], noise: f64, z: &[Vec<f64>], now: usize) -> Priced {
    let flops = family.pilot_flops(pilots);
    let draws = family.draws();
    let sd: Vec<f64> = pilots
        .iter()
        .map(|x| reading_sd(noise, x.params, family.sizes[now]))
        .collect();
    let means: Vec<Vec<f64>> = draws
        .iter()
        .map(|d| pilots.iter().map(|x| family.pilot_loss(x, d)).collect())
        .collect();
    let y: Vec<Vec<f64>> = means
        .iter()
        .zip(z)
        .map(|(m, z)| {
            m.iter()
                .zip(z)
                .zip(&sd)
                .map(|((m, e), s)| m + s * e)
                .collect()
        })
        .collect();
    let columns = family.columns(flops);
    let n = draws.len();
    let folds: [Vec<usize>; 2] = [
        (0..n).filter(|i| i % 2 == 0).collect(),
        (0..n).filter(|i| i % 2 == 1).collect(),
    ];
    let mut realised = vec![0.0; n];
    for f in 0..2 {
        let rule = Rule::fit(&means, &folds[f], &columns, now, &sd);
        let chosen: Vec<(usize, f64)> = folds[1 - f]
            .par_iter()
            .map(|&i| (i, columns[rule.choose(&y[i])][i]))
            .collect();
        for (i, l) in chosen {
            realised[i] = l;
        }
    }
    let all: Vec<usize> = (0..n).collect();
    Priced {
        rule: Rule::fit(&means, &all, &columns, now, &sd),
        realised,
    }
}

/// Every design of [`RUNS`] × [`SIZE_RATIOS`] × [`SHARES`] against deciding now, on a hardware
/// budget under wsd with "until the deadline" plans (the caller checks).
pub fn pilots(
    settings: &cpu::Settings,
    grid: &Grid,
    draws: &[Draw],
    hours: f64,
    seed: u64,
    noise: f64,
) -> Option<Pilots> {
    let family = Family::new(settings, grid, draws, hours);
    if family.sizes.is_empty() {
        return None;
    }
    let now = family.columns(0.0);
    let means: Vec<f64> = now
        .iter()
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect();
    let j0 = (0..means.len()).min_by(|&a, &b| means[a].total_cmp(&means[b]).then(a.cmp(&b)))?;
    if !means[j0].is_finite() {
        return None;
    }
    let n = family.draws().len();
    let regret: Vec<f64> = (0..n)
        .map(|i| now[j0][i] - now.iter().map(|c| c[i]).fold(f64::INFINITY, f64::min))
        .collect();
    let (evpi, evpi_sd) = stats::mean_sd(&regret);
    let compute =
        family.draws().iter().map(|d| d.throughput).sum::<f64>() / n as f64 * 3600.0 * hours;
    let max_runs = RUNS.iter().copied().max().unwrap_or(1);
    let z = observation_noise(seed, n, max_runs);
    let mut rows = Vec::new();
    for &runs in &RUNS {
        // One run has no spread.
        let ratios: &[f64] = if runs == 1 { &[1.0] } else { &SIZE_RATIOS };
        for &ratio in ratios {
            for &share in &SHARES {
                let design = family.design(runs, share * compute, ratio);
                let flops = family.pilot_flops(&design);
                let hours_each: Vec<f64> =
                    family.draws().iter().map(|d| hours_of(flops, d)).collect();
                // A design that would leave a draw less than half its hours is not a pilot.
                if hours_each.iter().any(|&h| h >= 0.5 * hours) {
                    continue;
                }
                let priced = price(&family, &design, noise, &z, j0);
                let diff: Vec<f64> = (0..n).map(|i| now[j0][i] - priced.realised[i]).collect();
                let (value, sd) = stats::mean_sd(&diff);
                let se = sd / (n as f64).sqrt();
                rows.push(Row {
                    runs,
                    ratio,
                    share,
                    pilots: design,
                    flops,
                    hours_mean: hours_each.iter().sum::<f64>() / n as f64,
                    value,
                    se,
                    pays: value > PAYS_Z * se,
                });
            }
        }
    }
    let best = (0..rows.len())
        .filter(|&i| rows[i].pays)
        .max_by(|&a, &b| rows[a].value.total_cmp(&rows[b].value).then(b.cmp(&a)));
    Some(Pilots {
        rows,
        best,
        decide_now_params: family.sizes[j0],
        decide_now_loss: means[j0],
        evpi,
        evpi_se: evpi_sd / (n as f64).sqrt(),
        noise,
        draws: n,
    })
}
