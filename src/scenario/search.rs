//! `[search]`, `[decision]` and `[sampling]`: the grid, the objectives, the draws.

use super::dists::{positive, probability};
use super::raw::{Num, RawAxis, RawDecision, RawSampling, RawSearch};
use super::{Axis, Budget, Decision, Method, Objective, Sampling, Search};
use crate::error::{Error, Result};

/// sd of a pilot's observed final loss by default, nats: the per-run discrepancy τ₀ of the
/// observation model (MODEL.md §8.2), what one final loss cannot say about the law (judgement
/// there; MODEL.md §5, "Pilots").
pub const PILOT_NOISE: f64 = 0.01;

/// Default ε of the `near_best` objective, in nats (MODEL.md §5: judgement).
pub const NEAR_BEST_WITHIN: f64 = 0.001;

fn axis(field: &str, a: Option<&RawAxis>, default: Axis) -> Result<Axis> {
    let Some(a) = a else {
        return Ok(default);
    };
    let min = positive(&format!("{field}.min"), a.min)?
        .ok_or_else(|| Error::input(format!("{field}.min"), "missing; the smallest value (> 0)"))?;
    let max = positive(&format!("{field}.max"), a.max)?
        .ok_or_else(|| Error::input(format!("{field}.max"), "missing; the largest value"))?;
    let points = a.points.map(|w| w.0).ok_or_else(|| {
        Error::input(
            format!("{field}.points"),
            "missing; how many log-spaced points",
        )
    })? as usize;
    if min < 1.0 {
        return Err(Error::input(
            format!("{field}.min"),
            format!("{min} is not allowed; at least 1"),
        ));
    }
    if min > max || (min == max && points != 1) || (min < max && points < 2) {
        return Err(Error::input(field, format!("min {min}, max {max}, points {points} is not allowed; need min < max with points >= 2 (or min = max with points = 1)")));
    }
    Ok(Axis { min, max, points })
}

/// A list of hours as written, for messages.
fn show_list(xs: &[Num]) -> String {
    let cells: Vec<String> = xs.iter().map(|x| x.0.to_string()).collect();
    format!("[{}]", cells.join(", "))
}

