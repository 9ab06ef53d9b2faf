//! A scenario file → [`Scenario`]: read, apply `--set`, deserialize the typed shape (`raw`),
//! validate each section (`budget`, `law`, `search`), then the whole-scenario checks
//! (something feasible, a size that can finish, a finite loss on the grid).

use std::path::Path;

use toml::Table;

use super::raw::{self, RawScenario};
use super::*;
use crate::error::{short, Error, Result};

/// Read, override (`--set`) and validate a scenario file.
pub fn from_path(path: &Path, sets: &[String]) -> Result<Scenario> {
    from_path_with_losses(path, sets, None)
}

/// [`from_path`] with the losses of `[observations]` given in memory ([`from_str_with_losses`]).
pub fn from_path_with_losses(
    path: &Path,
    sets: &[String],
    losses: Option<&[LossRecord]>,
) -> Result<Scenario> {
    let text = super::read_text(path, super::MAX_SCENARIO_BYTES, "scenario")?;
    let base = path.parent().unwrap_or(Path::new("."));
    from_str_with_losses(&text, base, sets, losses)
}

/// Parse and validate scenario text; relative files resolve against `base`.
pub fn from_str(text: &str, base: &Path, sets: &[String]) -> Result<Scenario> {
    from_str_with_losses(text, base, sets, None)
}

/// [`from_str`] with the losses of `[observations]` given in memory (`losses`) instead of read
/// from the file `observations.losses` names (which must still be set: it labels the rows in
/// messages). For a program that logs losses as a run goes (the Python advisor).
pub fn from_str_with_losses(
    text: &str,
    base: &Path,
    sets: &[String],
    losses: Option<&[LossRecord]>,
) -> Result<Scenario> {
    let mut table: Table = text.parse().map_err(|e: toml::de::Error| {
        // One line: the TOML reader's message may span lines.
        let msg = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        let at = e.span().map(|s| {
            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        });
        Error::input(
            "scenario",
            format!("not valid TOML{}: {msg}", at.unwrap_or_default()),
        )
    })?;
    for s in sets {
        super::apply_set(&mut table, s)?;
    }
    validate(raw::deserialize(table)?, base, losses)
}

/// The sections in dependency order: data before the law (limited data adds coefficients),
/// the budget before the search and the decision (their defaults come from its hours).
fn validate(r: RawScenario, base: &Path, losses: Option<&[LossRecord]>) -> Result<Scenario> {
    let name = r.name.map(|t| t.0).ok_or_else(|| {
        Error::input(
            "name",
            "missing; give the scenario a name (used for the output folder)",
        )
    })?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || name.starts_with('.')
    {
        return Err(Error::input("name", format!("{name:?} is not allowed; use letters, digits, '-', '_' and '.' (it names the output folder)")));
    }
    let description = r.description.map(|t| t.0).unwrap_or_default();
    let raw_budget = r
        .budget
        .ok_or_else(|| Error::input("budget", "missing; add a [budget] section"))?;
    let budget = budget::budget(&raw_budget, base)?;
    let data = budget::data(&r.data.unwrap_or_default(), base)?;
    let mut law = law::law(
        &r.law.unwrap_or_default(),
        base,
        data.unique_tokens.is_some(),
    )?;
    law.count_params(&budget);
    let search = search::search(&r.search.unwrap_or_default(), &budget)?;
    let decision = search::decision(&r.decision.unwrap_or_default(), &budget)?;
    let sampling = search::sampling(&r.sampling.unwrap_or_default())?;
    let training = budget::training(&r.training.unwrap_or_default(), base)?;
    if decision.pilots {
        if training.schedule != Schedule::Wsd {
            return Err(Error::input(
                "decision.pilots",
                "pilots are priced under training.schedule = \"wsd\" (runs that anneal where they stop); under cosine the cycle's length is the measurement to make (the measure-then-set policy)",
            ));
        }
        if !search.until_deadline {
            return Err(Error::input(
                "decision.pilots",
                "pilots re-plan runs that train until the deadline, which search.until_deadline = false rules out",
            ));
        }
    }
    let observations = observations::observations(
        &r.observations.unwrap_or_default(),
        base,
        law.shape.time_term,
        losses,
    )?;
    if let Some(o) = &observations {
        if matches!(budget.capacity, Capacity::Flops { .. }) {
            if let Some(k) = [("mfu", o.mfu.is_some()), ("goodput", o.goodput.is_some())]
                .iter()
                .find(|(_, set)| *set)
            {
                return Err(Error::input(
                    format!("observations.{}", k.0),
                    "a FLOPs budget (budget.flops) has no MFU or goodput to measure; remove it or give the budget's hardware",
                ));
            }
        }
        if o.level_free {
            law.free_level()?;
        }
        if let Some(live) = o.live {
            let run = &o.runs[live.run];
            let tokens = run.rows.last().map_or(0.0, |r| r.0);
            let flops = tokens
                * crate::law::flops_per_token(
                    budget.flops_per_param_token,
                    budget.attention,
                    run.params,
                );
            let share = flops / (3600.0 * live.hours) / budget.throughput(1.0, 1.0);
            if matches!(budget.capacity, Capacity::Hardware { .. }) && share > 1.0 {
                return Err(Error::input(
                    "observations.live_hours",
                    format!(
                        "{} h for {tokens:.3e} tokens of run {:?} ({:.3e} params) needs MFU × goodput = {share:.2} of the budget's hardware; check the hours, the rows' tokens or [budget]",
                        live.hours, run.name, run.params
                    ),
                ));
            }
            if live.hours >= budget.hours {
                return Err(Error::input(
                    "observations.live_hours",
                    format!(
                        "{} is not allowed; the hours the live run has trained, < budget.hours ({})",
                        live.hours, budget.hours
                    ),
                ));
            }
        }
    }
    if sampling.method == Method::Sobol && law.mixture.len() > 1 {
        return Err(Error::input(
            "sampling.method",
            "\"sobol\" is not available with law.mixture (the member choice has no Sobol dimension yet); use \"random\"",
        ));
    }
    let scenario = Scenario {
        name,
        description,
        budget,
        data,
        law,
        search,
        decision,
        sampling,
        training,
        observations,
    };
    check_feasible_exists(&scenario)?;
    check_one_token(&scenario)?;
    check_size(&scenario)?;
    super::domain::check_loss_range(&scenario)?;
    Ok(scenario)
}

