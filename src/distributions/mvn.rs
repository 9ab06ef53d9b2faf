//! Multivariate normal over a group of coefficients, factored so that near-singular covariances
//! (the Epoch 2024 fit has corr(lnA, α) ≈ 0.9993) still give a valid, accurate factor.

use crate::error::{Error, Result};
use crate::law::{Coeff, Coord};

/// Lower-triangular Cholesky factor of `cov` (row-major, n×n). When the plain factorisation meets a
/// non-positive pivot (a singular or numerically indefinite matrix), a diagonal jitter of
/// 1e-12·max(diag) is added and grown ×10 until it succeeds, at most to 1e-6·max(diag); the jitter
/// used is returned so that callers can report it.
pub fn cholesky(cov: &[Vec<f64>], field: &str) -> Result<(Vec<Vec<f64>>, f64)> {
    let n = cov.len();
    for (i, row) in cov.iter().enumerate() {
        if row.len() != n {
            return Err(Error::input(
                field,
                format!(
                    "covariance row {i} has {} entries; a {n}×{n} matrix is needed",
                    row.len()
                ),
            ));
        }
        for j in 0..n {
            if (cov[i][j] - cov[j][i]).abs() > 1e-12 * (cov[i][i].abs() + cov[j][j].abs()) {
                return Err(Error::input(
                    field,
                    format!(
                        "covariance is not symmetric at ({i}, {j}): {} vs {}",
                        cov[i][j], cov[j][i]
                    ),
                ));
            }
        }
        if !(cov[i][i] > 0.0) {
            return Err(Error::input(
                field,
                format!(
                    "covariance diagonal entry {i} is {}; variances must be > 0",
                    cov[i][i]
                ),
            ));
        }
    }
    let scale = (0..n).map(|i| cov[i][i]).fold(0.0, f64::max);
    let mut jitter = 0.0;
    loop {
        if let Some(l) = try_cholesky(cov, jitter) {
            return Ok((l, jitter));
        }
        jitter = if jitter == 0.0 {
            1e-12 * scale
        } else {
            jitter * 10.0
        };
        if jitter > 1e-6 * scale {
            return Err(Error::input(field, "covariance is not positive semi-definite (Cholesky failed even with jitter 1e-6·max variance)"));
        }
    }
}

