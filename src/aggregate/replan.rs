//! Re-planning the live run (docs/MODEL.md §8): once a run is under way its hours and tokens are
//! sunk, and the options are what remains, each scored on the posterior draws like any plan.
//!
//! - **continue** as planned: to the schedule's planned tokens, or as far as the remaining hours
//!   reach (a cosine cut there has not finished its anneal);
//! - **decay now**: hold nothing, decay linearly from the current rate to 10% of the peak over
//!   [`DECAY_SHARE`] of the tokens so far (Hägele et al. 2024's cooldown), then stop;
//! - **extend** to the deadline: hold the current rate and decay over the last
//!   [`DECAY_SHARE`] of the run, ending at the deadline;
//! - **restart** at another size: a fresh run in the remaining hours, trained until the deadline,
//!   at the size with the lowest expected loss on a log grid over `search.params`, refined
//!   between the best grid size's neighbours.
//!
//! The live run's options are read off the curve model with the run's own offset (its rows'
//! conditional mean δ₀ and sd, docs/MODEL.md §8); a restart off the law (a new run's offset is
//! unknown, mean 0). The recommendation is the option with the lowest expected loss, unless it
//! beats continuing by less than twice the paired standard error: then continuing.

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

use crate::curve::{self, Switch};
use crate::law;
use crate::posterior::likelihood::Model;
use crate::posterior::Posterior;
use crate::sampling::{stream, Draw};
use crate::scenario::Scenario;

/// A cooldown's share of the run: Hägele et al. 2024 find 10–20% of the steps match or beat
/// cosine; 20% is the end of that range (judgement, docs/MODEL.md §8).
pub const DECAY_SHARE: f64 = 0.2;

/// Sizes of the restart grid (log-spaced over `search.params`).
pub const RESTART_SIZES: usize = 48;

/// Sizes between the best grid size's neighbours that the restart is refined on.
pub const REFINE_SIZES: usize = 16;

/// Final rate of a re-planned decay, as a fraction of the peak: the reference schedule's.
const FINAL_LR: f64 = curve::REFERENCE_FINAL_LR;

/// One option's final loss over the posterior draws.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub name: &'static str,
    pub params: f64,
    /// Tokens the run ends at (5th, 50th, 95th percentile over draws).
    pub tokens_p05: f64,
    pub tokens_p50: f64,
    pub tokens_p95: f64,
    pub mean: f64,
    pub se: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    /// Expected loss it saves against continuing, and that difference's paired standard error.
    pub gain: f64,
    pub gain_se: f64,
}

/// What limits the live run now, from the law's terms at its tokens so far.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// Share of draws where another e-fold of tokens lowers the loss more than another e-fold
    /// of parameters (β·B·x^−β > α·A·N^−α): the run is limited by its data, not its size.
    pub data_limited: f64,
    /// Mean loss still above E from the size (A·N^−α) and from the tokens (B·x^−β), and the
    /// anneal not yet taken (G·r), nats.
    pub params_term: f64,
    pub data_term: f64,
    pub anneal_left: f64,
}

/// The re-plan of the live run.
#[derive(Debug, Clone, Serialize)]
pub struct Replan {
    pub run: String,
    pub params: f64,
    pub tokens_so_far: f64,
    pub hours_so_far: f64,
    pub hours_left: f64,
    pub choices: Vec<Choice>,
    /// Index into `choices`.
    pub recommended: usize,
    pub stage: Stage,
}

fn quantiles(v: &[f64]) -> (f64, f64, f64) {
    let mut w = v.to_vec();
    let q = |w: &mut [f64], p| crate::stats::quantile(w, p);
    (q(&mut w, 0.05), q(&mut w, 0.5), q(&mut w, 0.95))
}

/// The losses of the live run's options and of restarts for every draw (continue, decay now,
/// extend; then one column per restart size), and the tokens each ends at.
struct Outcomes {
    live: [Vec<f64>; 3],
    tokens: [Vec<f64>; 3],
    restart: Vec<Vec<f64>>,
}

/// The live run as its options see it.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub schedule: curve::Schedule,
    pub params: f64,
    /// Tokens so far (its last row) and hours left in the budget.
    pub tokens: f64,
    pub hours_left: f64,
    /// Training FLOPs per token of the live run's size.
    pub flops_per_token: f64,
}

