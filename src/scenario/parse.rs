//! TOML → [`Scenario`]: every field checked, unknown keys refused with the closest valid name.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use toml::{Table, Value};

use super::*;
use crate::distributions::mvn;
use crate::error::{Error, Result};
use crate::law::{Form, LawShape};
use crate::presets::{gpus, laws};

/// Most points an axis of the search grid may have.
pub const MAX_AXIS_POINTS: usize = 100_000;
/// Most draws a run may ask for.
pub const MAX_DRAWS: usize = 10_000_000;

/// Read, override (`--set`) and validate a scenario file.
pub fn from_path(path: &Path, sets: &[String]) -> Result<Scenario> {
    let text = super::read_text(path, super::MAX_SCENARIO_BYTES, "scenario")?;
    let base = path.parent().unwrap_or(Path::new("."));
    from_str(&text, base, sets)
}

/// Parse and validate scenario text; relative files resolve against `base`.
pub fn from_str(text: &str, base: &Path, sets: &[String]) -> Result<Scenario> {
    let mut table: Table = text.parse().map_err(|e: toml::de::Error| {
        let msg = e.message().to_string();
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
    let root = Sec::new("", &table);
    let name = root.string("name")?.ok_or_else(|| {
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
    let description = root.string("description")?.unwrap_or_default();
    let budget = parse_budget(&root.required_table("budget")?, base)?;
    let data = parse_data(root.table("data")?.as_ref(), base)?;
    let law = parse_law(
        root.table("law")?.as_ref(),
        base,
        data.unique_tokens.is_some(),
    )?;
    let search = parse_search(root.table("search")?.as_ref(), &budget)?;
    let decision = parse_decision(root.table("decision")?.as_ref(), &budget)?;
    let sampling = parse_sampling(root.table("sampling")?.as_ref())?;
    let training = parse_training(root.table("training")?.as_ref(), base)?;
    if sampling.method == Method::Sobol && law.mixture.len() > 1 {
        return Err(Error::input(
            "sampling.method",
            "\"sobol\" is not available with law.mixture (the member choice has no Sobol dimension yet); use \"random\"",
        ));
    }
    root.finish(&[
        "name",
        "description",
        "budget",
        "data",
        "law",
        "search",
        "decision",
        "sampling",
        "training",
    ])?;
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
    };
    check_feasible_exists(&scenario)?;
    check_size(&scenario)?;
    super::domain::check_loss_range(&scenario)?;
    Ok(scenario)
}

// ---------------------------------------------------------------------------------------------
// A table being read: remembers which keys were used, so that the rest can be refused.

struct Sec<'a> {
    path: String,
    t: &'a Table,
    used: RefCell<Vec<String>>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl<'a> Sec<'a> {
    fn new(path: &str, t: &'a Table) -> Self {
        Sec {
            path: path.to_string(),
            t,
            used: RefCell::new(Vec::new()),
        }
    }

    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.used.borrow_mut().push(key.to_string());
        self.t.get(key)
    }

    fn f64(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match number(v) {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(Error::input(
                    self.field(key),
                    format!("{} is not allowed; a finite number is needed", show(v)),
                )),
            },
        }
    }

    fn positive(&self, key: &str) -> Result<Option<f64>> {
        match self.f64(key)? {
            Some(x) if x <= 0.0 => Err(Error::input(
                self.field(key),
                format!("{x} is not allowed; must be > 0"),
            )),
            other => Ok(other),
        }
    }

    fn probability(&self, key: &str) -> Result<Option<f64>> {
        match self.f64(key)? {
            Some(x) if !(0.0..=1.0).contains(&x) => Err(Error::input(
                self.field(key),
                format!("{x} is not allowed; a probability in [0, 1]"),
            )),
            other => Ok(other),
        }
    }

    fn integer(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Integer(i)) if (min..=max).contains(i) => Ok(Some(*i)),
            Some(v) => Err(Error::input(
                self.field(key),
                format!(
                    "{} is not allowed; a whole number from {min} to {max}",
                    show(v)
                ),
            )),
        }
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(v) => Err(Error::input(
                self.field(key),
                format!("{} is not allowed; true or false", show(v)),
            )),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(Error::input(
                self.field(key),
                format!("{} is not allowed; a string in quotes is needed", show(v)),
            )),
        }
    }

    fn table(&self, key: &str) -> Result<Option<Sec<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(Sec::new(&self.field(key), t))),
            Some(v) => Err(Error::input(
                self.field(key),
                format!(
                    "{} is not allowed; a table ([{}]) is needed",
                    show(v),
                    self.field(key)
                ),
            )),
        }
    }

    fn required_table(&self, key: &str) -> Result<Sec<'a>> {
        self.table(key)?.ok_or_else(|| {
            // A misspelt section ([budjet]) is named, not only the missing one.
            let near = self
                .t
                .keys()
                .find(|k| edit_distance(&k.to_lowercase(), key) <= 2)
                .map(|k| format!(" (found an unknown [{k}]: did you mean [{key}]?)"))
                .unwrap_or_default();
            Error::input(
                self.field(key),
                format!("missing; add a [{}] section{near}", self.field(key)),
            )
        })
    }

    fn dist(&self, key: &str, base: &Path) -> Result<Option<Dist>> {
        self.get(key)
            .map(|v| parse_dist(&self.field(key), v, base))
            .transpose()
    }

    /// Refuse keys that were never asked for, suggesting the closest allowed one.
    fn finish(&self, allowed: &[&str]) -> Result<()> {
        for key in self.t.keys() {
            if !self.used.borrow().iter().any(|u| u == key) || !allowed.contains(&key.as_str()) {
                return Err(unknown_key(&self.field(key), key, allowed));
            }
        }
        Ok(())
    }
}

