//! `[observations]`: what has been measured (docs/SCENARIOS.md "Observations"): losses of pilot
//! runs and of the live run with each run's schedule, measured MFU and goodput. The typed shape
//! (serde, unknown keys refused) and its validation into [`Observations`].

use std::path::Path;

use serde::Serialize;

use super::raw::{Num, RawMeasured, RawObservations, RawRun};
use crate::csvread::{Cells, Csv, Row};
use crate::curve::{self, Decay, Shape};
use crate::error::{Error, Result};

/// Validated observations.
#[derive(Debug, Clone, Serialize)]
pub struct Observations {
    /// The losses file as written (for messages and run.json).
    pub source: String,
    pub runs: Vec<ObservedRun>,
    /// The sd of one observed loss, nats; None: estimated per run from its scatter.
    pub noise: Option<f64>,
    /// The sd of a run's offset from the curve model (model discrepancy), nats.
    pub discrepancy: f64,
    /// The sd of a run's slope from the curve model, nats per e-fold of x.
    pub discrepancy_slope: f64,
    /// The sd a random walk in ln x adds per √(e-fold) beyond a run's last row, nats: what a
    /// curve's rows cannot say about the rest of it (predictions only).
    pub discrepancy_walk: f64,
    /// Rows before this fraction of a run's planned tokens are not used.
    pub first: f64,
    /// `level = "free"`: the law's level (E, A, B) is learned from the runs.
    pub level_free: bool,
    pub mfu: Option<Measured>,
    pub goodput: Option<Measured>,
    /// The run in progress (its index in `runs`) and its hours so far.
    pub live: Option<Live>,
}

/// A measured value with its standard deviation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Measured {
    pub value: f64,
    pub sd: f64,
}

/// The live run: the one whose remaining hours the re-plan divides.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Live {
    pub run: usize,
    pub hours: f64,
}

/// One observed run.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedRun {
    pub name: String,
    pub params: f64,
    pub schedule: curve::Schedule,
    /// (tokens, loss) in file order, ascending tokens.
    #[serde(skip)]
    pub rows: Vec<(f64, f64)>,
}

/// Default sd of a run's offset from the curve model: judgement from the calibration on Luo et
/// al.'s curves (docs/MODEL.md §8: the last-row errors of the shared fit are within ±0.02).
pub const DISCREPANCY_DEFAULT: f64 = 0.01;

/// Default sd of a run's slope from the curve model per e-fold of x: judgement (MODEL.md §8).
pub const DISCREPANCY_SLOPE_DEFAULT: f64 = 0.01;

/// Default sd of the random walk beyond a run's last row, nats per √(e-fold of x): judgement,
/// set so that the 90% bands of the predicted ends of Luo et al.'s curves from 30% of each
/// cover about 90% of them (docs/MODEL.md §8, tests/curves.rs).
pub const DISCREPANCY_WALK_DEFAULT: f64 = 0.02;

/// Default share of a run's planned tokens before which rows are not used: Choshen et al.
/// 2025 drop the earliest checkpoints, which follow no scaling law (warm-up, the first
/// transient); 10% is judgement (MODEL.md §8).
pub const FIRST_DEFAULT: f64 = 0.1;

/// Default sd of a measured MFU or goodput: judgement (a throughput benchmark's repeatability).
pub const MEASURED_SD_DEFAULT: f64 = 0.01;

/// Most rows a losses file may hold.
pub const MAX_ROWS: usize = 1_000_000;

/// Fewest parameters an observed run may have: judgement, far below any model a scaling-law fit
/// covers (Hoffmann et al. 2022 fit models from 70M parameters, their abstract), so that millions
/// written as plain numbers (124 for 124M) are refused rather than read as a 124-parameter model.
pub const MIN_PARAMS: f64 = 1e5;

/// Largest loss a row may hold, nats per token: judgement. A cross-entropy this high needs a
/// vocabulary of e^20 ≈ 5e8 tokens even at a uniform guess, so a larger value is a perplexity
/// (e^loss) or another unit.
pub const MAX_LOSS: f64 = 20.0;

