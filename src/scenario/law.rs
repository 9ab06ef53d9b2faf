//! `[law]`: a preset with its uncertainty and coefficient overrides, or a mixture of presets.

use std::path::Path;
use std::sync::Arc;

use super::dists::{dist, positive};
use super::raw::{RawLaw, RawMember, RawMvn};
use super::{Coef, Law, MixtureMember, Mvn, Uncertainty};
use crate::csvread::{Cells, Csv};
use crate::distributions::dist::Dist;
use crate::distributions::mvn;
use crate::error::{Error, Result};
use crate::law::{Coeff, Coord, Form, LawShape};
use crate::presets::laws;

/// Members of `law.mixture` at most.
pub const MAX_MIXTURE: usize = 8;

/// Coefficients a shape uses, in draws.csv order, with their domain (values must be > min).
fn coefficients_of(shape: LawShape, limited_data: bool) -> Vec<(Coeff, f64)> {
    const ZERO_OK: f64 = -f64::MIN_POSITIVE;
    let mut v = match shape.form {
        Form::Additive => vec![
            (Coeff::E, ZERO_OK),
            (Coeff::A, 0.0),
            (Coeff::B, 0.0),
            (Coeff::Alpha, 0.0),
            (Coeff::Beta, 0.0),
        ],
        Form::Kaplan => vec![
            (Coeff::NC, 0.0),
            (Coeff::DC, 0.0),
            (Coeff::AlphaN, 0.0),
            (Coeff::AlphaD, 0.0),
        ],
    };
    if shape.time_term {
        v.extend([(Coeff::C, ZERO_OK), (Coeff::Gamma, 0.0)]);
    }
    if limited_data {
        v.push((Coeff::RDStar, 0.0));
        if shape.effective_params {
            v.push((Coeff::RNStar, 0.0));
        }
    }
    v
}

/// The `[law]` section (absent: epoch2024 with its default uncertainty).
pub fn law(l: &RawLaw, base: &Path, limited_data: bool) -> Result<Law> {
    match &l.mixture {
        Some(members) => mixture(l, members, base, limited_data),
        None => single(l, "law", base, limited_data),
    }
}

/// `law.mixture = [{ preset = "epoch2024", weight = 0.6 }, { preset = "chinchilla", weight =
/// 0.4, uncertainty = "none" }]`: each member a law with its own uncertainty (no coefficient
/// overrides), all of one form with the same coefficients, weights normalised to 1.
fn mixture(l: &RawLaw, items: &[RawMember], base: &Path, limited_data: bool) -> Result<Law> {
    if items.is_empty() || items.len() > MAX_MIXTURE {
        return Err(Error::input(
            "law.mixture",
            format!(
                "{} members are not allowed; 1 to {MAX_MIXTURE}",
                items.len()
            ),
        ));
    }
    // Everything else of [law] belongs inside a member.
    let beside = [
        ("preset", l.preset.is_some()),
        ("uncertainty", l.uncertainty.is_some()),
        ("draws_file", l.draws_file.is_some()),
        ("mvn", l.mvn.is_some()),
    ]
    .into_iter()
    .chain(Coeff::ALL.map(|c| (c.name(), l.coefficient(c).is_some())))
    .find(|(_, given)| *given);
    if let Some((key, _)) = beside {
        return Err(Error::input(
            format!("law.{key}"),
            "not allowed beside law.mixture; give it inside each member",
        ));
    }
    let mut members: Vec<MixtureMember> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("law.mixture[{i}]");
        let weight = positive(&format!("{field}.weight"), item.weight)?.ok_or_else(|| {
            Error::input(
                format!("{field}.weight"),
                "missing; a weight > 0 (weights are normalised to sum to 1)",
            )
        })?;
        let as_law = RawLaw {
            preset: item.preset.clone(),
            uncertainty: item.uncertainty.clone(),
            draws_file: item.draws_file.clone(),
            ..RawLaw::default()
        };
        let law = single(&as_law, &field, base, limited_data)?;
        if let Some(first) = members.first().map(|m| &m.law) {
            if law.shape != first.shape || law.coeffs() != first.coeffs() {
                return Err(Error::input(&field, format!("preset {} has another form or other coefficients than {} ({}); members must share one form", law.preset, first.preset, first.names().join(", "))));
            }
        }
        members.push(MixtureMember { weight, law });
    }
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
        fit_range: None,
        non_embedding: false,
        draws_source: None,
        ..first
    })
}