fn try_cholesky(cov: &[Vec<f64>], jitter: f64) -> Option<Vec<Vec<f64>>> {
    let n = cov.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = cov[i][j] + if i == j { jitter } else { 0.0 };
            for (a, b) in l[i][..j].iter().zip(&l[j][..j]) {
                s -= a * b;
            }
            if i == j {
                if !(s > 0.0) {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

/// The mvn path's domain check, the one a plain `normal` coefficient gets: each coefficient's
/// marginal N(mean, var) within 8 standard deviations must stay in its domain. `domain(name)`
/// gives the bound a value must exceed (None: not a coefficient of the law); `lnA`, `lnB`, `lnE`
/// are always positive once exponentiated, but E, A and B (plain or exp'd) must be at most
/// [`MAX_TERM`](crate::law::MAX_TERM). Names may appear once each.
pub fn check_support(
    names: &[Coord],
    mean: &[f64],
    cov: &[Vec<f64>],
    domain: impl Fn(Coeff) -> Option<f64>,
    field: &str,
) -> Result<()> {
    let max_term = crate::law::MAX_TERM;
    for (i, coord) in names.iter().enumerate() {
        let (n, base) = (coord.name(), coord.coeff.name());
        if let Some(j) = names[..i].iter().position(|m| m.coeff == coord.coeff) {
            return Err(Error::input(
                format!("{field}.names"),
                format!(
                    "{:?} and {n:?} both give {base}; name each coefficient once",
                    names[j].name()
                ),
            ));
        }
        let sd = cov[i][i].sqrt();
        let (lo, hi) = (mean[i] - 8.0 * sd, mean[i] + 8.0 * sd);
        let reach = format!(
            "{n} ~ N({}, sd {sd:.4}) reaches {{}} (within 8 standard deviations)",
            mean[i]
        );
        let is_term = [Coeff::A, Coeff::B, Coeff::E, Coeff::C].contains(&coord.coeff);
        if coord.log {
            if !(hi.exp() <= max_term) {
                return Err(Error::input(
                    field,
                    format!(
                        "{}, so {base} = exp({hi:.4}) = {:e}; {base} must be at most {max_term:e}",
                        reach.replace("{}", &format!("{hi:.4}")),
                        hi.exp()
                    ),
                ));
            }
            continue;
        }
        let Some(min) = domain(coord.coeff) else {
            continue;
        };
        if !(lo > min) {
            return Err(Error::input(
                field,
                format!(
                    "{}; {n} must be {}: lower its variance or use law.uncertainty = \"draws\"",
                    reach.replace("{}", &format!("{lo:.4}")),
                    if min < 0.0 { ">= 0" } else { "> 0" }
                ),
            ));
        }
        if is_term && !(hi <= max_term) {
            return Err(Error::input(
                field,
                format!(
                    "{}; {n} must be at most {max_term:e}",
                    reach.replace("{}", &format!("{hi:e}"))
                ),
            ));
        }
    }
    Ok(())
}

/// The log density at `x` of the joint normal with `mean` and lower Cholesky factor `chol`
/// (Σ = L·Lᵀ): −½|z|² − Σ ln L_ii − (k/2)·ln 2π with L·z = x − mean (forward substitution).
pub fn ln_pdf(mean: &[f64], chol: &[Vec<f64>], x: &[f64]) -> f64 {
    let k = mean.len();
    let mut z = vec![0.0; k];
    for i in 0..k {
        let s: f64 = (0..i).map(|j| chol[i][j] * z[j]).sum();
        z[i] = (x[i] - mean[i] - s) / chol[i][i];
    }
    let log_det: f64 = (0..k).map(|i| chol[i][i].ln()).sum();
    -0.5 * z.iter().map(|v| v * v).sum::<f64>()
        - log_det
        - 0.5 * k as f64 * (2.0 * std::f64::consts::PI).ln()
}

/// mean + L·z for standard normals z.
pub fn transform(mean: &[f64], chol: &[Vec<f64>], z: &[f64]) -> Vec<f64> {
    mean.iter()
        .enumerate()
        .map(|(i, m)| m + (0..=i).map(|k| chol[i][k] * z[k]).sum::<f64>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::laws::EPOCH2024_COV;

    /// Σ = [[4, 2], [2, 2]] (L = [[2, 0], [1, 1]], det 4) at mean + (2, 2): the quadratic form
    /// dᵀΣ⁻¹d = 2 by hand, so ln p = −1 − ½ ln 4 − ln 2π.
    #[test]
    fn ln_pdf_of_a_two_dimensional_normal() {
        let chol = vec![vec![2.0, 0.0], vec![1.0, 1.0]];
        let got = ln_pdf(&[1.0, -1.0], &chol, &[3.0, 1.0]);
        let want = -1.0 - 2f64.ln() - (2.0 * std::f64::consts::PI).ln();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn factor_reproduces_the_epoch_covariance() {
        let cov: Vec<Vec<f64>> = EPOCH2024_COV.iter().map(|r| r.to_vec()).collect();
        let (l, _) = cholesky(&cov, "law.mvn").unwrap();
        for i in 0..5 {
            for j in 0..5 {
                let llt: f64 = (0..5).map(|k| l[i][k] * l[j][k]).sum();
                assert!(
                    (llt - cov[i][j]).abs() <= 1e-9 * (cov[i][i] * cov[j][j]).sqrt(),
                    "({i},{j})"
                );
            }
        }
    }

    #[test]
    fn support_outside_the_domain_is_refused() {
        let coords = |ns: [&str; 2]| ns.map(|n| Coord::from_name(n).unwrap()).to_vec();
        let names = coords(["lnE", "alpha"]);
        let dom = |c: Coeff| match c {
            Coeff::E => Some(-f64::MIN_POSITIVE),
            Coeff::Alpha => Some(0.0),
            _ => None,
        };
        let cov = vec![vec![0.01, 0.0], vec![0.0, 1e-4]];
        assert!(check_support(&names, &[0.5, 0.35], &cov, dom, "law.mvn").is_ok());
        let wide = vec![vec![0.01, 0.0], vec![0.0, 1.0]];
        let e = check_support(&names, &[0.5, 0.35], &wide, dom, "law.mvn")
            .unwrap_err()
            .to_string();
        assert!(e.contains("alpha") && e.contains("> 0"), "{e}");
        let e = check_support(&names, &[800.0, 0.35], &cov, dom, "law.mvn")
            .unwrap_err()
            .to_string();
        assert!(e.contains("E = exp("), "{e}");
        let dup = coords(["lnE", "E"]);
        assert!(check_support(&dup, &[0.5, 1.8], &cov, dom, "law.mvn").is_err());
    }

    #[test]
    fn singular_matrix_gets_jitter_and_indefinite_is_refused() {
        let singular = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
        let (_, jitter) = cholesky(&singular, "x").unwrap();
        assert!(jitter > 0.0);
        let indefinite = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        assert!(cholesky(&indefinite, "x").is_err());
    }
}
