//! The scenario file's shape: one `Deserialize` struct per section, unknown keys refused.
//!
//! This layer only says what may be written where and of which type; `load` and the section
//! modules (`budget`, `law`, `search`) check values and defaults. Every refusal becomes one
//! [`Error::input`] naming the dotted field (from `serde_path_to_error`), the value and what is
//! allowed, with the closest valid name when a key is unknown.
//!
//! Values are read through small newtypes ([`Num`], [`Whole`], [`Text`], [`Flag`], [`DistSpec`])
//! whose own messages say what was found and what is needed, as a person would write it.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::Deserialize;
use toml::{Table, Value};

use crate::distributions::dist::Dist;
use crate::error::Error;

/// Most points an axis of the search grid may have.
pub const MAX_AXIS_POINTS: usize = 100_000;
/// Most draws a run may ask for (`sampling.draws`, `--draws`, `--precision`'s last batch).
pub const MAX_DRAWS: usize = 10_000_000;

/// `[observations]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawObservations {
    pub losses: Option<Text>,
    pub noise: Option<Num>,
    pub discrepancy: Option<Num>,
    pub discrepancy_slope: Option<Num>,
    pub discrepancy_walk: Option<Num>,
    pub first: Option<Num>,
    pub level: Option<Text>,
    pub mfu: Option<RawMeasured>,
    pub goodput: Option<RawMeasured>,
    pub live: Option<Text>,
    pub live_hours: Option<Num>,
    #[serde(default)]
    pub runs: BTreeMap<String, RawRun>,
}

/// A measured value and its standard deviation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeasured {
    pub value: Num,
    pub sd: Option<Num>,
}

/// `[observations.runs.NAME]`: one run's schedule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    pub schedule: Option<Text>,
    pub tokens: Option<Num>,
    pub warmup: Option<Num>,
    pub final_lr_fraction: Option<Num>,
    pub decay_start: Option<Num>,
    pub decay_tokens: Option<Num>,
    pub decay: Option<Text>,
    pub batch_tokens: Option<Num>,
}

/// A finite number: a TOML integer or float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

/// A whole number (a TOML integer) from `MIN` to `MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole<const MIN: i64, const MAX: i64>(pub i64);

/// A string in quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

/// `true` or `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

/// A TOML value as a person reads it in a message (strings quoted).
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// An integer or a float as f64.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// A finite number, or the refusal every number-valued key gives.
fn finite(v: &Value) -> Result<f64, String> {
    match number(v) {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(format!(
            "{} is not allowed; a finite number is needed",
            show(v)
        )),
    }
}

/// A string, or the refusal every string-valued key gives.
fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!(
            "{} is not allowed; a string in quotes is needed",
            show(v)
        )),
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        finite(&Value::deserialize(d)?)
            .map(Num)
            .map_err(de::Error::custom)
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Whole<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Integer(i) if (MIN..=MAX).contains(&i) => Ok(Whole(i)),
            v => Err(de::Error::custom(format!(
                "{} is not allowed; a whole number from {MIN} to {MAX}",
                show(&v)
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text(&Value::deserialize(d)?)
            .map(Text)
            .map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Boolean(b) => Ok(Flag(b)),
            v => Err(de::Error::custom(format!(
                "{} is not allowed; true or false",
                show(&v)
            ))),
        }
    }
}

/// One scalar input as written: a number, or a table naming one distribution kind
/// (`{ uniform = [low, high] }`, the externally tagged form; `normal` may add `min` and `max`).
/// Its parameters are checked here (low < high, sd > 0, …), so it holds a valid [`Dist`],
/// except that a `draws` column's values are read later, against the scenario's folder
/// (`dists::dist`); until then they are empty.
#[derive(Debug, Clone, PartialEq)]
pub struct DistSpec(pub Dist);

/// The distribution kinds a table may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fixed,
    Uniform,
    Normal,
    LogNormal,
    Triangular,
    Pert,
    Draws,
}

const KINDS: [(&str, Kind); 7] = [
    ("fixed", Kind::Fixed),
    ("uniform", Kind::Uniform),
    ("normal", Kind::Normal),
    ("lognormal", Kind::LogNormal),
    ("triangular", Kind::Triangular),
    ("pert", Kind::Pert),
    ("draws", Kind::Draws),
];