/// Largest `noise` (the sd of one observed loss), nats: judgement. Losses of a training run sit
/// within a few nats of each other; an sd above 1 nat makes the rows say nothing and the bands
/// reach below zero.
pub const MAX_NOISE: f64 = 1.0;

const FIELD: &str = "observations";

fn need(field: &str, v: Option<&Num>, what: &str) -> Result<f64> {
    v.map(|n| n.0)
        .ok_or_else(|| Error::input(field, format!("missing; {what}")))
}

fn positive(field: &str, v: f64) -> Result<f64> {
    if v > 0.0 {
        Ok(v)
    } else {
        Err(Error::input(
            field,
            format!("{v} is not allowed; a number > 0 is needed"),
        ))
    }
}

fn measured(field: &str, m: &Option<RawMeasured>) -> Result<Option<Measured>> {
    let Some(m) = m else { return Ok(None) };
    let value = m.value.0;
    if !(value > 0.0 && value <= 1.0) {
        return Err(Error::input(
            format!("{field}.value"),
            format!("{value} is not allowed; a fraction in (0, 1] is needed"),
        ));
    }
    let sd = match &m.sd {
        Some(s) => positive(&format!("{field}.sd"), s.0)?,
        None => MEASURED_SD_DEFAULT,
    };
    Ok(Some(Measured { value, sd }))
}

fn schedule(name: &str, r: &RawRun) -> Result<curve::Schedule> {
    let f = |k: &str| format!("{FIELD}.runs.{name}.{k}");
    let planned = positive(
        &f("tokens"),
        need(
            &f("tokens"),
            r.tokens.as_ref(),
            "the tokens the run's schedule is planned for",
        )?,
    )?;
    let warmup = r.warmup.as_ref().map_or(0.0, |n| n.0);
    if !(0.0..planned).contains(&warmup) {
        return Err(Error::input(
            f("warmup"),
            format!("{warmup} is not allowed; warm-up tokens in [0, tokens)"),
        ));
    }
    let final_lr = r.final_lr_fraction.as_ref().map_or(0.1, |n| n.0);
    if !(0.0..1.0).contains(&final_lr) {
        return Err(Error::input(
            f("final_lr_fraction"),
            format!("{final_lr} is not allowed; a fraction of the peak rate in [0, 1)"),
        ));
    }
    let kind = r.schedule.as_ref().map(|t| t.0.as_str()).ok_or_else(|| {
        Error::input(
            f("schedule"),
            "missing; \"constant\", \"cosine\" or \"wsd\"",
        )
    })?;
    let wsd_only = [
        ("decay_start", r.decay_start.is_some()),
        ("decay_tokens", r.decay_tokens.is_some()),
        ("decay", r.decay.is_some()),
    ];
    if kind != "wsd" {
        if let Some((k, _)) = wsd_only.iter().find(|(_, set)| *set) {
            return Err(Error::input(
                f(k),
                format!("is for schedule = \"wsd\" only; this run's schedule is {kind:?}"),
            ));
        }
    }
    if kind == "constant" && r.final_lr_fraction.is_some() {
        return Err(Error::input(
            f("final_lr_fraction"),
            "is not used by schedule = \"constant\"; remove it",
        ));
    }
    let shape = match kind {
        "constant" => Shape::Constant,
        "cosine" => Shape::Cosine { final_lr },
        "wsd" => {
            let decay_start = need(
                &f("decay_start"),
                r.decay_start.as_ref(),
                "the tokens where the decay starts",
            )?;
            if !(decay_start >= warmup && decay_start < planned) {
                return Err(Error::input(
                    f("decay_start"),
                    format!("{decay_start} is not allowed; tokens in [warmup, tokens)"),
                ));
            }
            let decay_tokens = match &r.decay_tokens {
                Some(n) => positive(&f("decay_tokens"), n.0)?,
                None => planned - decay_start,
            };
            // The plan is where the run ends: a decay that runs past it describes another plan.
            if decay_start + decay_tokens > planned * (1.0 + 1e-9) {
                return Err(Error::input(
                    f("decay_tokens"),
                    format!(
                        "{decay_tokens} is not allowed; the decay must end by the planned tokens: at most tokens − decay_start = {}",
                        planned - decay_start
                    ),
                ));
            }
            let decay = match r.decay.as_ref().map(|t| t.0.as_str()) {
                None | Some("linear") => Decay::Linear,
                Some("exponential") => Decay::Exponential,
                Some("sqrt") => Decay::Sqrt,
                Some("cosine") => Decay::Cosine,
                Some(other) => {
                    return Err(Error::input(
                        f("decay"),
                        format!("{other:?} is not allowed; \"linear\", \"exponential\", \"sqrt\" or \"cosine\""),
                    ))
                }
            };
            Shape::Wsd {
                decay_start,
                decay_tokens,
                final_lr,
                decay,
            }
        }
        other => {
            return Err(Error::input(
                f("schedule"),
                format!("{other:?} is not allowed; \"constant\", \"cosine\" or \"wsd\""),
            ))
        }
    };
    let batch_tokens = match &r.batch_tokens {
        Some(n) => Some(positive(&f("batch_tokens"), n.0)?),
        None => None,
    };
    Ok(curve::Schedule {
        shape,
        planned,
        warmup,
        batch_tokens,
    })
}

