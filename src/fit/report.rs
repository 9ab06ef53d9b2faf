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

/// The draws' range file: the runs a fit read, beside its draws (`fitted_draws.range.csv` for
/// `fitted_draws.csv`), so a run using the draws checks its plan against them as it checks a
/// preset's (docs/OUTPUTS.md). A CSV of its own keeps the draws CSV readable with no options.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RangeRow {
    /// The runs file's name (not its path: the draws may travel without it).
    pub runs_file: String,
    pub runs: usize,
    pub params_min: Num,
    pub params_max: Num,
    pub tokens_min: Num,
    pub tokens_max: Num,
    /// Training FLOPs, 6·P·D.
    pub flops_min: Num,
    pub flops_max: Num,
}

/// The range file of a fit of `runs` read from `runs_file`.
pub fn range_csv(runs: &[crate::fit::runs::Run], runs_file: &str) -> Result<Vec<u8>> {
    let span = |v: &dyn Fn(&crate::fit::runs::Run) -> f64| {
        runs.iter()
            .map(v)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(x), b.max(x))
            })
    };
    let (p, d, c) = (
        span(&|r| r.params),
        span(&|r| r.tokens),
        span(&|r| crate::fit::runs::FLOPS_PER_PARAM_TOKEN * r.params * r.tokens),
    );
    let row = RangeRow {
        runs_file: runs_file.to_string(),
        runs: runs.len(),
        params_min: Num(p.0),
        params_max: Num(p.1),
        tokens_min: Num(d.0),
        tokens_max: Num(d.1),
        flops_min: Num(c.0),
        flops_max: Num(c.1),
    };
    crate::export::rows_csv([row], 0)
}

/// Where the range file of the draws at `draws` lies (the scenario's reader looks there).
pub use crate::scenario::draws_range_path as range_path;

/// The range file's header line (its first line, by which a writer recognises its own file).
pub fn range_header() -> Result<String> {
    let bytes = crate::export::rows_csv(std::iter::empty::<RangeRow>(), 0)?;
    Ok(String::from_utf8_lossy(&bytes).trim_end().to_string())
}
