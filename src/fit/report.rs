//! What `scalerisk fit` prints and writes: the coefficient table with bootstrap intervals, the
//! implied compute-optimal exponent and tokens per parameter, and the draws CSV.

use std::fmt::Write;

use super::{Fitted, Interval};
use crate::error::Result;
use crate::export::Num;
use crate::law;

/// Compute-optimal split at `flops` (C = 6·P·D): (P_opt, D_opt/P_opt).
fn tokens_per_param(f: &Fitted, flops: f64) -> (f64, f64) {
    let (p, d) = law::chinchilla_optimum(&f.coeffs(), flops, super::runs::FLOPS_PER_PARAM_TOKEN);
    (p, d / p)
}

/// The table of coefficients: estimate, bootstrap SE and 95% percentile interval.
pub fn render(point: &Fitted, boot: &[Fitted], at_flops: f64) -> String {
    let mut s = String::new();
    type Getter = fn(&Fitted) -> f64;
    let rows: [(&str, Getter); 6] = [
        ("E", |f| f.e),
        ("A", |f| f.a),
        ("B", |f| f.b),
        ("alpha", |f| f.alpha),
        ("beta", |f| f.beta),
        ("a = β/(α+β)", Fitted::exponent_a),
    ];
    let _ = writeln!(
        s,
        "{:<12} {:>12} {:>12}   95% interval ({} bootstrap refits)",
        "coefficient",
        "estimate",
        "SE",
        boot.len()
    );
    let g = |v: f64| format!("{v:.6}");
    let mut push = |name: &str, point_v: f64, values: Vec<f64>| {
        if values.len() >= 2 {
            let i = Interval::of(point_v, &values);
            let _ = writeln!(
                s,
                "{name:<12} {:>12} {:>12}   [{}, {}]",
                g(i.point),
                g(i.se),
                g(i.lo),
                g(i.hi)
            );
        } else {
            let _ = writeln!(s, "{name:<12} {:>12}", g(point_v));
        }
    };
    for (name, get) in rows {
        push(name, get(point), boot.iter().map(get).collect());
    }
    let (p_opt, tpp) = tokens_per_param(point, at_flops);
    push(
        "tokens/param",
        tpp,
        boot.iter()
            .map(|f| tokens_per_param(f, at_flops).1)
            .collect(),
    );
    let _ = writeln!(
        s,
        "\nat C = {at_flops:.3e} FLOPs (C = 6·P·D): P_opt = {p_opt:.3e} params, D_opt/P_opt = {tpp:.1} tokens per parameter"
    );
    s
}

/// One row of the draws CSV: the columns `E,A,B,alpha,beta` (what `law.draws_file` reads).
#[derive(Debug, Clone, Default, serde::Serialize)]
struct DrawRow {
    #[serde(rename = "E")]
    e: Num,
    #[serde(rename = "A")]
    a: Num,
    #[serde(rename = "B")]
    b: Num,
    alpha: Num,
    beta: Num,
}

/// The draws as a CSV with columns `E,A,B,alpha,beta` (what `law.draws_file` reads).
pub fn draws_csv(boot: &[Fitted]) -> Result<Vec<u8>> {
    let rows = boot.iter().map(|f| {
        let [e, a, b, alpha, beta] = f.row().map(Num);
        DrawRow {
            e,
            a,
            b,
            alpha,
            beta,
        }
    });
    crate::export::rows_csv(rows, 0)
}