/// Read the losses file: columns run, params, tokens, loss (any order, others ignored).
/// One row of a losses file and the line it is on.
type LossRow = (String, f64, f64, f64, u64);

/// One logged loss handed over in memory instead of a losses file's row (the Python advisor's
/// `observe(tokens, loss)`): the file's columns run, params, tokens, loss.
#[derive(Debug, Clone, PartialEq)]
pub struct LossRecord {
    pub run: String,
    pub params: f64,
    pub tokens: f64,
    pub loss: f64,
}

/// Rows given in memory, under the checks a file's cells get (a run name, numbers > 0); row k
/// (from 1) stands where a file's line k + 1 would.
fn given_losses(rows: &[LossRecord], shown: &str) -> Result<Vec<LossRow>> {
    let field = format!("{FIELD}.losses");
    if rows.len() > MAX_ROWS {
        return Err(Error::input(
            &field,
            format!("{shown} has more than {MAX_ROWS} rows; thin the curve first"),
        ));
    }
    rows.iter()
        .enumerate()
        .map(|(k, r)| {
            let line = k as u64 + 2;
            let num = |v: f64, name: &str| -> Result<f64> {
                if v.is_finite() && v > 0.0 {
                    Ok(v)
                } else {
                    Err(Error::input(
                        &field,
                        format!("{shown} row {}, {name}: {v} is not a number > 0", k + 1),
                    ))
                }
            };
            if r.run.is_empty() {
                return Err(Error::input(
                    &field,
                    format!("{shown} row {}, run: empty; name the run", k + 1),
                ));
            }
            Ok((
                r.run.clone(),
                num(r.params, "params")?,
                num(r.tokens, "tokens")?,
                num(r.loss, "loss")?,
                line,
            ))
        })
        .collect()
}

fn read_losses(path: &Path, shown: &str) -> Result<Vec<LossRow>> {
    let field = format!("{FIELD}.losses");
    let text = super::read_text(path, super::MAX_CSV_BYTES, &field)?;
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(Error::input(
            &field,
            format!("{shown} is empty; columns run, params, tokens, loss are needed"),
        ));
    }
    let rd = Csv::new(&text, Cells::Trimmed)
        .map_err(|e| Error::input(&field, format!("{shown}: {e}")))?;
    let headers = rd.headers().clone();
    super::check_unique_headers(&headers, &field, shown)?;
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            Error::input(
                &field,
                format!(
                    "{shown} has no column {name:?}; columns run, params, tokens, loss are needed (found {})",
                    super::show_headers(headers.iter())
                ),
            )
        })
    };
    let (ir, ip, it, il) = (col("run")?, col("params")?, col("tokens")?, col("loss")?);
    let mut out = Vec::new();
    for rec in rd {
        let Row { line, cells } =
            rec.map_err(|b| Error::input(&field, format!("{shown} line {}: {}", b.line, b.error)))?;
        if out.len() == MAX_ROWS {
            return Err(Error::input(
                &field,
                format!("{shown} has more than {MAX_ROWS} rows; thin the curve first"),
            ));
        }
        let num = |i: usize, name: &str| -> Result<f64> {
            let cell = cells.get(i).unwrap_or("");
            cell.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| {
                    Error::input(
                        &field,
                        format!("{shown} line {line}, column {name}: {cell:?} is not a number > 0"),
                    )
                })
        };
        let run = cells.get(ir).unwrap_or("").to_string();
        if run.is_empty() {
            return Err(Error::input(
                &field,
                format!("{shown} line {line}, column run: empty; name the run"),
            ));
        }
        out.push((
            run,
            num(ip, "params")?,
            num(it, "tokens")?,
            num(il, "loss")?,
            line,
        ));
    }
    Ok(out)
}

