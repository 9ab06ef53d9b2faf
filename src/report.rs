//! The terminal report: the answer first, in a person's units.

use std::fmt::Write;

use crate::aggregate::{sensitivity, Basis, Recommendation};
use crate::pipeline::RunResult;
use crate::scenario::{Capacity, Objective, Uncertainty};

/// 412M, 9.8B, 1.2T: three significant digits at most.
pub fn si(x: f64) -> String {
    let (v, unit) = match x.abs() {
        a if a >= 1e12 => (x / 1e12, "T"),
        a if a >= 1e9 => (x / 1e9, "B"),
        a if a >= 1e6 => (x / 1e6, "M"),
        a if a >= 1e3 => (x / 1e3, "K"),
        _ => (x, ""),
    };
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{unit}")
}

/// Two significant digits, for standard errors (0.00004, 0.0012).
fn sig2(x: f64) -> String {
    if !(x > 0.0) || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (1 - x.log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

fn hours(h: f64) -> String {
    if h.fract() == 0.0 {
        format!("{h:.0} h")
    } else {
        format!("{h:.1} h")
    }
}

fn plan(r: &Recommendation, show_hours: bool) -> String {
    let trained = &r.tokens_trained;
    let band = |b: &crate::aggregate::Band| {
        if si(b.p05) == si(b.p95) {
            si(b.p50)
        } else {
            format!("{}–{}", si(b.p05), si(b.p95))
        }
    };
    let mut p = if r.until_deadline() {
        let (lo, hi) = (trained.p05 / r.params, trained.p95 / r.params);
        format!(
            "{} params · {}: {} tokens ({} tok/param{})",
            si(r.params),
            deadline_label(show_hours),
            band(trained),
            if format!("{lo:.0}") == format!("{hi:.0}") {
                format!("{lo:.0}")
            } else {
                format!("{lo:.0}–{hi:.0}")
            },
            if si(trained.p05) == si(trained.p95) {
                ""
            } else {
                ", 5–95%"
            }
        )
    } else {
        format!(
            "{} params · {} tokens ({:.0} tok/param)",
            si(r.params),
            si(r.tokens),
            r.tokens / r.params
        )
    };
    if show_hours {
        p += &format!(" · {}", hours(r.hours));
        let used = &r.hours_used;
        if used.p05 < r.hours * (1.0 - 1e-9) {
            p += &format!(" (uses {}–{})", hours_short(used.p05), hours(used.p95));
        }
    }
    if !r.until_deadline() && trained.p05 < r.tokens * (1.0 - 1e-9) {
        p += &format!(" · trains {} tokens", band(trained));
    }
    p
}

fn hours_short(h: f64) -> String {
    let s = hours(h);
    s.trim_end_matches(" h").to_string()
}

/// The human report.
/// The report as printed: its sections in order, each a function of the run.
pub fn render(r: &RunResult) -> String {
    [
        header(r),
        completion_warning(r),
        measure_then_set(r),
        recommended(r),
        bands(r),
        baselines(r),
        doubling(r),
        drivers(r),
        information(r),
        pilots(r),
        other_objectives(r),
        serving(r),
    ]
    .concat()
}

/// A FLOPs budget's total, whose hours are nominal: its plans are shown without hours.
fn flops_budget(r: &RunResult) -> Option<f64> {
    match &r.scenario.budget.capacity {
        Capacity::Flops { flops } => Some(*flops),
        Capacity::Hardware { .. } => None,
    }
}

/// The run's inputs: budget, schedule, law and its uncertainty, observations, the live run, notes.
fn header(r: &RunResult) -> String {
    let s = &r.scenario;
    let mut o = String::new();
    // The header names every input that sets the tokens a plan trains, and the schedule that
    // says what a cut run costs, so a pasted report stands on its own.
    let schedule = match s.training.schedule {
        crate::scenario::Schedule::Wsd => "wsd schedule".to_string(),
        crate::scenario::Schedule::Cosine => {
            format!("cosine schedule to {}", s.training.final_lr_fraction)
        }
    };
    let budget = match &s.budget.capacity {
        Capacity::Hardware { gpu, count, .. } => format!(
            "{count} × {gpu} · {} · MFU {} · goodput {} · {schedule}",
            hours(s.budget.hours),
            s.budget.mfu.describe(),
            s.budget.goodput.describe()
        ),
        Capacity::Flops { flops } => format!("{flops:.3e} FLOPs · {schedule}"),
    };
    let _ = writeln!(
        o,
        "{}  ·  {budget} · {} draws · {} ({})",
        s.name,
        r.draws.len(),
        r.backend,
        r.adapter
    );
    if s.law.illustrative {
        let _ = writeln!(
            o,
            "law: {} — ILLUSTRATIVE, not fitted to data ({})",
            s.law.preset, s.law.source
        );
    } else {
        match &s.law.draws_source {
            // The draws are the law: their file (and the runs behind them) are its source.
            Some(from) => {
                let _ = writeln!(o, "law: {from}");
            }
            None => {
                let _ = writeln!(o, "law: {} ({})", s.law.preset, s.law.source);
            }
        }
    }
    if let Some(m) = s.law.shape.embedding {
        // The law counts no embeddings (MODEL.md §1): say what it sees of the first plan.
        if let Some(rec) = r.summary.recommendations.first() {
            let _ = writeln!(
                o,
                "  P counts a tied {}-token embedding; {} sees the non-embedding N: {} of the plan's {}",
                m.vocabulary.unwrap_or(f64::NAN),
                s.law.preset,
                si(m.non_embedding(rec.params)),
                si(rec.params)
            );
        }
    }
    let varied: Vec<String> = s
        .law
        .coefficients
        .iter()
        .filter(|c| c.overridden && !c.dist.is_fixed())
        .map(|c| format!("{} ~ {}", c.coeff, c.dist.describe()))
        .collect();
    let group = match &s.law.uncertainty {
        Uncertainty::None => None,
        Uncertainty::Mvn(m) => Some(format!(
            "joint normal over {}",
            m.names
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Uncertainty::Draws { source, count, .. } => {
            Some(format!("{count} bootstrap rows resampled from {source}"))
        }
    };
    let group = if s.law.mixture.len() > 1 {
        let each: Vec<String> = s
            .law
            .mixture
            .iter()
            .map(|m| {
                format!(
                    "{} {}",
                    m.law.preset,
                    match &m.law.uncertainty {
                        Uncertainty::None => "at its point values".to_string(),
                        Uncertainty::Mvn(_) => "with its joint normal".to_string(),
                        Uncertainty::Draws { count, .. } => format!("with {count} bootstrap rows"),
                    }
                )
            })
            .collect();
        Some(format!(
            "which law is itself uncertain: {}",
            each.join("; ")
        ))
    } else {
        group
    };
    let parts: Vec<String> = group.into_iter().chain(varied).collect();
    let _ = writeln!(
        o,
        "law uncertainty: {}",
        if parts.is_empty() {
            "none (point values)".to_string()
        } else {
            parts.join("; ")
        }
    );
    o.push_str(&observations(r));
    o.push_str(&live_run(r));
    for note in &r.notes {
        let _ = writeln!(o, "note: {note}");
    }
    o
}

/// When no plan meets `min_completion`.
fn completion_warning(r: &RunResult) -> String {
    let s = &r.scenario;
    let sum = &r.summary;
    let mut o = String::new();
    if !sum.min_completion_met {
        let _ = writeln!(o, "warning: no configuration completes in ≥{:.0}% of draws; objectives use every feasible configuration", s.decision.min_completion * 100.0);
    }
    o
}

/// The first objective's plan: its loss and band, where it was refined from, the fit's range,
/// what `min_completion` costs.
fn recommended(r: &RunResult) -> String {
    let s = &r.scenario;
    let sum = &r.summary;
    let timed = flops_budget(r).is_none();
    let completion = if s.decision.min_completion > 0.0 {
        format!(", ≥{:.0}% completion", s.decision.min_completion * 100.0)
    } else {
        String::new()
    };
    let mut o = String::new();
    if let Some(first) = sum.recommendations.first() {
        let objective = first
            .objective
            .objective()
            .expect("recommendations come from the scenario's objectives");
        let st = &first.stats;
        let _ = writeln!(o, "recommended ({}{completion}):", objective.describe());
        let _ = writeln!(o, "  {}", plan(first, timed));
        let _ = writeln!(
            o,
            "  loss {:.4} ± {} (90% band {:.3}–{:.3}) · {}",
            st.loss_mean,
            sig2(st.loss_se),
            st.loss_p05,
            st.loss_p95,
            completes(first, timed)
        );
        if first.grid.params != first.params
            || first.grid.tokens != first.tokens
            || first.grid.hours != first.hours
        {
            let _ = writeln!(
                o,
                "  refined off the grid from {} (loss {:.4})",
                short_plan_at(
                    first.grid.params,
                    first.grid.tokens,
                    first.grid.hours,
                    timed
                ),
                first.grid.loss_mean
            );
        }
        for f in &sum.fit_checks {
            let range = |(lo, hi): (f64, f64), flops: bool| {
                let show = |x: f64| if flops { format!("{x:.1e}") } else { si(x) };
                match (lo > 0.0, hi.is_finite()) {
                    (true, true) => format!("{}–{}", show(lo), show(hi)),
                    (false, true) => format!("≤{}", show(hi)),
                    (true, false) => format!("≥{}", show(lo)),
                    (false, false) => "any".to_string(),
                }
            };
            if f.outside.is_empty() {
                let _ = writeln!(
                    o,
                    "  inside the runs {} was fitted to ({} params, {} tokens, {} FLOPs): {} params, {} tokens, {:.1e} FLOPs",
                    f.preset,
                    range(f.range.params, false),
                    range(f.range.tokens, false),
                    range(f.range.flops, true),
                    si(f.params),
                    si(f.tokens),
                    6.0 * f.params * f.tokens
                );
            } else {
                let what: Vec<String> = f
                    .outside
                    .iter()
                    .map(|(axis, v, lo, hi)| {
                        let flops = *axis == "FLOPs";
                        let show = |x: f64| if flops { format!("{x:.1e}") } else { si(x) };
                        if v > hi {
                            format!("{axis} {} > {}", show(*v), show(*hi))
                        } else {
                            format!("{axis} {} < {}", show(*v), show(*lo))
                        }
                    })
                    .collect();
                let _ = writeln!(
                    o,
                    "  warning: the plan extrapolates beyond the runs {} was fitted to: {}",
                    f.preset,
                    what.join(", ")
                );
            }
        }
        if let Some(c) = &sum.constraint_cost {
            let _ = writeln!(
                o,
                "  min_completion {:.0}% binds: without it {} has {:.4} lower expected loss",
                s.decision.min_completion * 100.0,
                short_plan(&c.unconstrained, timed),
                c.loss_mean
            );
        }
    }
    o
}

/// The per-draw optimum's 5–95% band, and each mixture member's.
fn bands(r: &RunResult) -> String {
    let sum = &r.summary;
    let mut o = String::new();
    let b = &sum.bands;
    let _ = writeln!(
        o,
        "oracle allocation band (5–95%): {}–{} params · {}–{} tokens · {:.0}–{:.0} tok/param",
        si(b.params.p05),
        si(b.params.p95),
        si(b.tokens.p05),
        si(b.tokens.p95),
        b.tokens_per_param.p05,
        b.tokens_per_param.p95
    );
    for m in &sum.member_bands {
        let b = &m.bands;
        let _ = writeln!(
            o,
            "  if {} is right ({:.0}% of draws): {}–{} params · {:.0}–{:.0} tok/param",
            m.preset,
            100.0 * m.weight,
            si(b.params.p05),
            si(b.params.p95),
            b.tokens_per_param.p05,
            b.tokens_per_param.p95
        );
    }
    o
}

/// The plan against the fixed-rule baselines, in nats and compute.
fn baselines(r: &RunResult) -> String {
    let s = &r.scenario;
    let sum = &r.summary;
    let timed = flops_budget(r).is_none();
    let mut o = String::new();
    let slope = loss_per_ln_compute(&sum.frontier, s.budget.hours);
    for (b, gain) in sum.baselines.iter().zip(&sum.baseline_gains) {
        let who = match b.objective {
            Basis::TwentyTokensPerParam => "20 tok/param rule",
            _ => "point-estimate plan",
        };
        let _ = writeln!(
            o,
            "vs {who} ({}, {}): the plan's expected loss is {} ({} ± {}{})",
            short_plan(b, timed),
            completes(b, timed),
            if gain.loss_mean >= 0.0 {
                "lower"
            } else {
                "HIGHER"
            },
            sig2(gain.loss_mean.abs()),
            sig2(gain.se),
            compute_text(gain.loss_mean.abs(), slope)
        );
    }
    o
}

/// What doubling the budget buys.
fn doubling(r: &RunResult) -> String {
    let s = &r.scenario;
    let sum = &r.summary;
    let flops_budget = flops_budget(r);
    let mut o = String::new();
    if let Some(d) = &sum.doubling {
        let c = &d.loss_opt_change;
        let _ = writeln!(
            o,
            "doubling the budget to {}: best loss {:+.4} (90% band {:+.4} to {:+.4}), median optimal size {} → {}",
            match flops_budget {
                Some(f) => format!("{:.3e} FLOPs", f * d.to_hours / s.budget.hours),
                None => hours(d.to_hours),
            },
            c.p50,
            c.p05,
            c.p95,
            si(d.params_p50_from),
            si(d.params_p50_to)
        );
    }
    o
}

/// What drives the optimal size and the plan's loss (Sobol indices, else rank correlations).
fn drivers(r: &RunResult) -> String {
    let sum = &r.summary;
    let mut o = String::new();
    let drivers = |key: fn(&sensitivity::Row) -> f64| {
        sensitivity::strongest(&sum.sensitivity, key, 3)
            .iter()
            .map(|r| format!("{} (ρ = {:+.2})", r.input, key(r)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !sum.variance.is_empty() {
        let top = |key: fn(&crate::aggregate::indices::GroupIndices) -> f64| {
            // An output that does not vary has no indices (NaN): nothing drives it.
            let mut v: Vec<_> = sum
                .variance
                .iter()
                .map(|g| (g.group.as_str(), key(g)))
                .filter(|(_, x)| x.is_finite())
                .collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1));
            let top: Vec<String> = v
                .iter()
                .take(3)
                .map(|(g, x)| format!("{g} {}", index_text(*x)))
                .collect();
            if top.is_empty() {
                "none (it does not vary across draws)".to_string()
            } else {
                top.join(", ")
            }
        };
        let _ = writeln!(
            o,
            "what drives the optimal size (total Sobol index): {} · the plan's loss: {}",
            top(|g| g.params_opt.total.value),
            top(|g| g.loss_plan.total.value)
        );
    } else if !sum.sensitivity.is_empty() {
        let or_none = |d: String| {
            if d.is_empty() {
                "none (it does not vary across draws)".to_string()
            } else {
                d
            }
        };
        let _ = writeln!(
            o,
            "strongest drivers of the optimal size: {} · of the plan's loss: {}",
            or_none(drivers(|r| r.rho_params_opt)),
            or_none(drivers(|r| r.rho_loss_recommended))
        );
    }
    o
}

/// The value of information: what is worth knowing before choosing.
fn information(r: &RunResult) -> String {
    let sum = &r.summary;
    let mut o = String::new();
    if let Some((all, groups)) = sum.information.split_first() {
        let mut g: Vec<_> = groups.iter().collect();
        g.sort_by(|a, b| b.value.total_cmp(&a.value));
        let parts: Vec<String> = g
            .iter()
            .map(|v| format!("{} {}", v.group, sig2(v.value.max(0.0))))
            .collect();
        let _ = writeln!(
            o,
            "worth knowing before you choose (expected loss it saves): {} · everything (EVPI) {} ± {}",
            parts.join(", "),
            sig2(all.value),
            sig2(all.se)
        );
    }
    o
}

/// With `decision.pilots`: the design worth running first, or that none pays and why.
fn pilots(r: &RunResult) -> String {
    let Some(p) = &r.summary.pilots else {
        return String::new();
    };
    let slope = loss_per_ln_compute(&r.summary.frontier, r.scenario.budget.hours);
    let design = |row: &crate::aggregate::pilots::Row| {
        let sizes: Vec<String> = row
            .pilots
            .iter()
            .map(|x| format!("{} params on {} tokens", si(x.params), si(x.tokens)))
            .collect();
        format!(
            "{} run{} ({}; {}% of the compute, {} h)",
            row.runs,
            if row.runs == 1 { "" } else { "s" },
            sizes.join(", "),
            sig2(100.0 * row.share),
            sig2(row.hours_mean)
        )
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "pilots first? (runs of equal compute, {} apart in size, each final loss observed ± {}, then the size re-chosen in the hours left; pilots.csv): deciding now trains {} params",
        crate::aggregate::pilots::SIZE_RATIOS
            .iter()
            .map(|r| format!("{r}×"))
            .collect::<Vec<_>>()
            .join(" or "),
        p.noise,
        si(p.decide_now_params)
    );
    let evpi = format!(
        "(knowing everything before choosing the size would save {} ± {})",
        sig2(p.evpi),
        sig2(p.evpi_se)
    );
    match p.best.map(|i| &p.rows[i]) {
        Some(best) => {
            let _ = writeln!(
                o,
                "  {}: saves {} ± {}{} over deciding now {evpi}",
                design(best),
                sig2(best.value),
                sig2(best.se),
                compute_text(best.value, slope)
            );
        }
        None => match p.rows.iter().max_by(|a, b| a.value.total_cmp(&b.value)) {
            Some(top) => {
                let _ = writeln!(
                    o,
                    "  none pays: the best of {} designs, {}, {} {} ± {} against deciding now {evpi}",
                    p.rows.len(),
                    design(top),
                    if top.value >= 0.0 { "saves" } else { "costs" },
                    sig2(top.value.abs()),
                    sig2(top.se)
                );
            }
            None => {
                let _ = writeln!(o, "  no design fits in half the hours of every draw");
            }
        },
    }
    o
}

/// The other objectives' plans, and those no plan could meet.
fn other_objectives(r: &RunResult) -> String {
    let s = &r.scenario;
    let sum = &r.summary;
    let timed = flops_budget(r).is_none();
    let mut o = String::new();
    if sum.recommendations.len() > 1 {
        let _ = writeln!(o, "other objectives:");
        let cost = crate::aggregate::lifetime::Cost::new(s, &r.draws);
        for rec in &sum.recommendations[1..] {
            let lifetime = if rec.lifetime_gpu_hours.is_finite() {
                // With a decoding batch, the step time: each sequence's latency per token.
                let step = cost
                    .as_ref()
                    .and_then(|c| c.step_seconds(rec.params))
                    .filter(|_| rec.objective == Basis::Objective(Objective::LifetimeCost))
                    .map(|t| {
                        format!(
                            " ({:.3} ms per token per sequence at batch {})",
                            t * 1e3,
                            s.decision.inference_batch.unwrap_or(f64::NAN)
                        )
                    })
                    .unwrap_or_default();
                format!(" · lifetime {:.0} GPU-h{step}", rec.lifetime_gpu_hours)
            } else {
                String::new()
            };
            // ε is the objective's own definition, so its line states it.
            let near = if rec.objective == Basis::Objective(Objective::NearBest) {
                format!(
                    " · within {} of each draw's best in {} of draws",
                    crate::error::short(s.decision.near_best_within),
                    share(rec.stats.p_near_best)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "  {:<15} {} · loss {:.4}{}{near}{lifetime}",
                rec.objective,
                plan(rec, timed),
                rec.stats.loss_mean,
                if rec.until_deadline() {
                    String::new()
                } else {
                    format!(" · completes {}", share(rec.stats.p_complete))
                }
            );
        }
    }
    for (objective, why) in &sum.unmet {
        let _ = writeln!(o, "  {objective:<15} none: {why}");
    }
    o
}

/// When the scenario serves tokens: expected loss against lifetime GPU-hours along the plans
/// no other beats on both (serving.csv), with the `lifetime_cost` plan (the point `target_loss`
/// picks) and the first objective's plan placed on it, and what a model 1.5× smaller or larger
/// than the lifetime plan trades. Empty otherwise.
fn serving(r: &RunResult) -> String {
    let s = &r.scenario;
    let sum = &r.summary;
    let (Some(cost), Some(served)) = (
        crate::aggregate::lifetime::Cost::new(s, &r.draws),
        s.decision.inference_tokens,
    ) else {
        return String::new();
    };
    let front = &sum.serving;
    if front.is_empty() {
        return String::new();
    }
    let usd = |gpu_hours: f64| {
        s.budget
            .usd_per_gpu_hour
            .map(|u| format!(" · ${}", si(u * gpu_hours)))
            .unwrap_or_default()
    };
    let reserved = cost.reserved_gpu_hours();
    let lifetime_plan = sum
        .recommendations
        .iter()
        .find(|x| x.objective == Basis::Objective(Objective::LifetimeCost));
    // The frontier is read around the plan a user would pick: the lifetime plan, else the
    // first objective's.
    let Some(anchor) = lifetime_plan.or(sum.recommendations.first()) else {
        return String::new();
    };
    let nearest = |target: f64| nearest_size(front.iter(), target);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "serving {} tokens: expected loss against lifetime GPU-hours (training + serving{}) along the {} plans no other beats on both (serving.csv), around the {} plan:",
        si(served),
        if reserved > 0.0 {
            format!(" − {reserved:.0} reserved")
        } else {
            String::new()
        },
        front.len(),
        anchor.objective
    );
    let line =
        |params: f64, tokens: f64, hours: f64, loss: f64, train: f64, serve: f64, total: f64| {
            format!(
            "{:<40} loss {loss:.4} · {total:.0} GPU-h ({train:.0} training + {serve:.0} serving){}",
            short_plan_at(params, tokens, hours, true),
            usd(total)
        )
        };
    // (lifetime GPU-hours, line, mark): the frontier's plans nearest 1/2, 1/1.5, 1.5 and 2
    // times the anchor's size, then the refined plans of lifetime_cost and the first objective.
    let mut picked: Vec<&crate::aggregate::serving::Point> = Vec::new();
    for f in [0.5, 1.0 / 1.5, 1.5, 2.0] {
        if let Some(p) = nearest(anchor.params * f) {
            let far = (p.params / anchor.params).ln().abs() > 0.1;
            if far && !picked.iter().any(|q| q.index == p.index) {
                picked.push(p);
            }
        }
    }
    let mut rows: Vec<(f64, String, String)> = picked
        .iter()
        .map(|p| {
            (
                p.lifetime_gpu_hours,
                line(
                    p.params,
                    p.tokens,
                    p.hours,
                    p.loss_mean,
                    p.training_gpu_hours,
                    p.inference_gpu_hours,
                    p.lifetime_gpu_hours,
                ),
                String::new(),
            )
        })
        .collect();
    let first = sum.recommendations.first();
    let mut marked = Vec::new();
    if let Some(l) = lifetime_plan {
        marked.push((
            l,
            format!(
                "← lifetime_cost: the cheapest reaching loss {} in {:.0}% of draws",
                s.decision.target_loss.unwrap_or(f64::NAN),
                100.0 * s.decision.target_confidence
            ),
        ));
    }
    if let Some(f) = first.filter(|f| f.objective != Basis::Objective(Objective::LifetimeCost)) {
        marked.push((f, format!("← {}", f.objective)));
    }
    for (rec, mark) in &marked {
        let total = rec.lifetime_gpu_hours;
        rows.push((
            total,
            line(
                rec.params,
                rec.tokens,
                rec.hours,
                rec.stats.loss_mean,
                cost.training_gpu_hours(&rec.stats),
                cost.inference_gpu_hours(rec.params),
                total,
            ),
            mark.clone(),
        ));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, text, mark) in rows {
        let _ = writeln!(
            o,
            "  {text}{}",
            if mark.is_empty() {
                String::new()
            } else {
                format!("  {mark}")
            }
        );
    }
    // Without a target loss there is no lifetime plan: the trade is read against the first
    // objective's plan, so the user sees it without choosing a target first.
    let label = if lifetime_plan.is_some() {
        "lifetime".to_string()
    } else {
        anchor.objective.to_string()
    };
    if let Some(trade) = serving_trade(front, &sum.serving_sizes, anchor, &label) {
        let _ = writeln!(o, "  {trade}");
    }
    o
}

/// The point of `pool` whose size is nearest `target` in ln P (the first of equals).
fn nearest_size<'a>(
    pool: impl Iterator<Item = &'a crate::aggregate::serving::Point>,
    target: f64,
) -> Option<&'a crate::aggregate::serving::Point> {
    pool.min_by(|a, b| {
        (a.params / target)
            .ln()
            .abs()
            .total_cmp(&(b.params / target).ln().abs())
    })
}

/// What a model about 1.5× smaller and 1.5× larger than the plan `l` (named `label`) trades
/// against it, in expected loss and lifetime GPU-hours: the frontier's model on that side, else
/// (within a budget, a model past the optimum loses on both) the best plan of that size, said to
/// be off the frontier; None when neither side has one.
fn serving_trade(
    front: &[crate::aggregate::serving::Point],
    sizes: &[crate::aggregate::serving::Point],
    l: &Recommendation,
    label: &str,
) -> Option<String> {
    type Side = fn(f64, f64) -> bool;
    let nearest = |pool: &'_ [crate::aggregate::serving::Point], target: f64, side: Side| {
        nearest_size(pool.iter().filter(|p| side(p.params, l.params)), target).copied()
    };
    let trade = |p: crate::aggregate::serving::Point, off: bool| {
        let dc = p.lifetime_gpu_hours - l.lifetime_gpu_hours;
        // A plan that reserved hours cover costs 0: no share of it.
        let share = if l.lifetime_gpu_hours > 0.0 {
            format!(" ({:+.0}%)", 100.0 * dc / l.lifetime_gpu_hours)
        } else {
            String::new()
        };
        format!(
            "{} params: {:+.4} loss, {:+.0} GPU-h{share}{}",
            si(p.params),
            p.loss_mean - l.stats.loss_mean,
            dc,
            if off {
                " (off the frontier: a cheaper plan has a lower loss)"
            } else {
                ""
            }
        )
    };
    // Only models that differ in size: with reserved hours the frontier may start at the plan
    // (smaller models then save nothing).
    let side = |target: f64, side: Side| {
        nearest(front, target, side)
            .map(|p| trade(p, false))
            .or_else(|| nearest(sizes, target, side).map(|p| trade(p, true)))
    };
    let smaller = side(l.params / 1.5, |a, b| a < b / 1.2);
    let larger = side(l.params * 1.5, |a, b| a > b * 1.2);
    let parts: Vec<String> = [("smaller", smaller), ("larger", larger)]
        .into_iter()
        .filter_map(|(w, t)| t.map(|t| format!("{w}, {t}")))
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "against the {label} plan ({} params), a model about 1.5× {}",
            si(l.params),
            parts.join("; 1.5× ")
        )
    })
}