fn unknown_key(field: &str, key: &str, allowed: &[&str]) -> Error {
    let best = allowed
        .iter()
        .map(|a| (edit_distance(&key.to_lowercase(), &a.to_lowercase()), *a))
        .min();
    let hint = match best {
        Some((d, a)) if d <= 3 => format!("did you mean `{a}`? "),
        _ => String::new(),
    };
    Error::input(
        field,
        format!("unknown key; {hint}allowed here: {}", allowed.join(", ")),
    )
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Distributions.

const DIST_KINDS: &[&str] = &[
    "fixed",
    "uniform",
    "normal",
    "lognormal",
    "triangular",
    "pert",
    "draws",
];

fn numbers(field: &str, kind: &str, v: &Value, n: usize, names: &str) -> Result<Vec<f64>> {
    let arr = v.as_array().filter(|a| a.len() == n);
    let xs: Option<Vec<f64>> = arr.and_then(|a| a.iter().map(number).collect());
    match xs {
        Some(xs) if xs.iter().all(|x| x.is_finite()) => Ok(xs),
        _ => Err(Error::input(
            field,
            format!(
                "{kind} = {} is not allowed; {kind} takes [{names}] ({n} finite numbers)",
                show(v)
            ),
        )),
    }
}

/// One scalar input: a number, or a table with one distribution kind.
pub(super) fn parse_dist(field: &str, v: &Value, base: &Path) -> Result<Dist> {
    if let Some(x) = number(v) {
        return if x.is_finite() {
            Ok(Dist::Fixed(x))
        } else {
            Err(Error::input(
                field,
                format!("{x} is not allowed; a finite number is needed"),
            ))
        };
    }
    let Value::Table(t) = v else {
        return Err(Error::input(
            field,
            format!(
                "{} is not allowed; a number or a distribution such as {{ uniform = [low, high] }}",
                show(v)
            ),
        ));
    };
    let kinds: Vec<&str> = t
        .keys()
        .map(String::as_str)
        .filter(|k| DIST_KINDS.contains(k))
        .collect();
    if kinds.len() != 1 {
        return Err(Error::input(
            field,
            format!(
                "give exactly one distribution kind of {}; found {}",
                DIST_KINDS.join(", "),
                if kinds.is_empty() {
                    "none".to_string()
                } else {
                    kinds.join(" and ")
                }
            ),
        ));
    }
    let kind = kinds[0];
    let sec = Sec::new(field, t);
    let arg = sec.get(kind).expect("kind key is present");
    let dist = match kind {
        "fixed" => {
            Dist::Fixed(numbers(field, kind, &Value::Array(vec![arg.clone()]), 1, "value")?[0])
        }
        "uniform" => {
            let x = numbers(field, kind, arg, 2, "low, high")?;
            if x[0] >= x[1] {
                return Err(Error::input(field, format!("uniform low {} >= high {}; low must be < high (a plain number fixes the value)", x[0], x[1])));
            }
            Dist::Uniform {
                low: x[0],
                high: x[1],
            }
        }
        "normal" => {
            let x = numbers(field, kind, arg, 2, "mean, sd")?;
            if x[1] <= 0.0 {
                return Err(Error::input(
                    field,
                    format!("normal sd {} is not allowed; sd must be > 0", x[1]),
                ));
            }
            let (min, max) = (sec.f64("min")?, sec.f64("max")?);
            if let (Some(lo), Some(hi)) = (min, max) {
                if lo >= hi {
                    return Err(Error::input(
                        field,
                        format!("normal min {lo} >= max {hi}; min must be < max"),
                    ));
                }
            }
            Dist::Normal {
                mean: x[0],
                sd: x[1],
                min,
                max,
            }
        }
        "lognormal" => {
            let x = numbers(field, kind, arg, 2, "median, sigma")?;
            if x[0] <= 0.0 || x[1] <= 0.0 {
                return Err(Error::input(
                    field,
                    format!(
                        "lognormal [{}, {}] is not allowed; median and sigma must be > 0",
                        x[0], x[1]
                    ),
                ));
            }
            Dist::LogNormal {
                median: x[0],
                sigma: x[1],
            }
        }
        "triangular" | "pert" => {
            let x = numbers(field, kind, arg, 3, "low, mode, high")?;
            if !(x[0] <= x[1] && x[1] <= x[2] && x[0] < x[2]) {
                return Err(Error::input(field, format!("{kind} [{}, {}, {}] is not allowed; need low <= mode <= high and low < high", x[0], x[1], x[2])));
            }
            let (low, mode, high) = (x[0], x[1], x[2]);
            if kind == "pert" {
                Dist::Pert { low, mode, high }
            } else {
                Dist::Triangular { low, mode, high }
            }
        }
        "draws" => {
            let Value::Table(d) = arg else {
                return Err(Error::input(
                    field,
                    "draws takes { file = \"draws.csv\", column = \"name\" }",
                ));
            };
            let ds = Sec::new(&format!("{field}.draws"), d);
            let file = ds.string("file")?.ok_or_else(|| {
                Error::input(
                    format!("{field}.draws.file"),
                    "missing; the CSV to resample",
                )
            })?;
            let column = ds.string("column")?.ok_or_else(|| {
                Error::input(
                    format!("{field}.draws.column"),
                    "missing; the column to resample",
                )
            })?;
            ds.finish(&["file", "column"])?;
            let values = super::load_column(&base.join(&file), &column, &format!("{field}.draws"))?;
            Dist::Column {
                file,
                column,
                values: Arc::new(values),
            }
        }
        _ => unreachable!(),
    };
    let allowed: &[&str] = if kind == "normal" {
        &["normal", "min", "max"]
    } else {
        &[kind]
    };
    sec.finish(allowed)?;
    Ok(dist)
}

/// Refuse a distribution whose support leaves [lo, hi] (bounds given as inclusive/exclusive text).
fn check_support(
    field: &str,
    d: &Dist,
    lo: f64,
    lo_inclusive: bool,
    hi: f64,
    allowed: &str,
) -> Result<()> {
    let (a, b) = d.support();
    let low_ok = if lo_inclusive { a >= lo } else { a > lo };
    if !low_ok || b > hi {
        let bad = if !low_ok { a } else { b };
        let hint = match d {
            Dist::Normal { .. } | Dist::LogNormal { .. } => {
                " (within 8 standard deviations); truncate it with min and max"
            }
            _ => "",
        };
        return Err(Error::input(
            field,
            format!(
                "{} reaches {bad}{hint}; values must be in {allowed}",
                d.describe()
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sections.

fn parse_budget(b: &Sec, base: &Path) -> Result<Budget> {
    let flops = b.positive("flops")?;
    let gpu = b.string("gpu")?;
    let peak = b.positive("peak_tflops")?;
    let memory = b.positive("memory_gb")?;
    let count = b.integer("count", 1, 1_000_000)?;
    let hours = b.positive("hours")?;
    let mfu = b.dist("mfu", base)?;
    let goodput = b.dist("goodput", base)?;
    let k = b.positive("flops_per_param_token")?.unwrap_or(6.0);
    if !(1.0..=100.0).contains(&k) {
        return Err(Error::input("budget.flops_per_param_token", format!("{k:e} is not allowed; 1 to 100 (6 is standard, 8 with full activation recomputation)")));
    }
    if let Some(h) = hours.filter(|h| *h > 1e6) {
        return Err(Error::input(
            "budget.hours",
            format!("{h:e} is not allowed; at most 1e6 hours (114 years)"),
        ));
    }
    let usd = b.positive("usd_per_gpu_hour")?;
    let bandwidth = b.positive("memory_bandwidth_gbs")?;
    let flops_model = b.string("flops_per_token")?;
    let context = b.positive("context")?;
    let aspect = b.positive("aspect_ratio")?;
    let attention = match flops_model.as_deref() {
        None | Some("6P") => {
            if let Some((key, _)) = [("context", context), ("aspect_ratio", aspect)]
                .into_iter()
                .find(|(_, v)| v.is_some())
            {
                return Err(Error::input(
                    format!("budget.{key}"),
                    "used only with budget.flops_per_token = \"kaplan\" (the attention term)",
                ));
            }
            None
        }
        Some("kaplan") => Some(crate::law::Attention {
            context: context.unwrap_or(DEFAULT_CONTEXT),
            aspect_ratio: aspect.unwrap_or(DEFAULT_ASPECT_RATIO),
        }),
        Some(other) => {
            return Err(Error::input(
                "budget.flops_per_token",
                format!("{other:?} is not allowed; \"6P\" (k·P per token) or \"kaplan\" (plus the attention term)"),
            ))
        }
    };
    b.finish(&[
        "gpu",
        "peak_tflops",
        "memory_gb",
        "count",
        "hours",
        "mfu",
        "goodput",
        "flops",
        "flops_per_param_token",
        "usd_per_gpu_hour",
        "memory_bandwidth_gbs",
        "flops_per_token",
        "context",
        "aspect_ratio",
    ])?;

    let capacity = if let Some(flops) = flops {
        for (key, given) in [
            ("gpu", gpu.is_some()),
            ("peak_tflops", peak.is_some()),
            ("memory_gb", memory.is_some()),
            ("count", count.is_some()),
            ("mfu", mfu.is_some()),
            ("goodput", goodput.is_some()),
            ("usd_per_gpu_hour", usd.is_some()),
            ("memory_bandwidth_gbs", bandwidth.is_some()),
        ] {
            if given {
                return Err(Error::input(format!("budget.{key}"), "not used with budget.flops (a compute budget has no hardware, MFU or goodput); remove one of the two"));
            }
        }
        Capacity::Flops { flops }
    } else {
        let count = count.unwrap_or(1) as u32;
        match (gpu, peak) {
            (Some(_), Some(_)) => return Err(Error::input("budget.peak_tflops", "give either budget.gpu (a preset) or budget.peak_tflops with budget.memory_gb, not both")),
            (Some(name), None) => {
                let g = gpus::find(&name).ok_or_else(|| Error::input("budget.gpu", format!("{name:?} is not a preset; allowed: {} (or give peak_tflops and memory_gb)", gpus::names())))?;
                if memory.is_some() {
                    return Err(Error::input("budget.memory_gb", format!("preset {name} already sets memory ({} GB); drop memory_gb or use peak_tflops with memory_gb", g.memory_gb)));
                }
                if bandwidth.is_some() {
                    return Err(Error::input("budget.memory_bandwidth_gbs", format!("preset {name} already sets it ({} GB/s); give it only with peak_tflops", g.memory_bandwidth_gbs)));
                }
                Capacity::Hardware { gpu: name, peak_tflops: g.peak_tflops, memory_gb: g.memory_gb, memory_bandwidth_gbs: Some(g.memory_bandwidth_gbs), count }
            }
            (None, Some(peak)) => {
                let memory_gb = memory.ok_or_else(|| Error::input("budget.memory_gb", "missing; with peak_tflops give the memory per accelerator in GB"))?;
                Capacity::Hardware { gpu: "custom".into(), peak_tflops: peak, memory_gb, memory_bandwidth_gbs: bandwidth, count }
            }
            (None, None) => return Err(Error::input("budget", "no budget given; set budget.gpu (a preset), budget.peak_tflops with memory_gb, or budget.flops")),
        }
    };
    let hours = match (&capacity, hours) {
        (Capacity::Flops { .. }, h) => h.unwrap_or(1.0),
        (_, Some(h)) => h,
        (_, None) => {
            return Err(Error::input(
                "budget.hours",
                "missing; the wall-clock hours of the budget",
            ))
        }
    };
    let mfu = mfu.unwrap_or(Dist::Uniform {
        low: 0.30,
        high: 0.50,
    });
    check_support("budget.mfu", &mfu, 0.0, false, 1.0, "(0, 1]")?;
    let goodput = goodput.unwrap_or(Dist::Fixed(1.0));
    check_support("budget.goodput", &goodput, 0.0, false, 1.0, "(0, 1]")?;
    Ok(Budget {
        capacity,
        hours,
        mfu,
        goodput,
        flops_per_param_token: k,
        usd_per_gpu_hour: usd,
        attention,
    })
}

/// `budget.context` with `flops_per_token = "kaplan"`: 2048 tokens, the sequence length of
/// Chinchilla's and GPT-3's training (Hoffmann et al. 2022; Brown et al. 2020 Table 2.1).
pub const DEFAULT_CONTEXT: f64 = 2048.0;

/// `budget.aspect_ratio` (d_model / n_layer): 64, a judgement between the GPT-3 family's 43–85
/// below 2B parameters and 128 above (Brown et al. 2020 Table 2.1; Chinchilla 70B: 8192/80 =
/// 102). Kaplan et al. 2020 (Fig. 5) find loss nearly insensitive to it, and the FLOPs depend on
/// it only through d_model ∝ aspect^(1/3).
pub const DEFAULT_ASPECT_RATIO: f64 = 64.0;

/// The default of `training.anneal_gain`: 0.0538 nats, the annealing term C·η_max·0.9/(1 − λ)
/// of the one published fit with constants (Wang, Tissue et al. 2025, arXiv 2505.07796, Fig. 3:
/// C = 0.299, λ = 0.999, η_max = 2e-4; a 106M model on FineWeb), ±50% because it is one model
/// size on one data set (judgement; docs/MODEL.md §2).
pub const ANNEAL_GAIN_DEFAULT: (f64, f64) = (0.027, 0.081);

fn parse_training(t: Option<&Sec>, base: &Path) -> Result<Training> {
    let default_gain = Dist::Uniform {
        low: ANNEAL_GAIN_DEFAULT.0,
        high: ANNEAL_GAIN_DEFAULT.1,
    };
    let Some(t) = t else {
        return Ok(Training {
            schedule: Schedule::Wsd,
            final_lr_fraction: 0.1,
            anneal_gain: default_gain,
        });
    };
    let schedule = match t.string("schedule")?.as_deref() {
        None | Some("wsd") => Schedule::Wsd,
        Some("cosine") => Schedule::Cosine,
        Some(other) => {
            return Err(Error::input(
                "training.schedule",
                format!("{other:?} is not allowed; \"wsd\" (warmup-stable-decay) or \"cosine\""),
            ))
        }
    };
    let final_lr_fraction = t.f64("final_lr_fraction")?.unwrap_or(0.1);
    if !(0.0..1.0).contains(&final_lr_fraction) {
        return Err(Error::input(
            "training.final_lr_fraction",
            format!("{final_lr_fraction} is not allowed; a fraction of the peak learning rate in [0, 1)"),
        ));
    }
    let anneal_gain = t.dist("anneal_gain", base)?.unwrap_or(default_gain);
    check_support(
        "training.anneal_gain",
        &anneal_gain,
        0.0,
        true,
        1.0,
        "[0, 1] nats",
    )?;
    t.finish(&["schedule", "final_lr_fraction", "anneal_gain"])?;
    Ok(Training {
        schedule,
        final_lr_fraction,
        anneal_gain,
    })
}

fn parse_data(d: Option<&Sec>, base: &Path) -> Result<Data> {
    let Some(d) = d else {
        return Ok(Data {
            unique_tokens: None,
        });
    };
    let unique_tokens = d.dist("unique_tokens", base)?;
    if let Some(u) = &unique_tokens {
        check_support(
            "data.unique_tokens",
            u,
            1.0,
            true,
            f64::INFINITY,
            "[1, ∞) tokens",
        )?;
    }
    d.finish(&["unique_tokens"])?;
    Ok(Data { unique_tokens })
}

/// Coefficients a shape uses, in draws.csv order, with their domain (values must be > min).
fn coefficient_names(shape: LawShape, limited_data: bool) -> Vec<(&'static str, f64)> {
    const ZERO_OK: f64 = -f64::MIN_POSITIVE;
    let mut v = match shape.form {
        Form::Additive => vec![
            ("E", ZERO_OK),
            ("A", 0.0),
            ("B", 0.0),
            ("alpha", 0.0),
            ("beta", 0.0),
        ],
        Form::Kaplan => vec![
            ("N_c", 0.0),
            ("D_c", 0.0),
            ("alpha_N", 0.0),
            ("alpha_D", 0.0),
        ],
    };
    if shape.time_term {
        v.extend([("c", ZERO_OK), ("gamma", 0.0)]);
    }
    if limited_data {
        v.push(("R_D_star", 0.0));
        if shape.effective_params {
            v.push(("R_N_star", 0.0));
        }
    }
    v
}

const ALL_COEFFS: &[&str] = &[
    "E", "A", "B", "alpha", "beta", "c", "gamma", "N_c", "D_c", "alpha_N", "alpha_D", "R_D_star",
    "R_N_star",
];

/// Members of `law.mixture` at most.
pub const MAX_MIXTURE: usize = 8;

/// `law.mixture = [{ preset = "epoch2024", weight = 0.6 }, { preset = "chinchilla", weight =
/// 0.4, uncertainty = "none" }]`: each member a law with its own uncertainty (no coefficient
/// overrides), all of one form with the same coefficients, weights normalised to 1.
fn parse_mixture(l: &Sec, v: &Value, base: &Path, limited_data: bool) -> Result<Law> {
    let show_allowed = "an array of tables, e.g. mixture = [{ preset = \"epoch2024\", weight = 0.6 }, { preset = \"chinchilla\", weight = 0.4 }]";
    let Value::Array(items) = v else {
        return Err(Error::input(
            "law.mixture",
            format!("{} is not allowed; {show_allowed}", show(v)),
        ));
    };
    if items.is_empty() || items.len() > MAX_MIXTURE {
        return Err(Error::input(
            "law.mixture",
            format!(
                "{} members are not allowed; 1 to {MAX_MIXTURE}",
                items.len()
            ),
        ));
    }
    for key in l.t.keys() {
        if key != "mixture" {
            return Err(Error::input(
                format!("law.{key}"),
                "not allowed beside law.mixture; give it inside each member",
            ));
        }
    }
    let mut members = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("law.mixture[{i}]");
        let Value::Table(t) = item else {
            return Err(Error::input(
                &field,
                format!("{} is not allowed; {show_allowed}", show(item)),
            ));
        };
        let sec = Sec::new(&field, t);
        let weight = sec.positive("weight")?.ok_or_else(|| {
            Error::input(
                format!("{field}.weight"),
                "missing; a weight > 0 (weights are normalised to sum to 1)",
            )
        })?;
        if let Some(k) = t
            .keys()
            .find(|k| ALL_COEFFS.contains(&k.as_str()) || *k == "mixture" || *k == "mvn")
        {
            return Err(Error::input(format!("{field}.{k}"), "not allowed in a mixture member: give preset, uncertainty, draws_file and weight (override coefficients on a single [law])"));
        }
        let law = parse_law_member(Some(&sec), base, limited_data, true)?;
        if let Some(first) = members.first().map(|m: &MixtureMember| &m.law) {
            if law.shape != first.shape || law.names() != first.names() {
                return Err(Error::input(&field, format!("preset {} has another form or other coefficients than {} ({}); members must share one form", law.preset, first.preset, first.names().join(", "))));
            }
        }
        members.push(MixtureMember { weight, law });
    }
    l.used.borrow_mut().push("mixture".into());
    let total: f64 = members.iter().map(|m| m.weight).sum();
    for m in &mut members {
        m.weight /= total;
    }
    let first = members[0].law.clone();
    Ok(Law {
        preset: "mixture".into(),
        source: members
            .iter()
            .map(|m| format!("{:.0}% {}", 100.0 * m.weight, m.law.preset))
            .collect::<Vec<_>>()
            .join(", "),
        illustrative: members.iter().any(|m| m.law.illustrative),
        mixture: members,
        ..first
    })
}

fn parse_law(l: Option<&Sec>, base: &Path, limited_data: bool) -> Result<Law> {
    if let Some(v) = l.and_then(|l| l.t.get("mixture")) {
        return parse_mixture(l.expect("has mixture"), v, base, limited_data);
    }
    parse_law_member(l, base, limited_data, false)
}

fn parse_law_member(l: Option<&Sec>, base: &Path, limited_data: bool, member: bool) -> Result<Law> {
    let empty = Table::new();
    let owned;
    let l = match l {
        Some(l) => l,
        None => {
            owned = Sec::new("law", &empty);
            &owned
        }
    };
    let preset_name = l.string("preset")?.unwrap_or_else(|| "epoch2024".into());
    let preset = laws::find(&preset_name).ok_or_else(|| {
        Error::input(
            "law.preset",
            format!(
                "{preset_name:?} is not a preset; allowed: {}",
                laws::names()
            ),
        )
    })?;
    let given_c = l.get("c").is_some();
    let time_term = match preset.time_term {
        laws::TimeTerm::Never => false,
        laws::TimeTerm::Always => true,
        laws::TimeTerm::WhenGiven => given_c,
    };
    let shape = LawShape {
        form: preset.form,
        effective_params: preset.effective_params,
        time_term,
    };

    let default_unc = if preset.has_mvn { "mvn" } else { "none" };
    let unc_name = l
        .string("uncertainty")?
        .unwrap_or_else(|| default_unc.into());
    let draws_file = l.string("draws_file")?;
    if draws_file.is_some() && unc_name != "draws" {
        return Err(Error::input(
            "law.draws_file",
            "used only with law.uncertainty = \"draws\"",
        ));
    }
    // Bootstrap rows (E, A, B, alpha, beta), loaded first: they stand in for point values a
    // preset lacks (custom), as their column medians.
    let law_draws = if unc_name == "draws" {
        if shape.form != Form::Additive {
            return Err(Error::input(
                "law.uncertainty",
                format!(
                    "\"draws\" resamples (E, A, B, alpha, beta) rows; preset {} has another form",
                    preset.name
                ),
            ));
        }
        Some(match draws_file {
            Some(f) => {
                let rows = super::load_law_draws(&super::read_text(&base.join(&f), super::MAX_CSV_BYTES, "law.draws_file")?, "law.draws_file")?;
                (f, rows)
            }
            None if preset.has_draws => ("epoch2024 bootstrap (4000 draws, shipped)".to_string(), super::load_law_draws(laws::EPOCH2024_DRAWS_CSV, "law.draws_file")?),
            None => return Err(Error::input("law.draws_file", format!("missing; preset {} ships no draws, so give a CSV with columns E,A,B,alpha,beta (from `scalerisk fit`)", preset.name))),
        })
    } else {
        None
    };
    let draws_median = |name: &str| {
        let col = ["E", "A", "B", "alpha", "beta"]
            .iter()
            .position(|n| *n == name)?;
        let (_, rows) = law_draws.as_ref()?;
        let mut v: Vec<f64> = rows.iter().map(|r| r[col]).collect();
        Some(crate::stats::quantile(&mut v, 0.5))
    };

    let mut coefficients = Vec::new();
    for (name, domain_min) in coefficient_names(shape, limited_data) {
        let field = format!("law.{name}");
        let given = l.dist(name, base)?;
        let point = match name {
            "R_D_star" => Some(laws::R_D_STAR),
            _ => laws::point(&preset, name).or_else(|| draws_median(name)),
        };
        let (dist, overridden) = match (given, point) {
            (Some(d), _) => (d, true),
            (None, Some(p)) => (Dist::Fixed(p), false),
            (None, None) => {
                return Err(Error::input(
                    &field,
                    format!("missing; preset {} needs {name} to be given", preset.name),
                ))
            }
        };
        let (lo, hi) = dist.support();
        if ["E", "A", "B", "c"].contains(&name) && !(hi <= super::MAX_TERM) {
            return Err(Error::input(
                &field,
                format!(
                    "{} reaches {hi:e}; must be at most {:e} (a loss no model has)",
                    dist.describe(),
                    super::MAX_TERM
                ),
            ));
        }
        if !(lo > domain_min) {
            return Err(Error::input(
                &field,
                format!(
                    "{} reaches {lo}; must be {}",
                    dist.describe(),
                    if domain_min < 0.0 { ">= 0" } else { "> 0" }
                ),
            ));
        }
        coefficients.push(Coef {
            name: name.to_string(),
            dist,
            overridden,
            domain_min,
        });
    }
    for key in l.t.keys() {
        if ALL_COEFFS.contains(&key.as_str()) && !coefficients.iter().any(|c| &c.name == key) {
            let why = if key == "R_D_star" || key == "R_N_star" {
                "it applies only with data.unique_tokens (and R_N_star only to muennighoff2023)"
                    .to_string()
            } else {
                format!("preset {} has no such coefficient", preset.name)
            };
            return Err(Error::input(
                format!("law.{key}"),
                format!(
                    "not used: {why}; used here: {}",
                    coefficients
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        l.used.borrow_mut().push(key.clone());
    }

    let mvn_table = l.table("mvn")?;
    if mvn_table.is_some() && unc_name != "mvn" {
        return Err(Error::input(
            "law.mvn",
            "used only with law.uncertainty = \"mvn\"",
        ));
    }
    let uncertainty = match unc_name.as_str() {
        "none" => Uncertainty::None,
        "mvn" => {
            let (names, mean, cov) = match mvn_table {
                Some(m) => parse_mvn_table(&m)?,
                None if preset.has_mvn => (
                    ["lnA", "lnB", "lnE", "alpha", "beta"].map(String::from).to_vec(),
                    laws::log_point(preset.name).expect("mvn presets have log points").to_vec(),
                    laws::EPOCH2024_COV.iter().map(|r| r.to_vec()).collect(),
                ),
                None => return Err(Error::input("law.uncertainty", format!("\"mvn\" needs a covariance; preset {} has none (epoch2024 has one), so add [law.mvn] with names, mean and cov, or use \"none\" or \"draws\"", preset.name))),
            };
            for n in &names {
                let base_name = n
                    .strip_prefix("ln")
                    .filter(|b| ["A", "B", "E"].contains(b))
                    .unwrap_or(n);
                if !coefficients.iter().any(|c| c.name == base_name) {
                    return Err(Error::input("law.mvn.names", format!("{n:?} is not a coefficient of preset {}; allowed: {} (and lnA, lnB, lnE)", preset.name, coefficients.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "))));
                }
            }
            let (chol, jitter) = mvn::cholesky(&cov, "law.mvn.cov")?;
            mvn::check_support(
                &names,
                &mean,
                &cov,
                |n| {
                    coefficients
                        .iter()
                        .find(|c| c.name == n)
                        .map(|c| c.domain_min)
                },
                "law.mvn",
            )?;
            Uncertainty::Mvn(Mvn {
                names,
                mean,
                cov,
                chol,
                jitter,
            })
        }
        "draws" => {
            let (source, rows) = law_draws.expect("loaded above for \"draws\"");
            let count = rows.len();
            Uncertainty::Draws {
                source,
                rows: Arc::new(rows),
                count,
            }
        }
        other => {
            return Err(Error::input(
                "law.uncertainty",
                format!("{other:?} is not allowed; none | mvn | draws"),
            ))
        }
    };
    let mut allowed = vec!["preset", "uncertainty", "draws_file", "mvn", "mixture"];
    allowed.extend(ALL_COEFFS);
    if member {
        allowed.push("weight");
    }
    l.finish(&allowed)?;
    Ok(Law {
        preset: preset.name.to_string(),
        shape,
        coefficients,
        uncertainty,
        illustrative: preset.illustrative,
        source: preset.source.to_string(),
        mixture: Vec::new(),
    })
}

type MvnParts = (Vec<String>, Vec<f64>, Vec<Vec<f64>>);

fn parse_mvn_table(m: &Sec) -> Result<MvnParts> {
    let names: Vec<String> = match m.get("names") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(String::from))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                Error::input(
                    "law.mvn.names",
                    "a list of coefficient names in quotes is needed",
                )
            })?,
        _ => {
            return Err(Error::input(
                "law.mvn.names",
                "missing; a list of coefficient names, e.g. [\"lnA\", \"alpha\"]",
            ))
        }
    };
    let vecf = |v: &Value| -> Option<Vec<f64>> { v.as_array()?.iter().map(number).collect() };
    let mean = m
        .get("mean")
        .and_then(vecf)
        .filter(|v| v.len() == names.len() && v.iter().all(|x| x.is_finite()))
        .ok_or_else(|| {
            Error::input(
                "law.mvn.mean",
                format!(
                    "a list of {} finite numbers is needed (one per name)",
                    names.len()
                ),
            )
        })?;
    let cov: Vec<Vec<f64>> = m
        .get("cov")
        .and_then(|v| v.as_array()?.iter().map(vecf).collect::<Option<Vec<_>>>())
        .filter(|c| c.len() == names.len())
        .ok_or_else(|| {
            Error::input(
                "law.mvn.cov",
                format!("a {0}×{0} list of lists of numbers is needed", names.len()),
            )
        })?;
    m.finish(&["names", "mean", "cov"])?;
    Ok((names, mean, cov))
}

fn parse_axis(s: &Sec, key: &str, default: Axis) -> Result<Axis> {
    let field = s.field(key);
    let Some(t) = s.table(key)? else {
        return Ok(default);
    };
    let min = t
        .positive("min")?
        .ok_or_else(|| Error::input(format!("{field}.min"), "missing; the smallest value (> 0)"))?;
    let max = t
        .positive("max")?
        .ok_or_else(|| Error::input(format!("{field}.max"), "missing; the largest value"))?;
    let points = t
        .integer("points", 1, MAX_AXIS_POINTS as i64)?
        .ok_or_else(|| {
            Error::input(
                format!("{field}.points"),
                "missing; how many log-spaced points",
            )
        })? as usize;
    t.finish(&["min", "max", "points"])?;
    if min < 1.0 {
        return Err(Error::input(
            format!("{field}.min"),
            format!("{min} is not allowed; at least 1"),
        ));
    }
    if min > max || (min == max && points != 1) || (min < max && points < 2) {
        return Err(Error::input(&field, format!("min {min}, max {max}, points {points} is not allowed; need min < max with points >= 2 (or min = max with points = 1)")));
    }
    Ok(Axis { min, max, points })
}

fn parse_search(s: Option<&Sec>, budget: &Budget) -> Result<Search> {
    let empty = Table::new();
    let owned;
    let s = match s {
        Some(s) => s,
        None => {
            owned = Sec::new("search", &empty);
            &owned
        }
    };
    let params = parse_axis(
        s,
        "params",
        Axis {
            min: 1e7,
            max: 1e11,
            points: 128,
        },
    )?;
    let tokens = parse_axis(
        s,
        "tokens",
        Axis {
            min: 1e8,
            max: 1e13,
            points: 128,
        },
    )?;
    let hours = match s.get("hours") {
        None => vec![budget.hours],
        Some(v) => {
            let xs: Option<Vec<f64>> = v.as_array().and_then(|a| a.iter().map(number).collect());
            match xs {
                Some(mut xs) if !xs.is_empty() && xs.iter().all(|x| x.is_finite() && *x > 0.0) => {
                    xs.sort_by(f64::total_cmp);
                    if xs.windows(2).any(|w| w[0] == w[1]) {
                        return Err(Error::input(
                            "search.hours",
                            format!(
                                "{} repeats a value; list each number of hours once",
                                show(v)
                            ),
                        ));
                    }
                    xs
                }
                _ => {
                    return Err(Error::input(
                        "search.hours",
                        format!("{} is not allowed; a non-empty list of hours > 0", show(v)),
                    ))
                }
            }
        }
    };
    let max_params = s.positive("max_params")?;
    let bytes_per_param = s.positive("bytes_per_param")?.unwrap_or(16.0);
    let until_deadline = s.boolean("until_deadline")?.unwrap_or(true);
    s.finish(&[
        "params",
        "tokens",
        "hours",
        "max_params",
        "bytes_per_param",
        "until_deadline",
    ])?;
    Ok(Search {
        params,
        tokens,
        hours,
        max_params,
        bytes_per_param,
        until_deadline,
    })
}

fn parse_decision(d: Option<&Sec>, budget: &Budget) -> Result<Decision> {
    let empty = Table::new();
    let owned;
    let d = match d {
        Some(d) => d,
        None => {
            owned = Sec::new("decision", &empty);
            &owned
        }
    };
    let target_loss = d.positive("target_loss")?;
    let min_completion = d.probability("min_completion")?.unwrap_or(0.0);
    let target_confidence = d.probability("target_confidence")?.unwrap_or(0.9);
    let inference_tokens = d.positive("inference_tokens")?;
    let inference_mfu = d.probability("inference_mfu")?;
    if inference_mfu == Some(0.0) {
        return Err(Error::input(
            "decision.inference_mfu",
            "0 is not allowed; a share in (0, 1]",
        ));
    }
    let inference_batch = d.f64("inference_batch")?;
    if let Some(b) = inference_batch.filter(|b| !(*b >= 1.0 && *b <= 1e9)) {
        return Err(Error::input(
            "decision.inference_batch",
            format!("{b} is not allowed; sequences decoded together, from 1 to 1e9"),
        ));
    }
    let frontier_hours = match d.get("frontier_hours") {
        None => (-3..=3).map(|k| budget.hours * 2f64.powi(k)).collect(),
        Some(Value::Array(a)) if !a.is_empty() => {
            let v: Vec<f64> = a.iter().filter_map(number).collect();
            if v.len() != a.len() || v.iter().any(|h| !(h.is_finite() && *h > 0.0)) {
                return Err(Error::input(
                    "decision.frontier_hours",
                    format!(
                        "{} is not allowed; a non-empty list of hours > 0",
                        show(d.get("frontier_hours").unwrap())
                    ),
                ));
            }
            let mut v = v;
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        }
        Some(v) => {
            return Err(Error::input(
                "decision.frontier_hours",
                format!("{} is not allowed; a non-empty list of hours > 0", show(v)),
            ))
        }
    };
    let all = Objective::ALL
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ");
    let objectives = match d.get("objectives") {
        None => {
            let mut v = vec![
                Objective::Expected,
                Objective::P95,
                Objective::Cvar95,
                Objective::MinimaxRegret,
                Objective::PBest,
            ];
            if target_loss.is_some() {
                v.push(Objective::Target);
            }
            v
        }
        Some(Value::Array(a)) if !a.is_empty() => {
            let mut v = Vec::new();
            for item in a {
                let o = item
                    .as_str()
                    .and_then(|s| Objective::ALL.iter().find(|(n, _)| *n == s))
                    .map(|(_, o)| *o);
                let o = o.ok_or_else(|| {
                    Error::input(
                        "decision.objectives",
                        format!("{} is not allowed; allowed: {all}", show(item)),
                    )
                })?;
                if !v.contains(&o) {
                    v.push(o);
                }
            }
            v
        }
        Some(v) => {
            return Err(Error::input(
                "decision.objectives",
                format!("{} is not allowed; a non-empty list of {all}", show(v)),
            ))
        }
    };
    let mut objectives = objectives;
    if inference_tokens.is_some() && !objectives.contains(&Objective::LifetimeCost) {
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
                "decision.inference_tokens",
                "lifetime_cost needs decision.target_loss: the cheapest plan is chosen among those reaching it",
            ));
        }
        if budget.gpu_count().is_none() {
            return Err(Error::input(
                "decision.inference_tokens",
                "lifetime_cost counts GPU-hours, so it needs a hardware budget (budget.gpu or budget.peak_tflops), not budget.flops",
            ));
        }
    }
    let objectives = objectives;
    if objectives.contains(&Objective::Target) && target_loss.is_none() {
        return Err(Error::input(
            "decision.objectives",
            "\"target\" needs decision.target_loss",
        ));
    }
    d.finish(&[
        "objectives",
        "min_completion",
        "target_loss",
        "target_confidence",
        "inference_tokens",
        "inference_mfu",
        "inference_batch",
        "frontier_hours",
    ])?;
    Ok(Decision {
        objectives,
        min_completion,
        target_loss,
        target_confidence,
        inference_tokens,
        inference_mfu,
        inference_batch,
        frontier_hours,
    })
}

fn parse_sampling(s: Option<&Sec>) -> Result<Sampling> {
    let empty = Table::new();
    let owned;
    let s = match s {
        Some(s) => s,
        None => {
            owned = Sec::new("sampling", &empty);
            &owned
        }
    };
    let draws = s.integer("draws", 1, MAX_DRAWS as i64)?.unwrap_or(4096) as usize;
    let seed = s.integer("seed", 0, i64::MAX)?.unwrap_or(42) as u64;
    let method = match s.string("method")?.as_deref() {
        None | Some("random") => Method::Random,
        Some("sobol") => Method::Sobol,
        Some(other) => {
            return Err(Error::input(
                "sampling.method",
                format!("{other:?} is not allowed; \"random\" or \"sobol\""),
            ))
        }
    };
    if method == Method::Sobol && draws > crate::distributions::sobol::MAX_DRAWS {
        return Err(Error::input(
            "sampling.draws",
            format!(
                "{draws} is not allowed with method \"sobol\"; at most {} (the sequence's length), or use \"random\"",
                crate::distributions::sobol::MAX_DRAWS
            ),
        ));
    }
    s.finish(&["draws", "seed", "method"])?;
    Ok(Sampling {
        draws,
        seed,
        method,
    })
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