/// Most configurations a run may have: its outputs (statistics and configs.csv, about 400 bytes
/// per configuration) must fit in memory, ~8 GB at this limit.
pub const MAX_CONFIGS: usize = 20_000_000;

/// Most evaluations (configurations × draws) a run may ask for: about 80 minutes of the CPU
/// backend on 2 cores (~2e8 evaluations/s), seconds to minutes on a GPU.
pub const MAX_EVALUATIONS: f64 = 1e12;

/// Refuse grids too large to finish, naming the keys to change.
fn check_size(s: &Scenario) -> Result<()> {
    let configs = s.search.params.points * s.search.tokens.points * s.search.hours.len();
    if configs > MAX_CONFIGS {
        return Err(Error::input(
            "search",
            format!(
                "{} × {} × {} = {configs} configurations is over the limit of {MAX_CONFIGS}; lower search.params.points, search.tokens.points or the number of search.hours",
                s.search.params.points,
                s.search.tokens.points,
                s.search.hours.len()
            ),
        ));
    }
    let evaluations = configs as f64 * s.sampling.draws as f64;
    if evaluations > MAX_EVALUATIONS {
        return Err(Error::input(
            "sampling.draws",
            format!(
                "{} draws × {configs} configurations = {evaluations:.2e} evaluations is over the limit of {MAX_EVALUATIONS:.0e} (about 80 minutes on a 2-core CPU); lower sampling.draws or the grid's points",
                s.sampling.draws
            ),
        ));
    }
    Ok(())
}

/// At least one grid configuration must pass the deterministic feasibility rules.
fn check_feasible_exists(s: &Scenario) -> Result<()> {
    let p_min = s.search.params.min;
    if let Some(mem) = s.budget.memory_bytes() {
        if p_min * s.search.bytes_per_param > mem {
            return Err(Error::input("search.params.min", format!("{p_min:e} params × {} bytes/param exceeds the {:.0} GB of accelerator memory: no configuration fits; lower search.params.min or add GPUs", s.search.bytes_per_param, mem / 1e9)));
        }
    }
    if let Some(cap) = s.search.max_params {
        if p_min > cap {
            return Err(Error::input(
                "search.max_params",
                format!(
                    "{cap:e} is below search.params.min {p_min:e}: no configuration is allowed"
                ),
            ));
        }
    }
    if s.search.hours[0] > s.budget.hours {
        return Err(Error::input(
            "search.hours",
            format!(
                "every value exceeds budget.hours = {}: no configuration fits the budget",
                s.budget.hours
            ),
        ));
    }
    Ok(())
}

