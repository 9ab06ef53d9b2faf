//! The last domain check of a scenario: the law's loss, at the corners of the search grid and
//! at the ends of every coefficient's range (a distribution's 8-standard-deviation support, an
//! mvn group's 8-sigma box, a draws file's column range), must be a finite number a model could
//! have. The per-coefficient checks (α, β > 0, E, A, B, c ≤ `MAX_TERM`, P, D ≥ 1) already bound
//! the additive form; this catches what they cannot, e.g. a Kaplan exponent ratio or a time term
//! c·T^−γ that overflows.

use super::{Scenario, Uncertainty};
use crate::error::{Error, Result};
use crate::law::{self, Coeff, Coeffs};

/// Largest loss (nats per token) any draw may reach at any grid corner.
pub const MAX_LOSS: f64 = 1e13;

/// Refuse a scenario whose law can give a non-finite or absurd loss on its grid.
pub fn check_loss_range(s: &Scenario) -> Result<()> {
    // (name, low, high) of every coefficient, from where its draws come.
    let mut ranges: Vec<(Coeff, f64, f64)> = s
        .law
        .coefficients
        .iter()
        .map(|c| {
            let (lo, hi) = if c.overridden {
                c.dist.support()
            } else {
                (c.dist.point(), c.dist.point())
            };
            (c.coeff, lo, hi)
        })
        .collect();
    let mut set_range = |coeff: Coeff, lo: f64, hi: f64| {
        if s.law.is_overridden(coeff) {
            return;
        }
        if let Some(r) = ranges.iter_mut().find(|r| r.0 == coeff) {
            (r.1, r.2) = (lo, hi);
        }
    };
    match &s.law.uncertainty {
        Uncertainty::None => {}
        Uncertainty::Mvn(m) => {
            for (i, coord) in m.names.iter().enumerate() {
                let sd = m.cov[i][i].sqrt();
                let (lo, hi) = (m.mean[i] - 8.0 * sd, m.mean[i] + 8.0 * sd);
                if coord.log {
                    set_range(coord.coeff, lo.exp(), hi.exp());
                } else {
                    set_range(coord.coeff, lo, hi);
                }
            }
        }
        Uncertainty::Draws { rows, .. } => {
            for (j, coeff) in crate::law::BOOTSTRAP_COLUMNS.into_iter().enumerate() {
                let (lo, hi) = rows
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |a, r| {
                        (a.0.min(r[j]), a.1.max(r[j]))
                    });
                set_range(coeff, lo, hi);
            }
        }
    }
    let varying: Vec<usize> = (0..ranges.len())
        .filter(|&i| ranges[i].1 != ranges[i].2)
        .collect();
    let unique = match &s.data.unique_tokens {
        Some(d) => d.support().0,
        None => f64::INFINITY,
    };
    let t_min = s.search.hours.iter().copied().fold(f64::INFINITY, f64::min);
    let (p, d) = (&s.search.params, &s.search.tokens);
    for corner in 0u32..(1 << varying.len()) {
        let mut k = Coeffs::default();
        for (i, (coeff, lo, hi)) in ranges.iter().enumerate() {
            let high = varying
                .iter()
                .position(|&v| v == i)
                .is_some_and(|bit| corner & (1 << bit) != 0);
            coeff.set(&mut k, if high { *hi } else { *lo });
        }
        for (pp, dd) in [
            (p.min, d.min),
            (p.min, d.max),
            (p.max, d.min),
            (p.max, d.max),
        ] {
            let l = law::loss(s.law.shape, &k, pp, dd, t_min, unique);
            if !(l.is_finite() && l <= MAX_LOSS) {
                let at: Vec<String> = ranges
                    .iter()
                    .filter(|r| r.1 != r.2)
                    .map(|r| format!("{} in [{:e}, {:e}]", r.0, r.1, r.2))
                    .collect();
                return Err(Error::input(
                    "law",
                    format!(
                        "the loss reaches {l:e} at params {pp:e}, tokens {dd:e}, hours {t_min}{}; a loss must stay finite and at most {MAX_LOSS:e}: narrow the coefficients or the grid",
                        if at.is_empty() {
                            String::new()
                        } else {
                            format!(" with {}", at.join(", "))
                        }
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const KAPLAN: &str = "name = \"k\"\n[budget]\ngpu = \"a100-80gb\"\nhours = 72\n\
        [law]\npreset = \"kaplan2020\"\n";

    #[test]
    fn an_overflowing_kaplan_exponent_ratio_is_refused() {
        let ok = crate::scenario::from_str(KAPLAN, Path::new("."), &[]);
        assert!(ok.is_ok(), "{:?}", ok.err());
        let bad = format!("{KAPLAN}alpha_N = 200.0\nalpha_D = 0.01\n");
        let e = crate::scenario::from_str(&bad, Path::new("."), &[])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("law: the loss reaches inf"), "{e}");
    }
}