/// A non-empty list of hours > 0, sorted.
fn hours_list(field: &str, given: &[Num]) -> Result<Vec<f64>> {
    if given.is_empty() || given.iter().any(|h| h.0 <= 0.0) {
        return Err(Error::input(
            field,
            format!(
                "{} is not allowed; a non-empty list of hours > 0",
                show_list(given)
            ),
        ));
    }
    let mut v: Vec<f64> = given.iter().map(|h| h.0).collect();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

pub fn search(s: &RawSearch, budget: &Budget) -> Result<Search> {
    let params = axis(
        "search.params",
        s.params.as_ref(),
        Axis {
            min: 1e7,
            max: 1e11,
            points: 128,
        },
    )?;
    let tokens = axis(
        "search.tokens",
        s.tokens.as_ref(),
        Axis {
            min: 1e8,
            max: 1e13,
            points: 128,
        },
    )?;
    let hours = match &s.hours {
        None => vec![budget.hours],
        Some(given) => {
            let mut xs = hours_list("search.hours", given)?;
            if xs.windows(2).any(|w| w[0] == w[1]) {
                return Err(Error::input(
                    "search.hours",
                    format!(
                        "{} repeats a value; list each number of hours once",
                        show_list(given)
                    ),
                ));
            }
            // Training until the deadline is always a candidate, as D = ∞ is on the token
            // axis: `--set budget.hours=48` then plans 48 h, not the listed 36 h below it.
            if !xs.contains(&budget.hours) {
                xs.push(budget.hours);
                xs.sort_by(f64::total_cmp);
            }
            xs
        }
    };
    Ok(Search {
        params,
        tokens,
        hours,
        max_params: positive("search.max_params", s.max_params)?,
        bytes_per_param: positive("search.bytes_per_param", s.bytes_per_param)?.unwrap_or(16.0),
        until_deadline: s.until_deadline.is_none_or(|f| f.0),
    })
}

pub fn decision(d: &RawDecision, budget: &Budget) -> Result<Decision> {
    let target_loss = positive("decision.target_loss", d.target_loss)?;
    let near_best_within =
        positive("decision.near_best_within", d.near_best_within)?.unwrap_or(NEAR_BEST_WITHIN);
    let min_completion = probability("decision.min_completion", d.min_completion)?.unwrap_or(0.0);
    let pilots = d.pilots.is_some_and(|f| f.0);
    let pilot_noise = positive("decision.pilot_noise", d.pilot_noise)?.unwrap_or(PILOT_NOISE);
    if pilots && budget.gpu_count().is_none() {
        return Err(Error::input(
            "decision.pilots",
            "pilots are priced in hours of the budget's hardware, so they need budget.gpu or budget.peak_tflops, not budget.flops",
        ));
    }
    if pilots && min_completion > 0.0 {
        return Err(Error::input(
            "decision.pilots",
            "pilots re-plan runs that train until the deadline, which decision.min_completion > 0 rules out",
        ));
    }
    let target_confidence =
        probability("decision.target_confidence", d.target_confidence)?.unwrap_or(0.9);
    let inference_tokens = positive("decision.inference_tokens", d.inference_tokens)?;
    let inference_mfu = probability("decision.inference_mfu", d.inference_mfu)?;
    if inference_mfu == Some(0.0) {
        return Err(Error::input(
            "decision.inference_mfu",
            "0 is not allowed; a share in (0, 1]",
        ));
    }
    let inference_batch = d.inference_batch.map(|b| b.0);
    if let Some(b) = inference_batch.filter(|b| !(b.fract() == 0.0 && *b >= 1.0 && *b <= 1e9)) {
        return Err(Error::input(
            "decision.inference_batch",
            format!(
                "{} is not allowed; a whole number of sequences decoded together, from 1 to 1e9",
                crate::error::short(b)
            ),
        ));
    }
    let inference_context = d.inference_context.map(|c| c.0);
    if let Some(c) = inference_context.filter(|c| !(c.fract() == 0.0 && (1.0..=1e7).contains(c))) {
        return Err(Error::input(
            "decision.inference_context",
            format!("{c} is not allowed; tokens each served sequence holds in its KV cache, a whole number from 1 to 1e7"),
        ));
    }
    let kv_head_ratio = d.kv_head_ratio.map(|r| r.0);
    if let Some(r) = kv_head_ratio.filter(|r| !(*r > 0.0 && *r <= 1.0)) {
        return Err(Error::input(
            "decision.kv_head_ratio",
            format!("{r} is not allowed; key-value heads over query heads, in (0, 1] (1: multi-head attention, 8/64 = 0.125: Llama 2 70B's grouped-query attention)"),
        ));
    }
    if kv_head_ratio.is_some() && inference_context.is_none() {
        return Err(Error::input(
            "decision.kv_head_ratio",
            "used only with decision.inference_context (the KV cache it shrinks)",
        ));
    }
    if budget.reserved_hours.is_some() && inference_tokens.is_none() {
        return Err(Error::input(
            "budget.reserved_hours",
            "used only with decision.inference_tokens (lifetime cost is what reserved GPU-hours reduce)",
        ));
    }
    if inference_context.is_some() && inference_tokens.is_none() {
        return Err(Error::input(
            "decision.inference_context",
            "used only with decision.inference_tokens (the lifetime_cost objective)",
        ));
    }
    let frontier_hours = match &d.frontier_hours {
        None => (-3..=3).map(|k| budget.hours * 2f64.powi(k)).collect(),
        Some(given) => {
            let mut v = hours_list("decision.frontier_hours", given)?;
            v.dedup();
            v
        }
    };
    let all = Objective::ALL
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ");
    let mut objectives = match &d.objectives {
        None => {
            let mut v = vec![
                Objective::Expected,
                Objective::P95,
                Objective::Cvar95,
                Objective::MinimaxRegret,
                Objective::NearBest,
            ];
            if target_loss.is_some() {
                v.push(Objective::Target);
            }
            v
        }
        Some(names) if names.is_empty() => {
            return Err(Error::input(
                "decision.objectives",
                format!("[] is not allowed; a non-empty list of {all}"),
            ))
        }
        Some(names) => {
            let mut v = Vec::new();
            for name in names {
                let o = Objective::from_name(&name.0).ok_or_else(|| {
                    // The probability of being exactly best depended on the grid and chose
                    // plans that neighbours beat on every other statistic (MODEL.md §5).
                    let instead = if name.0 == "p_best" {
                        " (replaced by \"near_best\": P(regret ≤ decision.near_best_within))"
                    } else {
                        ""
                    };
                    Error::input(
                        "decision.objectives",
                        format!("{:?} is not allowed{instead}; allowed: {all}", name.0),
                    )
                })?;
                if !v.contains(&o) {
                    v.push(o);
                }
            }
            v
        }
    };
    // Serving a model is a trade of loss against lifetime cost: with a target loss the cheapest
    // plan reaching it is one more answer; without one the frontier (serving.csv and the
    // report) shows the whole trade and nothing has to be guessed.
    if inference_tokens.is_some()
        && target_loss.is_some()
        && !objectives.contains(&Objective::LifetimeCost)
    {
        objectives.push(Objective::LifetimeCost);
    }
    if objectives.contains(&Objective::LifetimeCost) {
        if inference_tokens.is_none() {
            return Err(Error::input(
                "decision.objectives",
                "\"lifetime_cost\" needs decision.inference_tokens (tokens the model will serve)",
            ));
        }
        if target_loss.is_none() {
            return Err(Error::input(
                "decision.objectives",
                "\"lifetime_cost\" needs decision.target_loss (the cheapest plan is chosen among those reaching it); without it serving.csv and the report show loss against lifetime cost for every plan",
            ));
        }
    }
    if inference_tokens.is_some() && budget.gpu_count().is_none() {
        return Err(Error::input(
            "decision.inference_tokens",
            "serving is counted in GPU-hours, so it needs a hardware budget (budget.gpu or budget.peak_tflops), not budget.flops",
        ));
    }
    if objectives.contains(&Objective::Target) && target_loss.is_none() {
        return Err(Error::input(
            "decision.objectives",
            "\"target\" needs decision.target_loss",
        ));
    }
    Ok(Decision {
        objectives,
        min_completion,
        target_loss,
        near_best_within,
        pilots,
        pilot_noise,
        target_confidence,
        inference_tokens,
        inference_mfu,
        inference_batch,
        inference_context,
        kv_head_ratio,
        frontier_hours,
    })
}

pub fn sampling(s: &RawSampling) -> Result<Sampling> {
    let draws = s.draws.map_or(4096, |w| w.0) as usize;
    let seed = s.seed.map_or(42, |w| w.0) as u64;
    let method = match s.method.as_ref().map(|t| t.0.as_str()) {
        None | Some("random") => Method::Random,
        Some("sobol") => Method::Sobol,
        Some(other) => {
            return Err(Error::input(
                "sampling.method",
                format!("{other:?} is not allowed; \"random\" or \"sobol\""),
            ))
        }
    };
    if method == Method::Sobol && draws > crate::distributions::sobol::MAX_POINTS {
        return Err(Error::input(
            "sampling.draws",
            format!(
                "{draws} is not allowed with method \"sobol\"; at most {} (the sequence's length), or use \"random\"",
                crate::distributions::sobol::MAX_POINTS
            ),
        ));
    }
    Ok(Sampling {
        draws,
        seed,
        method,
    })
}