/// Largest `decision.frontier_hours` value: eight times the largest budget (the default
/// frontier reaches 8 × budget.hours).
pub const MAX_FRONTIER_HOURS: f64 = 8e6;

/// The feasibility floor: every plan of the grid, and every frontier level, must be able to
/// train at least one token with the least throughput the draws can take (the low ends of MFU
/// and goodput). Below it a plan's loss is that of a fraction of a token (2e123), an output no
/// question has, so the scenario is refused before any work, naming the field that sets the
/// floor: the budget (its hours, hardware or FLOPs), a search or frontier hour, or the largest
/// model.
fn check_one_token(s: &Scenario) -> Result<()> {
    let b = &s.budget;
    let (mfu, goodput) = (b.mfu.support().0, b.goodput.support().0);
    let rate = b.throughput(mfu, goodput);
    let tokens = |p: f64, h: f64| {
        crate::law::capacity(
            rate,
            h,
            crate::law::flops_per_token(b.flops_per_param_token, b.attention, p),
        )
    };
    if let Some(&h) = s
        .decision
        .frontier_hours
        .iter()
        .find(|&&h| h > MAX_FRONTIER_HOURS)
    {
        return Err(Error::input(
            "decision.frontier_hours",
            format!(
                "{} is not allowed; at most {} hours (8 times the largest budget)",
                short(h),
                short(MAX_FRONTIER_HOURS)
            ),
        ));
    }
    let p_min = s.search.params.min;
    // Infinite tokens (hours past f64's range) are refused elsewhere, not here.
    let can = |t: f64| t >= 1.0;
    let t = tokens(p_min, b.hours);
    if !can(t) {
        // Name the input furthest below an ordinary value (1 h, MFU 0.3, goodput 0.9, 100 TFLOP/s).
        let field = match &b.capacity {
            Capacity::Flops { .. } => "budget.flops",
            Capacity::Hardware {
                peak_tflops, count, ..
            } => [
                ("budget.hours", b.hours / 1.0),
                ("budget.mfu", mfu / 0.3),
                ("budget.goodput", goodput / 0.9),
                (
                    "budget.peak_tflops",
                    peak_tflops * f64::from(*count) / 100.0,
                ),
            ]
            .into_iter()
            .min_by(|a, c| a.1.total_cmp(&c.1))
            .map_or("budget", |f| f.0),
        };
        let with = match &b.capacity {
            Capacity::Flops { flops } => format!("with budget.flops = {}", short(*flops)),
            Capacity::Hardware { .. } => format!(
                "in budget.hours = {} at MFU {} and goodput {}, the low ends of their ranges",
                short(b.hours),
                short(mfu),
                short(goodput)
            ),
        };
        return Err(Error::input(
            field,
            format!(
                "the smallest plan ({} params) trains {} tokens {with}, less than one; check the budget",
                short(p_min),
                short(t)
            ),
        ));
    }
    for (field, hours) in [
        ("search.hours", &s.search.hours),
        ("decision.frontier_hours", &s.decision.frontier_hours),
    ] {
        if let Some(&h) = hours.iter().find(|&&h| !can(tokens(p_min, h))) {
            return Err(Error::input(
                field,
                format!(
                    "{} h is too short: the smallest plan ({} params) trains {} tokens in it, less than one; give hours in which a plan can train",
                    short(h),
                    short(p_min),
                    short(tokens(p_min, h))
                ),
            ));
        }
    }
    let p_max = s.search.params.max;
    let h_min = s
        .search
        .hours
        .iter()
        .chain(&s.decision.frontier_hours)
        .fold(f64::INFINITY, |a, &h| a.min(h));
    let t = tokens(p_max, h_min);
    if !can(t) {
        return Err(Error::input(
            "search.params.max",
            format!(
                "{} params is too large: such a model trains {} tokens in {} h, less than one; lower it",
                short(p_max),
                short(t),
                short(h_min)
            ),
        ));
    }
    Ok(())
}