impl Live {
    pub fn new(s: &Scenario) -> Option<Live> {
        let o = s.observations.as_ref()?;
        let live = o.live?;
        let run = &o.runs[live.run];
        let params = run.params;
        Some(Live {
            schedule: run.schedule,
            params,
            tokens: run.rows.last()?.0,
            hours_left: s.budget.hours - live.hours,
            flops_per_token: law::flops_per_token(
                s.budget.flops_per_param_token,
                s.budget.attention,
                params,
            ),
        })
    }

    /// Where continue, decay now and extend end for a run whose throughput is `throughput`
    /// FLOP/s: their schedules' points at their last tokens.
    pub fn ends(&self, throughput: f64) -> [curve::Point; 3] {
        let t0 = self.tokens;
        let cap = law::capacity(throughput, self.hours_left, self.flops_per_token);
        let cont_end = self.schedule.planned.min(t0 + cap).max(t0);
        let decay_end = t0 + (DECAY_SHARE * t0).min(cap);
        let ext_end = t0 + cap;
        let switched = |end: f64, decay_tokens: f64| {
            self.schedule
                .switched(
                    t0,
                    Switch {
                        end,
                        decay_tokens,
                        final_lr: FINAL_LR,
                    },
                )
                .points(&[end])[0]
        };
        [
            self.schedule.points(&[cont_end])[0],
            switched(decay_end, decay_end - t0),
            switched(ext_end, DECAY_SHARE * ext_end),
        ]
    }
}

/// Re-plan the live run of `s` on the posterior `p`. None without a live run.
pub fn replan(s: &Scenario, p: &Posterior) -> Option<Replan> {
    let o = s.observations.as_ref()?;
    let live_obs = o.live?;
    let live = Live::new(s)?;
    let model = Model::new(s, o);
    let run = &model.runs[live_obs.run];
    let n_live = live.params;
    let t0 = live.tokens;
    let hours_left = live.hours_left;
    let k = s.budget.flops_per_param_token;
    let attention = s.budget.attention;
    let sizes = restart_sizes(s);
    let key = stream::key(s.sampling.seed, "observations.replan");
    let rows: Vec<([f64; 3], [f64; 3], Vec<f64>)> = p
        .draws
        .par_iter()
        .zip(&p.gaps)
        .enumerate()
        .map(|(i, (d, &g))| {
            let shape = model.shape(d);
            let (m, sd) = run.offset(shape, d, g);
            let z: f64 = StandardNormal.sample(&mut stream::stream(&key, i as u64));
            let offset = m + sd * z;
            let ends = live.ends(d.throughput);
            let restart = sizes
                .iter()
                .map(|&q| restart_loss(s, d, q, hours_left))
                .collect();
            (
                ends.map(|pt| run.expected(shape, d, g, &pt) + offset),
                ends.map(|pt| pt.tokens),
                restart,
            )
        })
        .collect();
    let mut out = Outcomes {
        live: Default::default(),
        tokens: Default::default(),
        restart: vec![Vec::with_capacity(rows.len()); sizes.len()],
    };
    for (l, t, r) in rows {
        for j in 0..3 {
            out.live[j].push(l[j]);
            out.tokens[j].push(t[j]);
        }
        for (col, v) in out.restart.iter_mut().zip(r) {
            col.push(v);
        }
    }
    // The restart size with the lowest expected loss on the grid, then on 17 sizes between its
    // neighbours (the expected loss is flat near its minimum: the grid alone would set it).
    let expected = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let coarse = (0..sizes.len())
        .min_by(|&a, &b| expected(&out.restart[a]).total_cmp(&expected(&out.restart[b])))?;
    let (lo, hi) = (
        sizes[coarse.saturating_sub(1)].ln(),
        sizes[(coarse + 1).min(sizes.len() - 1)].ln(),
    );
    let (best_size, best_losses) = (0..=REFINE_SIZES)
        .map(|i| (lo + (hi - lo) * i as f64 / REFINE_SIZES as f64).exp())
        .map(|q| {
            let v: Vec<f64> = p
                .draws
                .par_iter()
                .map(|d| restart_loss(s, d, q, hours_left))
                .collect();
            (q, v)
        })
        .chain(std::iter::once((
            sizes[coarse],
            out.restart[coarse].clone(),
        )))
        .min_by(|a, b| expected(&a.1).total_cmp(&expected(&b.1)))?;
    let restart_tokens: Vec<f64> = p
        .draws
        .iter()
        .map(|d| {
            law::capacity(
                d.throughput,
                hours_left,
                law::flops_per_token(k, attention, best_size),
            )
        })
        .collect();
    let cont = out.live[0].clone();
    let choice = |name: &'static str, params: f64, losses: &[f64], tokens: &[f64]| {
        let (mean, se) = p.mean_se(losses);
        let (p05, p50, p95) = quantiles(losses);
        let (t05, t50, t95) = quantiles(tokens);
        let diff: Vec<f64> = cont.iter().zip(losses).map(|(c, l)| c - l).collect();
        let (gain, gain_se) = p.mean_se(&diff);
        Choice {
            name,
            params,
            tokens_p05: t05,
            tokens_p50: t50,
            tokens_p95: t95,
            mean,
            se,
            p05,
            p50,
            p95,
            gain,
            gain_se,
        }
    };
    let choices = vec![
        choice("continue", n_live, &out.live[0], &out.tokens[0]),
        choice("decay_now", n_live, &out.live[1], &out.tokens[1]),
        choice("extend", n_live, &out.live[2], &out.tokens[2]),
        choice("restart", best_size, &best_losses, &restart_tokens),
    ];
    let recommended = recommend(&choices);
    Some(Replan {
        run: run.name.clone(),
        params: n_live,
        tokens_so_far: t0,
        hours_so_far: live_obs.hours,
        hours_left,
        choices,
        recommended,
        stage: stage(&model, live_obs.run, p, &live.schedule.points(&[t0])[0]),
    })
}

