//! Sensitivity (MODEL.md §5): for every uncertain scalar input, Spearman rank correlations with
//! the per-draw optimum (L*, P*, D*) and with the recommended plan's loss, and a tornado row:
//! the plan's mean loss over the draws where the input is in its lowest vs highest decile.

use serde::Serialize;

use crate::backend::DrawOptimum;
use crate::sampling::inputs::Input;
use crate::sampling::Draw;
use crate::scenario::Scenario;
use crate::stats;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub input: String,
    pub rho_loss_opt: f64,
    pub rho_params_opt: f64,
    pub rho_tokens_opt: f64,
    pub rho_loss_recommended: f64,
    /// The recommended plan's mean loss in the input's lowest decile of draws.
    pub tornado_low: f64,
    /// … and in its highest decile.
    pub tornado_high: f64,
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let (mx, _) = stats::mean_sd(x);
    let (my, _) = stats::mean_sd(y);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        f64::NAN
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Spearman's ρ: Pearson's correlation of the ranks (NaN when either side is constant).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&stats::ranks(x), &stats::ranks(y))
}

/// The uncertain scalar inputs of a run, by name, with their value in every draw (the input
/// table's columns, `sampling::inputs`, without the derived throughput and the mixture member);
/// inputs that are the same in every draw are left out.
pub fn inputs(s: &Scenario, draws: &[Draw]) -> Vec<(String, Vec<f64>)> {
    let mut out: Vec<(String, Vec<f64>)> = crate::sampling::inputs::columns(s)
        .into_iter()
        .filter(|i| !matches!(i, Input::Throughput | Input::LawMember))
        .map(|i| (i.name(), draws.iter().map(|d| i.value(d)).collect()))
        .collect();
    out.retain(|(_, v)| v.iter().all(|x| x.is_finite()) && v.iter().any(|x| *x != v[0]));
    out
}

/// One row per uncertain input; `plan_losses` is the recommended plan's loss in every draw.
pub fn rows(s: &Scenario, draws: &[Draw], optima: &[DrawOptimum], plan_losses: &[f64]) -> Vec<Row> {
    let l_star: Vec<f64> = optima.iter().map(|o| o.loss).collect();
    let p_star: Vec<f64> = optima.iter().map(|o| o.params).collect();
    let d_star: Vec<f64> = optima.iter().map(|o| o.tokens).collect();
    inputs(s, draws)
        .into_iter()
        .map(|(input, v)| {
            let (tornado_low, tornado_high) = deciles(&v, plan_losses);
            Row {
                rho_loss_opt: spearman(&v, &l_star),
                rho_params_opt: spearman(&v, &p_star),
                rho_tokens_opt: spearman(&v, &d_star),
                rho_loss_recommended: spearman(&v, plan_losses),
                tornado_low,
                tornado_high,
                input,
            }
        })
        .collect()
}

/// The plan's mean loss over the draws where `key` is in its lowest and in its highest decile.
fn deciles(key: &[f64], plan_losses: &[f64]) -> (f64, f64) {
    let mut sorted = key.to_vec();
    let lo = stats::quantile(&mut sorted, 0.1);
    let hi = stats::quantile(&mut sorted, 0.9);
    let mean_where = |keep: &dyn Fn(f64) -> bool| {
        let sel: Vec<f64> = key
            .iter()
            .zip(plan_losses)
            .filter(|(x, _)| keep(**x))
            .map(|(_, l)| *l)
            .collect();
        sel.iter().sum::<f64>() / sel.len() as f64
    };
    (mean_where(&|x| x <= lo), mean_where(&|x| x >= hi))
}

/// A tornado row for each group of several inputs (the law's joint coefficients): no single
/// input orders its draws, so they are ordered by the part of the plan's loss the group
/// explains, E[L | group], fitted by the value of information's regression
/// (`information::design`); the correlations are empty (they are per input).
pub fn group_rows(s: &Scenario, draws: &[Draw], plan_losses: &[f64]) -> Vec<Row> {
    use super::{groups, information};
    groups::groups(s, draws)
        .into_iter()
        .filter(|g| g.inputs.len() > 1)
        .map(|g| {
            let inputs: Vec<Vec<f64>> = g
                .inputs
                .iter()
                .map(|input| draws.iter().map(|d| input.value(d)).collect())
                .collect();
            let key = information::Projector::new(information::design(&inputs)).fit(plan_losses);
            let (tornado_low, tornado_high) = deciles(&key, plan_losses);
            Row {
                input: g.name,
                rho_loss_opt: f64::NAN,
                rho_params_opt: f64::NAN,
                rho_tokens_opt: f64::NAN,
                rho_loss_recommended: f64::NAN,
                tornado_low,
                tornado_high,
            }
        })
        .collect()
}

/// The `n` inputs with the largest |ρ| by `key`, strongest first.
pub fn strongest(rows: &[Row], key: fn(&Row) -> f64, n: usize) -> Vec<&Row> {
    let mut v: Vec<&Row> = rows.iter().filter(|r| key(r).is_finite()).collect();
    v.sort_by(|a, b| key(b).abs().total_cmp(&key(a).abs()));
    v.truncate(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: ranks of [3, 1, 3, 2] are [3.5, 1, 3.5, 2]; a monotone transform has ρ = 1,
    /// a reversed one −1; x = [1..5], y = [2, 1, 4, 3, 5] has Σd² = 4, ρ = 1 − 6·4/(5·24) = 0.8.
    #[test]
    fn spearman_by_hand() {
        assert_eq!(
            stats::ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((spearman(&x, &x.map(f64::exp)) - 1.0).abs() < 1e-15);
        assert!((spearman(&x, &x.map(|v| -v * v)) + 1.0).abs() < 1e-15);
        assert!((spearman(&x, &[2.0, 1.0, 4.0, 3.0, 5.0]) - 0.8).abs() < 1e-15);
        assert!(spearman(&x, &[1.0; 5]).is_nan());
    }
}
