//! Scaling-law presets of docs/MODEL.md §3: forms, point coefficients, uncertainty and sources.

// Published constants keep every digit their sources give.
#![allow(clippy::excessive_precision)]

use crate::law::Form;

/// The Epoch AI 2024 bootstrap covariance of (lnA, lnB, lnE, alpha, beta),
/// Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt".
pub const EPOCH2024_COV: [[f64; 5]; 5] = [
    [
        6.665505185485945e-02,
        -2.782103937614091e-02,
        2.134113106707429e-03,
        3.973358519654227e-03,
        -1.393559958544392e-03,
    ],
    [
        -2.782103937614091e-02,
        1.773696096728450e-01,
        3.602957645162928e-03,
        -1.727047288659363e-03,
        8.674264284282524e-03,
    ],
    [
        2.134113106707429e-03,
        3.602957645162928e-03,
        1.988682279397113e-04,
        1.260514812112548e-04,
        1.755178661259124e-04,
    ],
    [
        3.973358519654227e-03,
        -1.727047288659363e-03,
        1.260514812112548e-04,
        2.371771822607290e-04,
        -8.656299297864170e-05,
    ],
    [
        -1.393559958544392e-03,
        8.674264284282524e-03,
        1.755178661259124e-04,
        -8.656299297864170e-05,
        4.244887417860974e-04,
    ],
];

/// The 4000 bootstrap draws of Epoch's refit (columns logA, logB, logE, alpha, beta), shipped in
/// the binary so that `uncertainty = "draws"` works without any file (data/README.md).
pub const EPOCH2024_DRAWS_CSV: &str = include_str!("../../data/epoch2024_bootstrap_draws.csv");

/// Muennighoff et al. 2023 (datablations): data repetition half-life R*_D, used by every law.
pub const R_D_STAR: f64 = 15.387756;
/// Muennighoff et al. 2023: parameter repetition constant R*_N (muennighoff2023 only).
pub const R_N_STAR: f64 = 5.309743;

/// One law preset.
#[derive(Debug, Clone)]
pub struct LawPreset {
    pub name: &'static str,
    pub form: Form,
    /// Coefficients by their MODEL.md names (E, A, B, alpha, beta, c, gamma, N_c, D_c, alpha_N,
    /// alpha_D, R_N_star) with their point values. `None`: E, A, B of a preset that states its
    /// fit in log space (see [`log_point`]), or a value the user must give.
    pub coefficients: &'static [(&'static str, Option<f64>)],
    /// Effective parameters P' (Muennighoff 2023) apply.
    pub effective_params: bool,
    /// Whether the preset carries a covariance for `uncertainty = "mvn"`.
    pub has_mvn: bool,
    /// Whether the preset ships bootstrap draws for `uncertainty = "draws"`.
    pub has_draws: bool,
    pub illustrative: bool,
    pub source: &'static str,
}

/// The presets, in the order `scalerisk laws` prints them.
pub fn presets() -> Vec<LawPreset> {
    vec![
        LawPreset {
            name: "chinchilla",
            form: Form::Additive,
            // Unrounded Approach 3 values as used by Besiroglu 2024 (rounded: E 1.69, A 406.4, B 410.7).
            coefficients: &[
                ("E", None),
                ("A", None),
                ("B", None),
                ("alpha", Some(0.339_170_84)),
                ("beta", Some(0.284_908_3)),
            ],
            effective_params: false,
            has_mvn: false,
            has_draws: false,
            illustrative: false,
            source: "Hoffmann et al. 2022, Approach 3 (unrounded, as used by Besiroglu et al. 2024)",
        },
        LawPreset {
            name: "epoch2024",
            form: Form::Additive,
            coefficients: &[("E", None), ("A", None), ("B", None), ("alpha", Some(0.347_813_029_0)), ("beta", Some(0.365_854_117_3))],
            effective_params: false,
            has_mvn: true,
            has_draws: true,
            illustrative: false,
            source: "Besiroglu et al. 2024, \"Chinchilla Scaling: A replication attempt\" (Epoch AI)",
        },
        LawPreset {
            name: "muennighoff2023",
            form: Form::Additive,
            coefficients: &[
                ("E", None),
                ("A", None),
                ("B", None),
                ("alpha", Some(0.352_659_6)),
                ("beta", Some(0.352_659_6)),
                ("R_N_star", Some(R_N_STAR)),
            ],
            effective_params: true,
            has_mvn: false,
            has_draws: false,
            illustrative: false,
            source: "Muennighoff et al. 2023, \"Scaling Data-Constrained Language Models\" (datablations README)",
        },
        LawPreset {
            name: "kaplan2020",
            form: Form::Kaplan,
            coefficients: &[("alpha_N", Some(0.076)), ("alpha_D", Some(0.103)), ("N_c", Some(6.4e13)), ("D_c", Some(1.8e13))],
            effective_params: false,
            has_mvn: false,
            has_draws: false,
            illustrative: false,
            source: "Kaplan et al. 2020, Table 2 (P = non-embedding parameters)",
        },
        LawPreset {
            name: "seed",
            form: Form::Additive,
            coefficients: &[
                ("E", None),
                ("A", None),
                ("B", None),
                ("alpha", Some(0.07)),
                ("beta", Some(0.1)),
                ("c", None),
                ("gamma", Some(0.5)),
            ],
            effective_params: false,
            has_mvn: false,
            has_draws: false,
            illustrative: true,
            source: "the origin document's three-factor law E + a·P^-α + b·D^-β + c·T^-γ: illustrative, not fitted to data",
        },
        LawPreset {
            name: "custom",
            form: Form::Additive,
            coefficients: &[("E", None), ("A", None), ("B", None), ("alpha", None), ("beta", None), ("c", Some(0.0)), ("gamma", Some(0.0))],
            effective_params: false,
            has_mvn: false,
            has_draws: false,
            illustrative: false,
            source: "user-given Chinchilla form, optionally plus c·T^-γ",
        },
    ]
}

/// The published log-space point values (lnA, lnB, lnE, alpha, beta) of the Chinchilla-form
/// presets that state their fit in log space; `None` for the others.
pub fn log_point(name: &str) -> Option<[f64; 5]> {
    match name {
        "chinchilla" => Some([6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083]),
        "epoch2024" => Some([
            6.177955976,
            7.642732362,
            0.597111960,
            0.3478130290,
            0.3658541173,
        ]),
        "muennighoff2023" => Some([6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596]),
        _ => None,
    }
}

/// Look a preset up by name, with E, A, B filled from the log-space point values.
pub fn find(name: &str) -> Option<LawPreset> {
    presets().into_iter().find(|p| p.name == name)
}

/// The preset names, for error messages.
pub fn names() -> String {
    presets()
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Point value of a coefficient of a preset, resolving E, A, B from the log-space values.
pub fn point(preset: &LawPreset, name: &str) -> Option<f64> {
    if let Some([ln_a, ln_b, ln_e, _, _]) = log_point(preset.name) {
        match name {
            "A" => return Some(ln_a.exp()),
            "B" => return Some(ln_b.exp()),
            "E" => return Some(ln_e.exp()),
            _ => {}
        }
    }
    preset
        .coefficients
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| *v)
}