/// The option with the lowest expected loss, unless it beats continuing (index 0) by less than
/// twice its paired standard error.
pub fn recommend(choices: &[Choice]) -> usize {
    let best = (0..choices.len())
        .min_by(|&a, &b| choices[a].mean.total_cmp(&choices[b].mean))
        .unwrap_or(0);
    if choices[best].gain > 2.0 * choices[best].gain_se {
        best
    } else {
        0
    }
}

/// The restart grid: log-spaced sizes over `search.params` that fit the accelerators' memory
/// and `search.max_params`.
pub fn restart_sizes(s: &Scenario) -> Vec<f64> {
    let (lo, hi) = (s.search.params.min.ln(), s.search.params.max.ln());
    (0..RESTART_SIZES)
        .map(|i| (lo + (hi - lo) * i as f64 / (RESTART_SIZES - 1) as f64).exp())
        .filter(|&q| {
            s.budget
                .memory_bytes()
                .is_none_or(|m| q * s.search.bytes_per_param <= m)
                && s.search.max_params.is_none_or(|c| q <= c)
        })
        .collect()
}

/// A fresh run of `q` parameters trained until the deadline in `hours` (annealed there, the
/// reference schedule's end): the law at the tokens it reaches.
pub fn restart_loss(s: &Scenario, d: &Draw, q: f64, hours: f64) -> f64 {
    let fpt = law::flops_per_token(s.budget.flops_per_param_token, s.budget.attention, q);
    let tokens = law::capacity(d.throughput, hours, fpt);
    let shape = s.law.member(d.member as usize).shape;
    law::loss(shape, &d.coeffs, q, tokens, hours, d.unique_tokens)
}

/// What limits the live run at its tokens so far, `pt` (the additive law's terms).
fn stage(model: &Model, live: usize, p: &Posterior, pt: &curve::Point) -> Stage {
    let run = &model.runs[live];
    let n = p.draws.len() as f64;
    let (mut limited, mut pt_sum, mut dt_sum, mut an_sum) = (0.0, 0.0, 0.0, 0.0);
    for (d, &g) in p.draws.iter().zip(&p.gaps) {
        let shape = model.shape(d);
        let k = &d.coeffs;
        let params_term = k.a * shape.law_params(run.params).powf(-k.alpha);
        let data_term = k.b * pt.x.powf(-k.beta);
        if k.beta * data_term > k.alpha * params_term {
            limited += 1.0;
        }
        pt_sum += params_term;
        dt_sum += data_term;
        an_sum += curve::gap(g, run.params) * pt.r;
    }
    Stage {
        data_limited: limited / n,
        params_term: pt_sum / n,
        data_term: dt_sum / n,
        anneal_left: an_sum / n,
    }
}
