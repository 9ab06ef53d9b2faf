//! A distribution as written ([`DistSpec`]) → the validated [`Dist`], and the support checks a
//! field applies to it.

use std::path::Path;
use std::sync::Arc;

use super::raw::DistSpec;
use crate::distributions::dist::Dist;
use crate::error::{Error, Result};

/// The distribution of `field`; a `draws` column is read from `base`'s folder.
pub fn dist(field: &str, spec: &DistSpec, base: &Path) -> Result<Dist> {
    match &spec.0 {
        Dist::Column { file, column, .. } => {
            let values =
                super::files::load_column(&base.join(file), column, &format!("{field}.draws"))?;
            Ok(Dist::Column {
                file: file.clone(),
                column: column.clone(),
                values: Arc::new(values),
            })
        }
        other => Ok(other.clone()),
    }
}

/// An optional distribution.
pub fn opt_dist(field: &str, spec: &Option<DistSpec>, base: &Path) -> Result<Option<Dist>> {
    spec.as_ref().map(|s| dist(field, s, base)).transpose()
}

/// Refuse a distribution whose support leaves [lo, hi] (bounds given as inclusive/exclusive text).
pub fn check_support(
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

/// A number that must be > 0.
pub fn positive(field: &str, x: Option<super::raw::Num>) -> Result<Option<f64>> {
    match x.map(|n| n.0) {
        Some(x) if x <= 0.0 => Err(Error::input(
            field,
            format!("{x} is not allowed; must be > 0"),
        )),
        other => Ok(other),
    }
}

/// A probability in [0, 1].
pub fn probability(field: &str, x: Option<super::raw::Num>) -> Result<Option<f64>> {
    match x.map(|n| n.0) {
        Some(x) if !(0.0..=1.0).contains(&x) => Err(Error::input(
            field,
            format!("{x} is not allowed; a probability in [0, 1]"),
        )),
        other => Ok(other),
    }
}