/// What the draws were conditioned on and what it says of each observed run's end
/// (docs/MODEL.md §8): empty without `[observations]`.
fn observations(r: &RunResult) -> String {
    let (Some(o), Some(p)) = (&r.scenario.observations, &r.posterior) else {
        return String::new();
    };
    let mut out = String::new();
    let rows: usize = p.runs.iter().map(|x| x.rows).sum();
    let used: usize = p.runs.iter().map(|x| x.rows_used).sum();
    let mut what = Vec::new();
    if !p.runs.is_empty() {
        what.push(format!(
            "{rows} loss rows of {} run{} ({used} used)",
            p.runs.len(),
            if p.runs.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(m) = o.mfu {
        what.push(format!("MFU {} ± {}", m.value, m.sd));
    }
    if let Some(m) = o.goodput {
        what.push(format!("goodput {} ± {}", m.value, m.sd));
    }
    let _ = writeln!(
        out,
        "conditioned on {}: {} tempering step{}, smallest effective sample size {:.0} of {}, from {} prior draws{}",
        what.join(", "),
        p.stages.len(),
        if p.stages.len() == 1 { "" } else { "s" },
        p.min_ess(),
        p.draws.len(),
        p.eve_count(),
        if o.level_free {
            " (the law's level learned from your runs)"
        } else {
            ""
        }
    );
    for w in &p.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    for x in &p.runs {
        let _ = writeln!(
            out,
            "  {}: {} params, last {:.4} at {} tokens → {:.4} at its planned {} (90% {:.4}–{:.4}; before conditioning {:.4}, {:.4}–{:.4})",
            x.run,
            si(x.params),
            x.last_loss,
            si(x.last_tokens),
            x.mean,
            si(x.planned_tokens),
            x.p05,
            x.p95,
            x.prior_mean,
            x.prior_p05,
            x.prior_p95
        );
    }
    out
}

/// The live run's options and what limits it (docs/MODEL.md §8): empty without
/// `observations.live`.
fn live_run(r: &RunResult) -> String {
    let Some(p) = &r.replan else {
        return String::new();
    };
    let mut out = String::new();
    let best = &p.choices[p.recommended];
    let name = |c: &crate::aggregate::replan::Choice| c.name.replace('_', " ");
    let _ = writeln!(
        out,
        "the live run ({}: {} params, {} tokens in {}, {} left): {}",
        p.run,
        si(p.params),
        si(p.tokens_so_far),
        hours(p.hours_so_far),
        hours(p.hours_left),
        if p.recommended == 0 {
            "continue as planned (no option beats it by more than twice its standard error)"
                .to_string()
        } else {
            format!(
                "{} (saves {} ± {} in expected loss against continuing)",
                name(best),
                sig2(best.gain),
                sig2(best.gain_se)
            )
        }
    );
    let planned = r
        .posterior
        .as_ref()
        .and_then(|post| post.runs.iter().find(|x| x.run == p.run))
        .map(|x| x.planned_tokens);
    for (i, c) in p.choices.iter().enumerate() {
        let tokens = if c.tokens_p95 > c.tokens_p05 * 1.001 {
            format!("{}–{} tokens (5–95%)", si(c.tokens_p05), si(c.tokens_p95))
        } else {
            format!("{} tokens", si(c.tokens_p50))
        };
        let what = if c.name == "restart" {
            format!("at {} params until the deadline, {tokens}", si(c.params))
        } else if c.name == "continue" && planned.is_some_and(|t| c.tokens_p05 < t * 0.999) {
            // Time, not its plan, ends the run: the third thing that can limit it (after its
            // size and its tokens, the stage line).
            let t = planned.unwrap_or(0.0);
            let share = if c.tokens_p95 < t * 0.999 {
                "cut by the deadline short of its planned"
            } else {
                "in some draws cut by the deadline short of its planned"
            };
            format!("to {tokens}, {share} {}", si(t))
        } else {
            format!("to {tokens}")
        };
        let _ = writeln!(
            out,
            "  {}{:<10} {what}: loss {:.4} (90% {:.4}–{:.4}){}",
            if i == p.recommended { "→ " } else { "  " },
            name(c),
            c.mean,
            c.p05,
            c.p95,
            if i == 0 {
                String::new()
            } else {
                format!(
                    " · {} {} ± {} against continuing",
                    if c.gain >= 0.0 { "saves" } else { "costs" },
                    sig2(c.gain.abs()),
                    sig2(c.gain_se)
                )
            }
        );
    }
    let st = &p.stage;
    let _ = writeln!(
        out,
        "  stage: limited by its {} in {:.0}% of draws (another e-fold of {} lowers the loss more than one of {}); above E: {:.3} from size, {:.3} from tokens, {:.3} of anneal still to take",
        if st.data_limited >= 0.5 { "tokens" } else { "size" },
        100.0 * st.data_limited.max(1.0 - st.data_limited),
        if st.data_limited >= 0.5 { "tokens" } else { "parameters" },
        if st.data_limited >= 0.5 { "parameters" } else { "tokens" },
        st.params_term,
        st.data_term,
        st.anneal_left
    );
    out
}

/// The report as Markdown for a planning document (report.md in the run folder): the scenario's
/// name and question, the report as printed (`text`, from [`render`]), the charts the folder
/// holds, and how to reproduce.
pub fn markdown(r: &RunResult, text: &str, charts: &[String], command: &str) -> String {
    let s = &r.scenario;
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", s.name);
    if !s.description.is_empty() {
        let _ = writeln!(o, "{}\n", s.description);
    }
    let _ = writeln!(o, "```text\n{text}```\n");
    for c in charts {
        let _ = writeln!(o, "![{c}]({c})\n");
    }
    let _ = writeln!(
        o,
        "Reproduce: `{command}` (scalerisk {}; the resolved scenario, seed and draws are in run.json).",
        env!("CARGO_PKG_VERSION")
    );
    o
}

/// How fast the expected loss falls with compute at the budget: d L / d ln H of the frontier's
/// expected-loss plans, a central difference over the levels just below and above the budget's
/// hours (a FLOPs budget scales with the hours, so this is d L / d ln C). None without levels on
/// both sides or when the loss does not fall.
fn loss_per_ln_compute(levels: &[crate::aggregate::frontier::Level], hours: f64) -> Option<f64> {
    let below = levels
        .iter()
        .filter(|l| l.budget_hours < hours && l.robust_loss_mean.is_finite())
        .max_by(|a, b| a.budget_hours.total_cmp(&b.budget_hours))?;
    let above = levels
        .iter()
        .filter(|l| l.budget_hours > hours && l.robust_loss_mean.is_finite())
        .min_by(|a, b| a.budget_hours.total_cmp(&b.budget_hours))?;
    let slope = (above.robust_loss_mean - below.robust_loss_mean)
        / (above.budget_hours / below.budget_hours).ln();
    (slope < 0.0).then_some(-slope)
}

/// A loss difference as the compute that buys it at this budget: exp(g / slope) − 1.
fn compute_equivalent(gain: f64, slope: f64) -> f64 {
    (gain / slope).exp_m1()
}

/// ", ≈ 6.5% more compute" for a difference of `gain` nats, or nothing without a slope.
fn compute_text(gain: f64, slope: Option<f64>) -> String {
    // Past 100× the budget the frontier's local slope says nothing: say only that much.
    match slope.map(|b| compute_equivalent(gain, b)) {
        Some(x) if x <= 99.0 => format!(", ≈ {} more compute", percent(x)),
        Some(x) if x > 99.0 => ", more than 100× the compute".to_string(),
        _ => String::new(),
    }
}

/// A share as a percentage with two significant digits.
fn percent(x: f64) -> String {
    format!("{}%", sig2(100.0 * x))
}

/// A Sobol index for the report: a share of variance lies in [0, 1], so an estimate past a
/// bound (Monte Carlo error, e.g. a total index of 1.02 for an input that explains nearly
/// everything) is shown at the bound with ≈; run.json keeps the estimate and its interval.
fn index_text(x: f64) -> String {
    if x > 1.0 {
        "≈1.00".to_string()
    } else if x < 0.0 {
        "≈0.00".to_string()
    } else {
        format!("{x:.2}")
    }
}

/// The measure-then-set policy, first where it applies (a cosine run on hardware): the best
/// policy leads, against the fixed cycle of the expected-loss plan and perfect knowledge.
fn measure_then_set(r: &RunResult) -> String {
    let mut o = String::new();
    let Some(m) = &r.summary.policy else {
        return o;
    };
    let p = &m.policy;
    let _ = writeln!(o, "best policy (cosine): measure, then set the cycle");
    let _ = writeln!(
        o,
        "  {} params · {} · measure tokens/s over the first {:.0} min, then set the cycle to {:.3} × what that rate trains in the hours left ({}–{} tokens, 5–95%)",
        si(p.params),
        hours(p.hours),
        m.warmup_minutes,
        p.multiplier,
        si(p.tokens.p05),
        si(p.tokens.p95)
    );
    let _ = writeln!(
        o,
        "  loss {:.4} ± {} (90% band {:.3}–{:.3}) · {} ± {} better than the fixed cycle below · training exactly to capacity: {:.4}",
        p.loss_mean,
        sig2(p.loss_se),
        p.loss_p05,
        p.loss_p95,
        sig2(m.gain.loss_mean),
        sig2(m.gain.se),
        m.to_capacity
    );
    let b = &m.blind_overshoot;
    let _ = writeln!(
        o,
        "  the fixed cycle overshoots the run by {:.2}× (median); by more than 1.25× in {:.0}% of draws, 1.5× in {:.1}% (Hoffmann et al. 2022 App. B: clear drops beyond 1.25×)",
        b.median,
        b.above_1_25 * 100.0,
        b.above_1_5 * 100.0
    );
    if !m.versus.is_empty() {
        // Shares (near_best, target) are ranked negated: print them as shares.
        let shown = |o: Objective, x: f64| match o {
            Objective::NearBest | Objective::Target => share(-x),
            Objective::MinimaxRegret => format!("{x:.5}"),
            _ => format!("{x:.4}"),
        };
        let parts: Vec<String> = m
            .versus
            .iter()
            .map(|v| {
                format!(
                    "{} {} at {} params, c {:.3} (plan {})",
                    v.objective.name(),
                    shown(v.objective, v.policy),
                    si(v.params),
                    v.multiplier,
                    shown(v.objective, v.plan)
                )
            })
            .collect();
        let better = m.versus.iter().filter(|v| v.policy < v.plan).count();
        let _ = writeln!(
            o,
            "  the best policy under each objective, against its plan: {} · better on {better} of {}",
            parts.join(" · "),
            m.versus.len()
        );
    }
    if m.regret_mean.is_finite() {
        let _ = writeln!(
            o,
            "  knowing everything would still save {} after measuring ({} for the fixed cycle: mean regret against each draw's best plan)",
            sig2(m.regret_mean),
            sig2(m.blind_regret_mean)
        );
    }
    o
}

fn short_plan(r: &Recommendation, hardware: bool) -> String {
    let s = short_plan_at(r.params, r.tokens, r.hours, hardware);
    // Hours only where they matter: the plan's own line shows them.
    match s.rsplit_once(" · ") {
        Some((head, _)) if hardware => head.to_string(),
        _ => s,
    }
}

/// What D = ∞ means: the deadline of a hardware budget, the end of a FLOPs budget.
fn deadline_label(hardware: bool) -> &'static str {
    if hardware {
        "until the deadline"
    } else {
        "until the budget is spent"
    }
}

fn short_plan_at(params: f64, tokens: f64, t: f64, hardware: bool) -> String {
    let d = if tokens.is_infinite() {
        deadline_label(hardware).to_string()
    } else {
        format!("{} tokens", si(tokens))
    };
    let h = if hardware {
        format!(" · {}", hours(t))
    } else {
        String::new()
    };
    format!("{} params · {d}{h}", si(params))
}

/// "completes in 51% of draws", or what an until-the-deadline plan does instead.
fn completes(r: &Recommendation, hardware: bool) -> String {
    if r.until_deadline() {
        format!("trains {} in every draw", deadline_label(hardware))
    } else {
        format!("completes in {} of draws", share(r.stats.p_complete))
    }
}

/// A share of draws as a percentage that says "under 1%" rather than a rounded "0%" for a
/// share that is small but not nothing.
fn share(p: f64) -> String {
    if p > 0.0 && p < 0.005 {
        "under 1%".to_string()
    } else {
        format!("{:.0}%", p * 100.0)
    }
}

#[cfg(test)]
mod index_tests {
    use super::{compute_equivalent, index_text, share};

    /// A share that is small but not nothing never reads "0%".
    #[test]
    fn small_shares_are_not_zero() {
        assert_eq!(share(1.0 / 8192.0), "under 1%");
        assert_eq!(share(0.0), "0%");
        assert_eq!(share(0.5123), "51%");
    }

    /// On a log-linear frontier L = a − b·ln H, a difference g equals exp(g/b) − 1 more compute:
    /// one doubling's difference, b·ln 2, is exactly +100%.
    #[test]
    fn a_doubling_is_twice_the_compute() {
        let b = 0.1055 / std::f64::consts::LN_2;
        assert!((compute_equivalent(0.1055, b) - 1.0).abs() < 1e-12);
        assert!((compute_equivalent(0.0, b)).abs() < 1e-15);
        // 0.0096 nats at 0.1055 per doubling: 2^(0.0096/0.1055) − 1 = 6.51%.
        assert!((compute_equivalent(0.0096, b) - 0.06511).abs() < 1e-4);
    }

    #[test]
    fn indices_past_a_bound_show_at_the_bound() {
        assert_eq!(index_text(0.857), "0.86");
        assert_eq!(index_text(1.02), "≈1.00");
        assert_eq!(index_text(-0.013), "≈0.00");
        assert_eq!(index_text(1.0), "1.00");
        assert_eq!(index_text(0.0), "0.00");
    }
}