/// Validate `[observations]`; `has_time_term` refuses loss rows for a law with c·T^−γ (a row
/// has no hours). `given` rows stand in for the losses file's (which is then only named, not
/// read).
pub fn observations(
    r: &RawObservations,
    base: &Path,
    has_time_term: bool,
    given: Option<&[LossRecord]>,
) -> Result<Option<Observations>> {
    let nothing = r.losses.is_none() && r.mfu.is_none() && r.goodput.is_none();
    if nothing {
        if let Some(k) = [
            ("runs", !r.runs.is_empty()),
            ("noise", r.noise.is_some()),
            ("level", r.level.is_some()),
            ("live", r.live.is_some()),
        ]
        .iter()
        .find(|(_, set)| *set)
        {
            return Err(Error::input(
                format!("{FIELD}.{}", k.0),
                "has nothing to apply to; add observations.losses (or observations.mfu / goodput)",
            ));
        }
        return Ok(None);
    }
    let mut runs = Vec::new();
    let mut source = String::new();
    if let Some(file) = &r.losses {
        if has_time_term {
            return Err(Error::input(
                format!("{FIELD}.losses"),
                "the law has a time term (c·T^−γ) and a loss row has no hours; use a law without one",
            ));
        }
        source = file.0.clone();
        let rows = match given {
            Some(g) => given_losses(g, &file.0)?,
            None => read_losses(&base.join(&file.0), &file.0)?,
        };
        if rows.is_empty() {
            return Err(Error::input(
                format!("{FIELD}.losses"),
                format!("{} has no rows", file.0),
            ));
        }
        for (name, params, tokens, loss, line) in rows {
            let k = match runs.iter().position(|x: &ObservedRun| x.name == name) {
                Some(k) => k,
                None => {
                    let raw = r.runs.get(&name).ok_or_else(|| {
                        Error::input(
                            format!("{FIELD}.runs"),
                            format!("{} line {line}: run {name:?} has no [observations.runs.{name}] table; give its schedule", file.0),
                        )
                    })?;
                    runs.push(ObservedRun {
                        name: name.clone(),
                        params,
                        schedule: schedule(&name, raw)?,
                        rows: Vec::new(),
                    });
                    runs.len() - 1
                }
            };
            let run = &mut runs[k];
            if params < MIN_PARAMS {
                return Err(Error::input(
                    format!("{FIELD}.losses"),
                    format!("{} line {line}, column params: {params} is below {MIN_PARAMS}; give the parameter count (124M is 1.24e8), not millions", file.0),
                ));
            }
            if loss > MAX_LOSS {
                return Err(Error::input(
                    format!("{FIELD}.losses"),
                    format!("{} line {line}, column loss: {loss} is above {MAX_LOSS} nats, more than a uniform guess over 5e8 tokens; give the cross-entropy in nats per token, not a perplexity", file.0),
                ));
            }
            let planned = run.schedule.planned;
            if tokens > planned * (1.0 + 1e-9) {
                return Err(Error::input(
                    format!("{FIELD}.losses"),
                    format!("{} line {line}: run {name:?} tokens {tokens} is past its planned {planned} (observations.runs.{name}.tokens); a run's rows end by its plan", file.0),
                ));
            }
            if let Some(batch) = run.schedule.batch_tokens {
                if tokens < batch {
                    return Err(Error::input(
                        format!("{FIELD}.losses"),
                        format!("{} line {line}: run {name:?} tokens {tokens} is less than one step's batch ({batch} tokens); the column holds tokens, not steps", file.0),
                    ));
                }
            }
            if params != run.params {
                return Err(Error::input(
                    format!("{FIELD}.losses"),
                    format!("{} line {line}: run {name:?} has params {params}, earlier {}; one size per run", file.0, run.params),
                ));
            }
            if let Some(&(prev, _)) = run.rows.last() {
                if tokens <= prev {
                    return Err(Error::input(
                        format!("{FIELD}.losses"),
                        format!("{} line {line}: run {name:?} tokens {tokens} after {prev}; rows of a run must ascend in tokens", file.0),
                    ));
                }
            }
            run.rows.push((tokens, loss));
        }
        if let Some(extra) = r.runs.keys().find(|k| !runs.iter().any(|x| &x.name == *k)) {
            return Err(Error::input(
                format!("{FIELD}.runs.{extra}"),
                format!("no rows of run {extra:?} in {}", file.0),
            ));
        }
    } else if !r.runs.is_empty() {
        return Err(Error::input(
            format!("{FIELD}.runs"),
            "has no losses to go with; add observations.losses",
        ));
    }
    let noise = match &r.noise {
        Some(n) if n.0 > 0.0 && n.0 <= MAX_NOISE => Some(n.0),
        Some(n) => {
            return Err(Error::input(
                format!("{FIELD}.noise"),
                format!(
                    "{} is not allowed; the sd of one observed loss in nats, in (0, {MAX_NOISE}]",
                    n.0
                ),
            ))
        }
        None => None,
    };
    let nonneg = |k: &str, v: Option<&Num>, default: f64| -> Result<f64> {
        let v = v.map_or(default, |n| n.0);
        if v >= 0.0 {
            Ok(v)
        } else {
            Err(Error::input(
                format!("{FIELD}.{k}"),
                format!("{v} is not allowed; a number ≥ 0 is needed"),
            ))
        }
    };
    let first = r.first.as_ref().map_or(FIRST_DEFAULT, |n| n.0);
    if !(0.0..1.0).contains(&first) {
        return Err(Error::input(
            format!("{FIELD}.first"),
            format!("{first} is not allowed; a fraction of a run's planned tokens in [0, 1)"),
        ));
    }
    let level_free = match r.level.as_ref().map(|t| t.0.as_str()) {
        None | Some("preset") => false,
        Some("free") => true,
        Some(other) => {
            return Err(Error::input(
                format!("{FIELD}.level"),
                format!("{other:?} is not allowed; \"preset\" (trust the law's level) or \"free\" (your data differ: learn E, A and B from your runs)"),
            ))
        }
    };
    if level_free && runs.is_empty() {
        return Err(Error::input(
            format!("{FIELD}.level"),
            "\"free\" needs loss observations to learn the level from; add observations.losses",
        ));
    }
    let live = match &r.live {
        None => {
            if r.live_hours.is_some() {
                return Err(Error::input(
                    format!("{FIELD}.live_hours"),
                    "has no live run to apply to; name it with observations.live",
                ));
            }
            None
        }
        Some(name) => {
            let run = runs.iter().position(|x| x.name == name.0).ok_or_else(|| {
                Error::input(
                    format!("{FIELD}.live"),
                    format!("{:?} is not a run of observations.losses", name.0),
                )
            })?;
            let hours = positive(
                &format!("{FIELD}.live_hours"),
                need(
                    &format!("{FIELD}.live_hours"),
                    r.live_hours.as_ref(),
                    "the hours the live run has trained so far",
                )?,
            )?;
            Some(Live { run, hours })
        }
    };
    Ok(Some(Observations {
        source,
        runs,
        noise,
        discrepancy: nonneg("discrepancy", r.discrepancy.as_ref(), DISCREPANCY_DEFAULT)?,
        discrepancy_slope: nonneg(
            "discrepancy_slope",
            r.discrepancy_slope.as_ref(),
            DISCREPANCY_SLOPE_DEFAULT,
        )?,
        discrepancy_walk: nonneg(
            "discrepancy_walk",
            r.discrepancy_walk.as_ref(),
            DISCREPANCY_WALK_DEFAULT,
        )?,
        first,
        level_free,
        mfu: measured(&format!("{FIELD}.mfu"), &r.mfu)?,
        goodput: measured(&format!("{FIELD}.goodput"), &r.goodput)?,
        live,
    }))
}