/// A refusal inside a value, below the field serde is at: `sub` is the rest of the path
/// (".draws.file"); [`to_input_error`] joins it to the field's path.
fn below(sub: &str, message: impl std::fmt::Display) -> String {
    format!("{SUB_MARK}{sub}{SUB_MARK}{message}")
}
const SUB_MARK: char = '\u{1f}';

fn numbers(kind: &str, v: &Value, n: usize, names: &str) -> Result<Vec<f64>, String> {
    let arr = v.as_array().filter(|a| a.len() == n);
    let xs: Option<Vec<f64>> = arr.and_then(|a| a.iter().map(number).collect());
    match xs {
        Some(xs) if xs.iter().all(|x| x.is_finite()) => Ok(xs),
        _ => Err(format!(
            "{kind} = {} is not allowed; {kind} takes [{names}] ({n} finite numbers)",
            show(v)
        )),
    }
}

impl DistSpec {
    /// The checks of one value as written (no field name: the caller's path says where).
    fn from_value(v: &Value) -> Result<Dist, String> {
        if let Some(x) = number(v) {
            return if x.is_finite() {
                Ok(Dist::Fixed(x))
            } else {
                Err(format!("{x} is not allowed; a finite number is needed"))
            };
        }
        let Value::Table(t) = v else {
            return Err(format!(
                "{} is not allowed; a number or a distribution such as {{ uniform = [low, high] }}",
                show(v)
            ));
        };
        let kinds: Vec<(&str, Kind)> = t
            .keys()
            .filter_map(|k| KINDS.into_iter().find(|(n, _)| n == k))
            .collect();
        if let (true, Some(key)) = (
            kinds.is_empty(),
            t.keys().find(|k| *k != "min" && *k != "max"),
        ) {
            // A misspelt kind (`unif`): name it and the closest kind.
            return Err(below(
                &format!(".{key}"),
                unknown_key_message(key, &KINDS.map(|(n, _)| n)),
            ));
        }
        let [(kind, which)] = kinds[..] else {
            let names: Vec<&str> = kinds.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "give exactly one distribution kind of {}; found {}",
                KINDS.map(|(n, _)| n).join(", "),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(" and ")
                }
            ));
        };
        let allowed: &[&str] = if which == Kind::Normal {
            &["normal", "min", "max"]
        } else {
            &[kind]
        };
        if let Some(extra) = t.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(below(
                &format!(".{extra}"),
                unknown_key_message(extra, allowed),
            ));
        }
        let arg = &t[kind];
        Ok(match which {
            Kind::Fixed => {
                Dist::Fixed(numbers(kind, &Value::Array(vec![arg.clone()]), 1, "value")?[0])
            }
            Kind::Uniform => {
                let x = numbers(kind, arg, 2, "low, high")?;
                if x[0] >= x[1] {
                    return Err(format!("uniform low {} >= high {}; low must be < high (a plain number fixes the value)", x[0], x[1]));
                }
                Dist::Uniform {
                    low: x[0],
                    high: x[1],
                }
            }
            Kind::Normal => {
                let x = numbers(kind, arg, 2, "mean, sd")?;
                if x[1] <= 0.0 {
                    return Err(format!("normal sd {} is not allowed; sd must be > 0", x[1]));
                }
                let bound = |key: &str| -> Result<Option<f64>, String> {
                    t.get(key)
                        .map(|b| finite(b).map_err(|m| below(&format!(".{key}"), m)))
                        .transpose()
                };
                let (min, max) = (bound("min")?, bound("max")?);
                if let (Some(lo), Some(hi)) = (min, max) {
                    if lo >= hi {
                        return Err(format!("normal min {lo} >= max {hi}; min must be < max"));
                    }
                }
                Dist::Normal {
                    mean: x[0],
                    sd: x[1],
                    min,
                    max,
                }
            }
            Kind::LogNormal => {
                let x = numbers(kind, arg, 2, "median, sigma")?;
                if x[0] <= 0.0 || x[1] <= 0.0 {
                    return Err(format!(
                        "lognormal [{}, {}] is not allowed; median and sigma must be > 0",
                        x[0], x[1]
                    ));
                }
                Dist::LogNormal {
                    median: x[0],
                    sigma: x[1],
                }
            }
            Kind::Triangular | Kind::Pert => {
                let x = numbers(kind, arg, 3, "low, mode, high")?;
                if !(x[0] <= x[1] && x[1] <= x[2] && x[0] < x[2]) {
                    return Err(format!("{kind} [{}, {}, {}] is not allowed; need low <= mode <= high and low < high", x[0], x[1], x[2]));
                }
                let (low, mode, high) = (x[0], x[1], x[2]);
                if which == Kind::Pert {
                    Dist::Pert { low, mode, high }
                } else {
                    Dist::Triangular { low, mode, high }
                }
            }
            Kind::Draws => {
                let Value::Table(d) = arg else {
                    return Err(
                        "draws takes { file = \"draws.csv\", column = \"name\" }".to_string()
                    );
                };
                let string_at = |key: &str, what: &str| -> Result<String, String> {
                    let at = format!(".draws.{key}");
                    match d.get(key) {
                        Some(v) => text(v).map_err(|m| below(&at, m)),
                        None => Err(below(&at, format!("missing; {what}"))),
                    }
                };
                if let Some(extra) = d.keys().find(|k| *k != "file" && *k != "column") {
                    return Err(below(
                        &format!(".draws.{extra}"),
                        unknown_key_message(extra, &["file", "column"]),
                    ));
                }
                Dist::Column {
                    file: string_at("file", "the CSV to resample")?,
                    column: string_at("column", "the column to resample")?,
                    values: Default::default(),
                }
            }
        })
    }
}

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        DistSpec::from_value(&v)
            .map(DistSpec)
            .map_err(de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// The sections, in the order the docs list their keys (the order "allowed here" names them).

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<Text>,
    pub description: Option<Text>,
    pub budget: Option<RawBudget>,
    pub data: Option<RawData>,
    pub law: Option<RawLaw>,
    pub search: Option<RawSearch>,
    pub decision: Option<RawDecision>,
    pub sampling: Option<RawSampling>,
    pub training: Option<RawTraining>,
    pub observations: Option<RawObservations>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    pub gpu: Option<Text>,
    pub peak_tflops: Option<Num>,
    pub memory_gb: Option<Num>,
    pub count: Option<Whole<1, 1_000_000>>,
    pub hours: Option<Num>,
    pub mfu: Option<DistSpec>,
    pub goodput: Option<DistSpec>,
    pub flops: Option<Num>,
    pub flops_per_param_token: Option<Num>,
    pub usd_per_gpu_hour: Option<Num>,
    pub reserved_hours: Option<Num>,
    pub memory_bandwidth_gbs: Option<Num>,
    pub flops_per_token: Option<Text>,
    pub context: Option<Num>,
    pub aspect_ratio: Option<Num>,
    pub vocabulary: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    pub unique_tokens: Option<DistSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraining {
    pub schedule: Option<Text>,
    pub final_lr_fraction: Option<Num>,
    pub anneal_gain: Option<DistSpec>,
}

/// `[law]`: a preset, its uncertainty, coefficient overrides, or a mixture of presets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLaw {
    pub preset: Option<Text>,
    pub uncertainty: Option<Text>,
    pub draws_file: Option<Text>,
    pub mvn: Option<RawMvn>,
    pub mixture: Option<Vec<RawMember>>,
    #[serde(rename = "E")]
    pub e: Option<DistSpec>,
    #[serde(rename = "A")]
    pub a: Option<DistSpec>,
    #[serde(rename = "B")]
    pub b: Option<DistSpec>,
    pub alpha: Option<DistSpec>,
    pub beta: Option<DistSpec>,
    pub c: Option<DistSpec>,
    pub gamma: Option<DistSpec>,
    #[serde(rename = "N_c")]
    pub n_c: Option<DistSpec>,
    #[serde(rename = "D_c")]
    pub d_c: Option<DistSpec>,
    #[serde(rename = "alpha_N")]
    pub alpha_n: Option<DistSpec>,
    #[serde(rename = "alpha_D")]
    pub alpha_d: Option<DistSpec>,
    #[serde(rename = "R_D_star")]
    pub r_d_star: Option<DistSpec>,
    #[serde(rename = "R_N_star")]
    pub r_n_star: Option<DistSpec>,
}