/// The uncertainty of a law as written.
enum UncertaintyKind {
    None,
    Mvn,
    Draws,
}

/// One law: a preset, its uncertainty and overrides; `prefix` names it in messages
/// ("law", or "law.mixture[1]" for a member).
fn single(l: &RawLaw, prefix: &str, base: &Path, limited_data: bool) -> Result<Law> {
    let field = |key: &str| format!("{prefix}.{key}");
    let preset_name = l
        .preset
        .as_ref()
        .map_or_else(|| "epoch2024".to_string(), |t| t.0.clone());
    let preset = laws::find(&preset_name).ok_or_else(|| {
        Error::input(
            field("preset"),
            format!(
                "{preset_name:?} is not a preset; allowed: {}",
                laws::names()
            ),
        )
    })?;
    let time_term = match preset.time_term {
        laws::TimeTerm::Never => false,
        laws::TimeTerm::Always => true,
        laws::TimeTerm::WhenGiven => l.c.is_some(),
    };
    let shape = LawShape {
        form: preset.form,
        effective_params: preset.effective_params,
        time_term,
        embedding: None,
    };

    let kind = match l.uncertainty.as_ref().map(|t| t.0.as_str()) {
        None if preset.has_mvn => UncertaintyKind::Mvn,
        None | Some("none") => UncertaintyKind::None,
        Some("mvn") => UncertaintyKind::Mvn,
        Some("draws") => UncertaintyKind::Draws,
        Some(other) => {
            return Err(Error::input(
                field("uncertainty"),
                format!("{other:?} is not allowed; none | mvn | draws"),
            ))
        }
    };
    if l.draws_file.is_some() && !matches!(kind, UncertaintyKind::Draws) {
        return Err(Error::input(
            field("draws_file"),
            "used only with law.uncertainty = \"draws\"",
        ));
    }
    // Bootstrap rows (E, A, B, alpha, beta), loaded first: they stand in for point values a
    // preset lacks (custom), as their column medians.
    let law_draws = if matches!(kind, UncertaintyKind::Draws) {
        if shape.form != Form::Additive {
            return Err(Error::input(
                field("uncertainty"),
                format!(
                    "\"draws\" resamples (E, A, B, alpha, beta) rows; preset {} has another form",
                    preset.name
                ),
            ));
        }
        let draws_field = field("draws_file");
        Some(match &l.draws_file {
            Some(f) => {
                let text = super::read_text(&base.join(&f.0), super::MAX_CSV_BYTES, &draws_field)?;
                (f.0.clone(), super::load_law_draws(&text, &draws_field)?)
            }
            None if preset.has_draws => ("epoch2024 bootstrap (4000 draws, shipped)".to_string(), super::load_law_draws(laws::EPOCH2024_DRAWS_CSV, &draws_field)?),
            None => return Err(Error::input(draws_field, format!("missing; preset {} ships no draws, so give a CSV with columns E,A,B,alpha,beta (from `scalerisk fit`)", preset.name))),
        })
    } else {
        None
    };
    // The draws' own range, from the range file `scalerisk fit` writes beside them: a plan is
    // checked against the runs the draws were fitted to, not the preset's.
    let fitted = match (&law_draws, &l.draws_file) {
        (Some(_), Some(f)) => Some(fitted_range(&base.join(&f.0), &f.0, &field("draws_file"))?),
        _ => None,
    };
    let draws_median = |coeff: Coeff| {
        let col = crate::law::BOOTSTRAP_COLUMNS
            .iter()
            .position(|c| *c == coeff)?;
        let (_, rows) = law_draws.as_ref()?;
        let mut v: Vec<f64> = rows.iter().map(|r| r[col]).collect();
        Some(crate::stats::quantile(&mut v, 0.5))
    };

    let mut coefficients = Vec::new();
    for (coeff, domain_min) in coefficients_of(shape, limited_data) {
        let given = l
            .coefficient(coeff)
            .map(|spec| dist(coeff.field(), spec, base))
            .transpose()?;
        let point = match coeff {
            Coeff::RDStar => Some(laws::R_D_STAR),
            _ => laws::point(&preset, coeff).or_else(|| draws_median(coeff)),
        };
        let (dist, overridden) = match (given, point) {
            (Some(d), _) => (d, true),
            (None, Some(p)) => (Dist::Fixed(p), false),
            (None, None) => {
                return Err(Error::input(
                    coeff.field(),
                    format!("missing; preset {} needs {coeff} to be given", preset.name),
                ))
            }
        };
        let (lo, hi) = dist.support();
        let is_term = matches!(coeff, Coeff::E | Coeff::A | Coeff::B | Coeff::C);
        if is_term && !(hi <= super::MAX_TERM) {
            return Err(Error::input(
                coeff.field(),
                format!(
                    "{} reaches {hi:e}; must be at most {:e} (a loss no model has)",
                    dist.describe(),
                    super::MAX_TERM
                ),
            ));
        }
        if !(lo > domain_min) {
            return Err(Error::input(
                coeff.field(),
                format!(
                    "{} reaches {lo}; must be {}",
                    dist.describe(),
                    if domain_min < 0.0 { ">= 0" } else { "> 0" }
                ),
            ));
        }
        coefficients.push(Coef {
            coeff,
            dist,
            overridden,
            domain_min,
        });
    }
    let used = |c: Coeff| coefficients.iter().any(|x: &Coef| x.coeff == c);
    if let Some(extra) = Coeff::ALL
        .into_iter()
        .find(|c| l.coefficient(*c).is_some() && !used(*c))
    {
        let why = if matches!(extra, Coeff::RDStar | Coeff::RNStar) {
            "it applies only with data.unique_tokens (and R_N_star only to muennighoff2023)"
                .to_string()
        } else {
            format!("preset {} has no such coefficient", preset.name)
        };
        return Err(Error::input(
            extra.field(),
            format!(
                "not used: {why}; used here: {}",
                coefficients
                    .iter()
                    .map(|c| c.coeff.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }

    if l.mvn.is_some() && !matches!(kind, UncertaintyKind::Mvn) {
        return Err(Error::input(
            "law.mvn",
            "used only with law.uncertainty = \"mvn\"",
        ));
    }
    let uncertainty = match kind {
        UncertaintyKind::None => Uncertainty::None,
        UncertaintyKind::Mvn => {
            let (names, mean, cov) = match &l.mvn {
                Some(m) => mvn_table(m, preset.name, &coefficients)?,
                None if preset.has_mvn => (
                    ["lnA", "lnB", "lnE", "alpha", "beta"]
                        .map(|n| Coord::from_name(n).expect("coordinate names"))
                        .to_vec(),
                    preset.log_point.expect("mvn presets have log points").to_vec(),
                    laws::EPOCH2024_COV.iter().map(|r| r.to_vec()).collect(),
                ),
                None => return Err(Error::input(field("uncertainty"), format!("\"mvn\" needs a covariance; preset {} has none (epoch2024 has one), so add [law.mvn] with names, mean and cov, or use \"none\" or \"draws\"", preset.name))),
            };
            let (chol, jitter) = mvn::cholesky(&cov, "law.mvn.cov")?;
            mvn::check_support(
                &names,
                &mean,
                &cov,
                |c| {
                    coefficients
                        .iter()
                        .find(|x| x.coeff == c)
                        .map(|x| x.domain_min)
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
        UncertaintyKind::Draws => {
            let (source, rows) = law_draws.expect("loaded above for \"draws\"");
            let count = rows.len();
            Uncertainty::Draws {
                source,
                rows: Arc::new(rows),
                count,
            }
        }
    };
    Ok(Law {
        preset: preset.name.to_string(),
        shape,
        coefficients,
        uncertainty,
        illustrative: preset.illustrative,
        source: preset.source.to_string(),
        mixture: Vec::new(),
        fit_range: match &fitted {
            Some((range, _)) => *range,
            None => preset.fit_range,
        },
        non_embedding: preset.non_embedding,
        draws_source: fitted.map(|(_, source)| source),
    })
}

/// The range of the runs behind a draws file, from the range file `scalerisk fit` writes beside
/// it (`<stem>.range.csv`, docs/OUTPUTS.md), and the header's words for the draws. Without a
/// range file the runs are unknown: no range (the preset's runs are not the draws' runs).
fn fitted_range(draws: &Path, name: &str, field: &str) -> Result<(Option<laws::FitRange>, String)> {
    let path = super::draws_range_path(draws);
    let range_name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().to_string());
    if !path.exists() {
        return Ok((
            None,
            format!("draws from {name} (no {range_name} beside them: the runs they were fitted to are unknown, so no range check)"),
        ));
    }
    let text = super::read_text(&path, super::MAX_CSV_BYTES, field)?;
    let bad = |why: String| {
        Error::input(
            field,
            format!("{range_name}: {why}; write it again with `scalerisk fit --out`"),
        )
    };
    let mut rd = Csv::new(&text, Cells::Exact).map_err(|e| bad(e.to_string()))?;
    let header = rd.headers().clone();
    let row = rd
        .next_row()
        .ok_or_else(|| bad("no row".into()))?
        .map_err(|b| bad(format!("line {}: {}", b.line, b.error)))?
        .cells;
    let cell = |col: &str| -> Result<&str> {
        header
            .iter()
            .position(|h| h == col)
            .and_then(|i| row.get(i))
            .ok_or_else(|| bad(format!("no column {col}")))
    };
    let num = |col: &str| -> Result<f64> {
        let v = cell(col)?;
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
            .ok_or_else(|| bad(format!("{col} = {v:?} is not allowed; a positive number")))
    };
    let pair = |lo: &str, hi: &str| -> Result<(f64, f64)> {
        let (a, b) = (num(lo)?, num(hi)?);
        if a > b {
            return Err(bad(format!("{lo} = {a} is above {hi} = {b}")));
        }
        Ok((a, b))
    };
    let range = laws::FitRange {
        params: pair("params_min", "params_max")?,
        tokens: pair("tokens_min", "tokens_max")?,
        flops: pair("flops_min", "flops_max")?,
        source: "the runs of the draws' range file (scalerisk fit)",
    };
    let runs = cell("runs_file")?;
    Ok((Some(range), format!("draws from {name} (fit of {runs})")))
}

type MvnParts = (Vec<Coord>, Vec<f64>, Vec<Vec<f64>>);

/// `[law.mvn]`: names (coefficients of the preset, or lnA/lnB/lnE), mean and covariance.
fn mvn_table(m: &RawMvn, preset: &str, coefficients: &[Coef]) -> Result<MvnParts> {
    let Some(raw_names) = &m.names else {
        return Err(Error::input(
            "law.mvn.names",
            "missing; a list of coefficient names, e.g. [\"lnA\", \"alpha\"]",
        ));
    };
    let allowed = || {
        coefficients
            .iter()
            .map(|c| c.coeff.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if raw_names.is_empty() {
        return Err(Error::input(
            "law.mvn.names",
            format!(
                "[] is not allowed; name at least one coefficient of preset {preset}: {} (or lnA, lnB, lnE)",
                allowed()
            ),
        ));
    }
    let mut names = Vec::new();
    for n in raw_names {
        let coord = Coord::from_name(&n.0)
            .filter(|c| coefficients.iter().any(|x| x.coeff == c.coeff))
            .ok_or_else(|| {
                Error::input(
                    "law.mvn.names",
                    format!(
                        "{:?} is not a coefficient of preset {preset}; allowed: {} (and lnA, lnB, lnE)",
                        n.0,
                        allowed()
                    ),
                )
            })?;
        names.push(coord);
    }
    let mean: Vec<f64> = m
        .mean
        .as_ref()
        .filter(|v| v.len() == names.len())
        .map(|v| v.iter().map(|x| x.0).collect())
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
        .cov
        .as_ref()
        .filter(|c| c.len() == names.len())
        .map(|c| c.iter().map(|r| r.iter().map(|x| x.0).collect()).collect())
        .ok_or_else(|| {
            Error::input(
                "law.mvn.cov",
                format!("a {0}×{0} list of lists of numbers is needed", names.len()),
            )
        })?;
    Ok((names, mean, cov))
}