/// The prior sd of ln E under `level = "free"`: judgement (docs/MODEL.md §8). A data set or
/// tokenizer moves the irreducible loss by tenths of a nat (Luo et al.'s curves sit ~0.6 nats
/// above MassiveText's E = 1.82); sd 0.3 in ln E spans 1.0–3.3 nats at 2 sd.
pub const FREE_LN_E_SD: f64 = 0.3;

/// The prior sd of ln A and ln B under `level = "free"`: judgement (a factor e per sd; B also
/// absorbs a different tokenizer's token count).
pub const FREE_LN_SCALE_SD: f64 = 1.0;

impl super::Law {
    /// `observations.level = "free"`: keep the exponents α, β with their spread (they transfer
    /// between data sets, Choshen et al. 2025) and make the level (ln E, ln A, ln B) wide and
    /// independent of them, to be learned from the user's own runs.
    pub(crate) fn free_level(&mut self) -> Result<()> {
        use crate::law::{Coeff, Coord, Form};
        use crate::scenario::{Mvn, Uncertainty};
        if self.shape.form != Form::Additive {
            return Err(Error::input(
                format!("{FIELD}.level"),
                "\"free\" needs a law of the form E + A/P^α + B/D^β; this law's form has no such level",
            ));
        }
        for m in &mut self.mixture {
            m.law.free_level()?;
        }
        let level = [Coeff::E, Coeff::A, Coeff::B];
        let sd = |c: Coeff| {
            if c == Coeff::E {
                FREE_LN_E_SD
            } else {
                FREE_LN_SCALE_SD
            }
        };
        let point = |law: &super::Law, c: Coeff| {
            law.coefficients
                .iter()
                .find(|x| x.coeff == c)
                .map(|x| x.dist.point())
        };
        let owned: Vec<Coeff> = level
            .into_iter()
            .filter(|c| !self.is_overridden(*c))
            .collect();
        let mvn = match &self.uncertainty {
            Uncertainty::Draws { .. } => {
                return Err(Error::input(
                    format!("{FIELD}.level"),
                    "\"free\" does not apply to bootstrap draws (law.uncertainty = \"draws\"); use \"mvn\" or \"none\"",
                ))
            }
            Uncertainty::Mvn(m) => {
                let mut names = m.names.clone();
                let mut mean = m.mean.clone();
                let mut cov = m.cov.clone();
                for c in &owned {
                    let i = match names.iter().position(|n| n.coeff == *c) {
                        Some(i) => i,
                        None => {
                            let p = point(self, *c).unwrap_or(1.0);
                            names.push(Coord { coeff: *c, log: true });
                            mean.push(p.ln());
                            for row in &mut cov {
                                row.push(0.0);
                            }
                            cov.push(vec![0.0; names.len()]);
                            names.len() - 1
                        }
                    };
                    // In log space whatever the coordinate was written in.
                    if !names[i].log {
                        names[i].log = true;
                        mean[i] = mean[i].ln();
                    }
                    cov[i].iter_mut().for_each(|v| *v = 0.0);
                    for row in cov.iter_mut() {
                        row[i] = 0.0;
                    }
                    cov[i][i] = sd(*c).powi(2);
                }
                (names, mean, cov)
            }
            Uncertainty::None => {
                let names: Vec<Coord> = owned
                    .iter()
                    .map(|c| Coord { coeff: *c, log: true })
                    .collect();
                let mean = owned
                    .iter()
                    .map(|c| point(self, *c).unwrap_or(1.0).ln())
                    .collect();
                let n = owned.len();
                let cov = (0..n)
                    .map(|i| {
                        (0..n)
                            .map(|j| if i == j { sd(owned[i]).powi(2) } else { 0.0 })
                            .collect()
                    })
                    .collect();
                (names, mean, cov)
            }
        };
        let (names, mean, cov) = mvn;
        if names.is_empty() {
            return Ok(());
        }
        let (chol, jitter) = crate::distributions::mvn::cholesky(&cov, &format!("{FIELD}.level"))?;
        self.uncertainty = Uncertainty::Mvn(Mvn {
            names,
            mean,
            cov,
            chol,
            jitter,
        });
        Ok(())
    }
}