impl RawLaw {
    /// The override given for a coefficient, if any.
    pub fn coefficient(&self, c: crate::law::Coeff) -> Option<&DistSpec> {
        use crate::law::Coeff;
        match c {
            Coeff::E => self.e.as_ref(),
            Coeff::A => self.a.as_ref(),
            Coeff::B => self.b.as_ref(),
            Coeff::Alpha => self.alpha.as_ref(),
            Coeff::Beta => self.beta.as_ref(),
            Coeff::C => self.c.as_ref(),
            Coeff::Gamma => self.gamma.as_ref(),
            Coeff::NC => self.n_c.as_ref(),
            Coeff::DC => self.d_c.as_ref(),
            Coeff::AlphaN => self.alpha_n.as_ref(),
            Coeff::AlphaD => self.alpha_d.as_ref(),
            Coeff::RDStar => self.r_d_star.as_ref(),
            Coeff::RNStar => self.r_n_star.as_ref(),
        }
    }
}

/// One member of `law.mixture`: a preset with its own uncertainty and a weight.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMember {
    pub preset: Option<Text>,
    pub uncertainty: Option<Text>,
    pub draws_file: Option<Text>,
    pub weight: Option<Num>,
}

/// `[law.mvn]`: a multivariate normal over named coefficients.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMvn {
    pub names: Option<Vec<Text>>,
    pub mean: Option<Vec<Num>>,
    pub cov: Option<Vec<Vec<Num>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSearch {
    pub params: Option<RawAxis>,
    pub tokens: Option<RawAxis>,
    pub hours: Option<Vec<Num>>,
    pub max_params: Option<Num>,
    pub bytes_per_param: Option<Num>,
    pub until_deadline: Option<Flag>,
}

