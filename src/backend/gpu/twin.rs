//! The Rust twin of `shaders/evaluate.wgsl`: the same steps in the same order (log space, host
//! prepared draw), in f64. Tests hold it against `law::loss` (the reference) and the GPU against
//! the CPU backend.

use super::layout::DrawGpu;
use crate::law::{Coeffs, Form, LawShape};
use crate::sampling::Draw;

/// The f64 form of a [`DrawGpu`] before rounding to f32.
#[derive(Debug, Clone, Copy)]
pub struct DrawPrep {
    pub e: f64,
    pub ln_a: f64,
    pub ln_b: f64,
    pub alpha: f64,
    pub beta: f64,
    pub c: f64,
    pub gamma: f64,
    pub ln_x: f64,
    pub ln_u: f64,
    pub rd_star: f64,
    pub rn_star: f64,
    pub ln_nopt: f64,
    pub alpha_d: f64,
}

/// Host preparation of one draw (shader field meanings in `evaluate.wgsl`).
pub fn prepare(shape: LawShape, d: &Draw, k: f64) -> DrawPrep {
    let c: &Coeffs = &d.coeffs;
    let ln_u = if d.unique_tokens.is_finite() {
        d.unique_tokens.ln()
    } else {
        f64::from(super::layout::UNLIMITED)
    };
    let ln_nopt = if shape.effective_params && d.unique_tokens.is_finite() {
        let g = ((c.alpha * c.a) / (c.beta * c.b)).powf(1.0 / (c.alpha + c.beta));
        (c.beta / c.alpha) * (d.unique_tokens * g).ln() + g.ln()
    } else {
        0.0
    };
    let (ln_a, ln_b, alpha, beta) = match shape.form {
        Form::Additive => (c.a.ln(), c.b.ln(), c.alpha, c.beta),
        Form::Kaplan => (c.n_c.ln(), c.d_c.ln(), c.alpha_n / c.alpha_d, 0.0),
    };
    DrawPrep {
        e: c.e,
        ln_a,
        ln_b,
        alpha,
        beta,
        c: c.c,
        gamma: c.gamma,
        ln_x: (d.throughput * 3600.0 / k).ln(),
        ln_u,
        rd_star: c.r_d_star,
        rn_star: c.r_n_star,
        ln_nopt,
        alpha_d: c.alpha_d,
    }
}

impl DrawPrep {
    pub fn to_gpu(&self, l_star: f64) -> DrawGpu {
        DrawGpu {
            e: self.e as f32,
            ln_a: self.ln_a as f32,
            ln_b: self.ln_b as f32,
            alpha: self.alpha as f32,
            beta: self.beta as f32,
            c: self.c as f32,
            gamma: self.gamma as f32,
            ln_x: self.ln_x as f32,
            ln_u: self.ln_u as f32,
            rd_star: self.rd_star as f32,
            rn_star: self.rn_star as f32,
            ln_nopt: self.ln_nopt as f32,
            l_star: l_star as f32,
            alpha_d: self.alpha_d as f32,
            _pad0: 0.0,
            _pad1: 0.0,
        }
    }
}

fn repetition_gain(r: f64, r_star: f64) -> f64 {
    (1.0 + r_star * (1.0 - (-r / r_star).exp())).ln()
}

/// `evaluate()` of the shader: (loss, complete, used share of T).
pub fn evaluate(
    shape: LawShape,
    ln_p: f64,
    ln_d: f64,
    ln_t: f64,
    dw: &DrawPrep,
) -> (f64, bool, f64) {
    let ln_cap = dw.ln_x + ln_t - ln_p;
    let ln_run = ln_d.min(ln_cap);
    let mut ln_deff = ln_run;
    if ln_run > dw.ln_u {
        ln_deff = dw.ln_u + repetition_gain((ln_run - dw.ln_u).exp() - 1.0, dw.rd_star);
    }
    let mut ln_peff = ln_p;
    if shape.effective_params && dw.ln_u < f64::from(super::layout::UNLIMITED) {
        let ln_un = ln_p.min(dw.ln_nopt);
        ln_peff = ln_un + repetition_gain(((ln_p - ln_un).exp() - 1.0).max(0.0), dw.rn_star);
    }
    let loss = match shape.form {
        Form::Additive => {
            let mut l =
                dw.e + (dw.ln_a - dw.alpha * ln_peff).exp() + (dw.ln_b - dw.beta * ln_deff).exp();
            if shape.time_term {
                l += dw.c * (-dw.gamma * ln_t).exp();
            }
            l
        }
        Form::Kaplan => (dw.alpha_d
            * ((dw.alpha * (dw.ln_a - ln_peff)).exp() + (dw.ln_b - ln_deff).exp()).ln())
        .exp(),
    };
    (loss, ln_d <= ln_cap, (ln_d - ln_cap).min(0.0).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::law;

    /// The twin follows the reference formula to f64 rounding for every form.
    #[test]
    fn twin_matches_the_reference() {
        let k = Coeffs::test_fixture();
        for (form, effective_params, time_term) in [
            (Form::Additive, false, false),
            (Form::Additive, true, true),
            (Form::Kaplan, false, false),
        ] {
            let shape = LawShape {
                form,
                effective_params,
                time_term,
            };
            for unique in [f64::INFINITY, 2e10] {
                let d = Draw {
                    coeffs: k,
                    mfu: 0.4,
                    goodput: 1.0,
                    unique_tokens: unique,
                    throughput: 2e14,
                };
                let prep = prepare(shape, &d, 6.0);
                let cases: [(f64, f64, f64); 4] = [
                    (1e8, 3e9, 10.0),
                    (2e9, 1e11, 72.0),
                    (5e9, 4e11, 200.0),
                    (4e10, 1e12, 30.0),
                ];
                for (p, dv, t) in cases {
                    let cap = 2e14 * 3600.0 * t / (6.0 * p);
                    let want = law::loss(shape, &k, p, dv.min(cap), t, unique);
                    let (got, complete, used) =
                        evaluate(shape, f64::ln(p), f64::ln(dv), f64::ln(t), &prep);
                    assert!(
                        (got / want - 1.0).abs() < 1e-12,
                        "{shape:?} U={unique} P={p:e}: {got} vs {want}"
                    );
                    assert_eq!(complete, dv <= cap);
                    assert!((used - (dv / cap).min(1.0)).abs() < 1e-12);
                }
            }
        }
    }
}
