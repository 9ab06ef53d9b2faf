//! Hoffmann et al. 2022, Appendix D.2: the Huber loss of log L against
//! LSE(a − α ln P, b − β ln D, e), with its gradient, for argmin's L-BFGS.
//!
//! θ = (a, b, e, α, β); then A, B, E = exp(a), exp(b), exp(e).

use argmin::core::{CostFunction, Error as ArgminError, Gradient};

use super::runs::Run;

/// One run in the form the objective uses.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub ln_p: f64,
    pub ln_d: f64,
    pub ln_l: f64,
}

impl From<&Run> for Point {
    fn from(r: &Run) -> Self {
        Point {
            ln_p: r.params.ln(),
            ln_d: r.tokens.ln(),
            ln_l: r.loss.ln(),
        }
    }
}

/// The sum over points of Huber_δ(LSE(...) − ln L).
#[derive(Clone, Copy)]
pub struct Objective<'a> {
    pub points: &'a [Point],
    pub delta: f64,
}

/// Huber's loss and its derivative.
fn huber(r: f64, delta: f64) -> (f64, f64) {
    if r.abs() <= delta {
        (0.5 * r * r, r)
    } else {
        (delta * (r.abs() - 0.5 * delta), delta * r.signum())
    }
}

impl Objective<'_> {
    /// Value and gradient at θ in one pass.
    pub fn value_grad(&self, t: &[f64]) -> (f64, [f64; 5]) {
        let (a, b, e, alpha, beta) = (t[0], t[1], t[2], t[3], t[4]);
        let mut value = 0.0;
        let mut g = [0.0; 5];
        for p in self.points {
            let x = [a - alpha * p.ln_p, b - beta * p.ln_d, e];
            let m = x[0].max(x[1]).max(x[2]);
            let w = x.map(|xi| (xi - m).exp());
            let sum = w[0] + w[1] + w[2];
            let lse = m + sum.ln();
            let (h, dh) = huber(lse - p.ln_l, self.delta);
            value += h;
            let s = w.map(|wi| dh * wi / sum);
            g[0] += s[0];
            g[1] += s[1];
            g[2] += s[2];
            g[3] -= s[0] * p.ln_p;
            g[4] -= s[1] * p.ln_d;
        }
        (value, g)
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, t: &Vec<f64>) -> Result<f64, ArgminError> {
        Ok(self.value_grad(t).0)
    }
}

impl Gradient for Objective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, t: &Vec<f64>) -> Result<Vec<f64>, ArgminError> {
        Ok(self.value_grad(t).1.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic gradient against central differences, at a point where every residual is
    /// in one of Huber's two regimes and away from the kink.
    #[test]
    fn gradient_matches_finite_differences() {
        let points: Vec<Point> = (0..30)
            .map(|i| {
                let ln_p = 17.0 + 0.2 * f64::from(i);
                let ln_d = 20.0 + 0.13 * f64::from(i);
                Point {
                    ln_p,
                    ln_d,
                    ln_l: (1.8 + 480.0 * (-0.34 * ln_p).exp() + 2100.0 * (-0.37 * ln_d).exp()).ln()
                        + 0.01 * (f64::from(i) * 1.7).sin(),
                }
            })
            .collect();
        for delta in [1e-3, 1.0] {
            let f = Objective {
                points: &points,
                delta,
            };
            let t = [6.1, 7.6, 0.6, 0.33, 0.36];
            let (_, g) = f.value_grad(&t);
            for k in 0..5 {
                let h = 1e-6;
                let (mut up, mut dn) = (t, t);
                up[k] += h;
                dn[k] -= h;
                let fd = (f.value_grad(&up).0 - f.value_grad(&dn).0) / (2.0 * h);
                assert!(
                    (fd - g[k]).abs() <= 1e-5 * (1.0 + g[k].abs()),
                    "k={k} fd={fd} g={}",
                    g[k]
                );
            }
        }
    }
}