/// `{ min, max, points }`: a log-spaced axis.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAxis {
    pub min: Option<Num>,
    pub max: Option<Num>,
    pub points: Option<Whole<1, { MAX_AXIS_POINTS as i64 }>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDecision {
    pub objectives: Option<Vec<Text>>,
    pub min_completion: Option<Num>,
    pub target_loss: Option<Num>,
    pub near_best_within: Option<Num>,
    pub target_confidence: Option<Num>,
    pub inference_tokens: Option<Num>,
    pub inference_mfu: Option<Num>,
    pub inference_batch: Option<Num>,
    pub inference_context: Option<Num>,
    pub kv_head_ratio: Option<Num>,
    pub frontier_hours: Option<Vec<Num>>,
    pub pilots: Option<Flag>,
    pub pilot_noise: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSampling {
    pub draws: Option<Whole<1, { MAX_DRAWS as i64 }>>,
    pub seed: Option<Whole<0, { i64::MAX }>>,
    pub method: Option<Text>,
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// "unknown key; did you mean `hours`? allowed here: …" (the closest name within 3 edits).
pub fn unknown_key_message(key: &str, allowed: &[&str]) -> String {
    // Fewest edits; among equals the most similar by Jaro–Winkler, which weighs a shared
    // prefix (`pts` → `points`, not `max`).
    let lower = key.to_lowercase();
    let score = |a: &str| {
        let a = a.to_lowercase();
        (
            strsim::levenshtein(&lower, &a),
            strsim::jaro_winkler(&lower, &a),
        )
    };
    let best = allowed
        .iter()
        .map(|a| (score(a), *a))
        .min_by(|((dx, jx), _), ((dy, jy), _)| dx.cmp(dy).then(jy.total_cmp(jx)));
    let hint = match best {
        Some(((d, _), a)) if d <= 3 => format!("did you mean `{a}`? "),
        _ => String::new(),
    };
    format!("unknown key; {hint}allowed here: {}", allowed.join(", "))
}

/// serde's "unknown field `x`, expected one of `a`, `b`" → (x, [a, b]).
fn parse_unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, expected) = rest.split_once('`')?;
    // Names in backticks alternate with the words between them.
    let allowed = expected.split('`').skip(1).step_by(2).collect();
    Some((key, allowed))
}

/// serde's "invalid type: integer `5`, expected struct RawAxis" in a person's words.
fn invalid_type_message(field: &str, message: &str) -> Option<String> {
    let rest = message.strip_prefix("invalid type: ")?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let found = match found.split_once(' ') {
        Some((_, quoted)) if quoted.starts_with('`') => quoted.trim_matches('`').to_string(),
        Some(("string", s)) => s.to_string(),
        _ => found.to_string(),
    };
    let needed = if expected.starts_with("struct ") || expected.contains("map") {
        if field.contains('[') {
            "a table is needed".to_string()
        } else {
            format!("a table ([{field}]) is needed")
        }
    } else if expected.contains("sequence") || expected.starts_with("an array") {
        list_hint(field)
    } else {
        expected.to_string()
    };
    Some(format!("{found} is not allowed; {needed}"))
}

/// What a list-valued key holds, for the message when something else is given.
fn list_hint(field: &str) -> String {
    let names = || {
        let all: Vec<&str> = super::objective::Objective::ALL
            .iter()
            .map(|(n, _)| *n)
            .collect();
        all.join(", ")
    };
    match field {
        "search.hours" | "decision.frontier_hours" => "a non-empty list of hours > 0 is needed".into(),
        "decision.objectives" => format!("a non-empty list of {} is needed", names()),
        "law.mixture" => "an array of tables is needed, e.g. mixture = [{ preset = \"epoch2024\", weight = 0.6 }, { preset = \"chinchilla\", weight = 0.4 }]".into(),
        "law.mvn.names" => "a list of coefficient names in quotes is needed".into(),
        _ => "a list is needed".into(),
    }
}

/// One serde refusal as an input error on the dotted field it happened at.
pub fn to_input_error(e: serde_path_to_error::Error<toml::de::Error>) -> Error {
    let path = e.path().to_string();
    let mut field = if path == "." { String::new() } else { path };
    let message = e.inner().message().lines().next().unwrap_or("").to_string();
    let message = if let Some(rest) = message.strip_prefix(SUB_MARK) {
        let (sub, msg) = rest.split_once(SUB_MARK).unwrap_or(("", rest));
        field.push_str(sub);
        msg.to_string()
    } else if let Some((key, allowed)) = parse_unknown_field(&message) {
        // The path already ends with the unknown key.
        unknown_key_message(key, &allowed)
    } else if let Some(m) = invalid_type_message(&field, &message) {
        m
    } else {
        message
    };
    let field = if field.is_empty() {
        "scenario".to_string()
    } else {
        field
    };
    Error::input(field, message)
}

/// The table (after `--set`) as the typed shape, or the first refusal.
pub fn deserialize(table: Table) -> Result<RawScenario, Error> {
    dotted_run_names(&table)?;
    serde_path_to_error::deserialize(Value::Table(table)).map_err(to_input_error)
}

/// A run name with a dot, unquoted (`[observations.runs.gpt2.124m]`), reads as a run holding a
/// table: no key of a run's table holds one, so say how to write the name.
fn dotted_run_names(table: &Table) -> Result<(), Error> {
    let runs = table
        .get("observations")
        .and_then(|o| o.get("runs"))
        .and_then(Value::as_table);
    for (name, run) in runs.into_iter().flatten() {
        if let Some((key, _)) = run
            .as_table()
            .and_then(|t| t.iter().find(|(_, v)| v.is_table()))
        {
            return Err(Error::input(
                format!("observations.runs.{name}.{key}"),
                format!("a run's table holds no table; a run name with a dot needs quotes: [observations.runs.\"{name}.{key}\"]"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refuse(text: &str) -> String {
        let t: Table = text.parse().unwrap();
        deserialize(t).unwrap_err().to_string()
    }

    #[test]
    fn refusals_name_the_field_the_value_and_what_is_allowed() {
        assert_eq!(
            refuse("[budget]\nhourz = 3"),
            format!(
                "budget.hourz: {}",
                unknown_key_message("hourz", &RAW_BUDGET_KEYS)
            )
        );
        assert!(refuse("[budget]\nhourz = 3").contains("did you mean `hours`?"));
        assert_eq!(
            refuse("[budget]\nhours = \"x\""),
            "budget.hours: \"x\" is not allowed; a finite number is needed"
        );
        assert_eq!(
            refuse("[budget]\ncount = 1.5"),
            "budget.count: 1.5 is not allowed; a whole number from 1 to 1000000"
        );
        assert_eq!(
            refuse("budget = 5"),
            "budget: 5 is not allowed; a table ([budget]) is needed"
        );
        assert_eq!(
            refuse("[search]\nhours = 5"),
            "search.hours: 5 is not allowed; a non-empty list of hours > 0 is needed"
        );
        assert_eq!(
            refuse("[search]\nmax_params = [5]"),
            "search.max_params: [5] is not allowed; a finite number is needed"
        );
        assert_eq!(
            refuse("[search]\nhours = [1, \"a\"]"),
            "search.hours[1]: \"a\" is not allowed; a finite number is needed"
        );
        assert_eq!(
            refuse("[search.params]\nmin = 1\npts = 2"),
            "search.params.pts: unknown key; did you mean `points`? allowed here: min, max, points"
        );
        assert_eq!(
            refuse("[search.params]\nmin = 1\nmux = 2"),
            "search.params.mux: unknown key; did you mean `max`? allowed here: min, max, points"
        );
        assert_eq!(
            refuse("[budjet]\nhours = 1"),
            "budjet: unknown key; did you mean `budget`? allowed here: name, description, budget, data, law, search, decision, sampling, training, observations"
        );
        assert_eq!(
            refuse("[budget]\nmfu = { uniform = [0.6, 0.5] }"),
            "budget.mfu: uniform low 0.6 >= high 0.5; low must be < high (a plain number fixes the value)"
        );
        assert_eq!(
            refuse("[budget]\nmfu = { normal = [0.4, 0.1], mn = 0.1 }"),
            "budget.mfu.mn: unknown key; did you mean `min`? allowed here: normal, min, max"
        );
        assert_eq!(
            refuse("[budget]\nmfu = { unif = [0.3, 0.5] }"),
            "budget.mfu.unif: unknown key; did you mean `uniform`? allowed here: fixed, uniform, normal, lognormal, triangular, pert, draws"
        );
        assert_eq!(
            refuse("[budget]\nmfu = { draws = { file = \"a.csv\" } }"),
            "budget.mfu.draws.column: missing; the column to resample"
        );
        assert_eq!(
            refuse("[sampling]\nmethod = true"),
            "sampling.method: true is not allowed; a string in quotes is needed"
        );
        assert_eq!(
            refuse("[search]\nuntil_deadline = 1"),
            "search.until_deadline: 1 is not allowed; true or false"
        );
    }

    const RAW_BUDGET_KEYS: [&str; 16] = [
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
        "reserved_hours",
        "memory_bandwidth_gbs",
        "flops_per_token",
        "context",
        "aspect_ratio",
        "vocabulary",
    ];

    /// Every coefficient's scenario key lands in its own field (the serde renames and
    /// `RawLaw::coefficient` agree with `Coeff::name`).
    #[test]
    fn every_coefficient_key_reads_into_its_coefficient() {
        for c in crate::law::Coeff::ALL {
            let t: Table = format!("[law]\n{} = 1.5", c.name()).parse().unwrap();
            let law = deserialize(t).unwrap().law.unwrap();
            for other in crate::law::Coeff::ALL {
                let want = (other == c).then_some(DistSpec(Dist::Fixed(1.5)));
                assert_eq!(law.coefficient(other), want.as_ref(), "{c} → {other}");
            }
        }
    }

    #[test]
    fn distributions_read_as_written() {
        let t: Table = "[budget]\nmfu = { normal = [0.4, 0.1], min = 0.2 }\ngoodput = 0.9"
            .parse()
            .unwrap();
        let raw = deserialize(t).unwrap();
        let b = raw.budget.unwrap();
        assert_eq!(
            b.mfu,
            Some(DistSpec(Dist::Normal {
                mean: 0.4,
                sd: 0.1,
                min: Some(0.2),
                max: None
            }))
        );
        assert_eq!(b.goodput, Some(DistSpec(Dist::Fixed(0.9))));
    }
}
