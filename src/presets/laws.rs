//! Scaling-law presets of docs/MODEL.md §3: forms, point coefficients, uncertainty and sources.

// Published constants keep every digit their sources give.
#![allow(clippy::excessive_precision)]

use crate::law::{Coeff, Form};

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
    /// fit in log space (see `log_point`), or a value the user must give.
    pub coefficients: &'static [(Coeff, Option<f64>)],
    /// Effective parameters P' (Muennighoff 2023) apply.
    pub effective_params: bool,
    /// Whether the preset carries a covariance for `uncertainty = "mvn"`.
    pub has_mvn: bool,
    /// Whether the preset ships bootstrap draws for `uncertainty = "draws"`.
    pub has_draws: bool,
    /// Whether the law carries the time term c·T^−γ.
    pub time_term: TimeTerm,
    pub illustrative: bool,
    pub source: &'static str,
    /// The published log-space point values (lnA, lnB, lnE, alpha, beta) of a Chinchilla-form
    /// preset that states its fit in log space; E, A, B come from them.
    pub log_point: Option<[f64; 5]>,
    /// The runs it was fitted to (None for `seed` and `custom`: no runs behind them).
    pub fit_range: Option<FitRange>,
    /// Whether it was fitted on non-embedding parameters (MODEL.md §1, "Embeddings"). Only
    /// Kaplan et al. 2020: "N, the number of model parameters, excluding all vocabulary and
    /// positional embeddings" (§1.1; Table 1 counts N without them). Hoffmann et al. 2022 count
    /// total parameters (Pearce & Song 2024, §1 and App. A), and so do the refits of the same runs
    /// (epoch2024). muennighoff2023 is taken as total too: its runs follow Hoffmann's setup
    /// (assumption; the paper's own count was not checked). `seed` and `custom` count P as given.
    pub non_embedding: bool,
}

/// When a preset's law carries the time term c·T^−γ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeTerm {
    Never,
    Always,
    /// When the scenario gives `c` (the `custom` law).
    WhenGiven,
}

/// The runs a preset was fitted to (MODEL.md §3): outside them its predictions extrapolate.
/// A bound of 0 (low) or ∞ (high) is one the source does not state.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FitRange {
    pub params: (f64, f64),
    /// Training tokens.
    pub tokens: (f64, f64),
    /// Training FLOPs, 6·P·D.
    pub flops: (f64, f64),
    pub source: &'static str,
}

impl FitRange {
    /// The axes on which (P, D) lies outside the range: ("params", value, low, high), …
    pub fn outside(&self, params: f64, tokens: f64) -> Vec<(&'static str, f64, f64, f64)> {
        let flops = 6.0 * params * tokens;
        [
            ("params", params, self.params),
            ("tokens", tokens, self.tokens),
            ("FLOPs", flops, self.flops),
        ]
        .into_iter()
        .filter(|(_, v, (lo, hi))| v < lo || v > hi)
        .map(|(n, v, (lo, hi))| (n, v, lo, hi))
        .collect()
    }
}

/// The presets, in the order `scalerisk laws` prints them.
pub fn presets() -> Vec<LawPreset> {
    vec![
        LawPreset {
            name: "chinchilla",
            form: Form::Additive,
            // Unrounded Approach 3 values as used by Besiroglu 2024 (rounded: E 1.69, A 406.4, B 410.7).
            coefficients: &[
                (Coeff::E, None),
                (Coeff::A, None),
                (Coeff::B, None),
                (Coeff::Alpha, Some(0.339_170_84)),
                (Coeff::Beta, Some(0.284_908_3)),
            ],
            effective_params: false,
            has_mvn: false,
            has_draws: false,
            time_term: TimeTerm::Never,
            illustrative: false,
            source: "Hoffmann et al. 2022, Approach 3 (unrounded, as used by Besiroglu et al. 2024)",
            log_point: Some([6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083]),
            // Hoffmann et al. 2022, abstract: "over 400 language models ranging from 70 million to
            // over 16 billion parameters on 5 to 500 billion tokens"; FLOPs from those corners.
            fit_range: Some(FitRange {
                params: (7e7, 1.62e10),
                tokens: (5e9, 5e11),
                flops: (6.0 * 7e7 * 5e9, 6.0 * 1.62e10 * 5e11),
                source: "Hoffmann et al. 2022 (abstract): 70M to 16B parameters on 5B to 500B tokens",
            }),
            non_embedding: false,
        },
        LawPreset {
            name: "epoch2024",
            form: Form::Additive,
            coefficients: &[(Coeff::E, None), (Coeff::A, None), (Coeff::B, None), (Coeff::Alpha, Some(0.347_813_029_0)), (Coeff::Beta, Some(0.365_854_117_3))],
            effective_params: false,
            has_mvn: true,
            has_draws: true,
            time_term: TimeTerm::Never,
            illustrative: false,
            source: "Besiroglu et al. 2024, \"Chinchilla Scaling: A replication attempt\" (Epoch AI)",
            log_point: Some([6.177955976, 7.642732362, 0.597111960, 0.3478130290, 0.3658541173]),
            // The 245 points Besiroglu et al. 2024 extracted from Hoffmann's Fig. 4 and refitted
            // (data/chinchilla_fig4_points.csv; tokens = FLOPs / 6P); tests recompute them.
            fit_range: Some(FitRange {
                params: (5.73e7, 1.62e10),
                tokens: (2.45e8, 3.18e11),
                flops: (1.39e18, 1.30e22),
                source: "the 245 points of Hoffmann et al.'s Fig. 4 refitted by Besiroglu et al. 2024 (data/)",
            }),
            non_embedding: false,
        },
        LawPreset {
            name: "muennighoff2023",
            form: Form::Additive,
            coefficients: &[
                (Coeff::E, None),
                (Coeff::A, None),
                (Coeff::B, None),
                (Coeff::Alpha, Some(0.352_659_6)),
                (Coeff::Beta, Some(0.352_659_6)),
                (Coeff::RNStar, Some(R_N_STAR)),
            ],
            effective_params: true,
            has_mvn: false,
            has_draws: false,
            time_term: TimeTerm::Never,
            illustrative: false,
            source: "Muennighoff et al. 2023, \"Scaling Data-Constrained Language Models\" (datablations README)",
            log_point: Some([6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596]),
            // Muennighoff et al. 2023: "up to 900 billion training tokens and 9 billion parameter
            // models" (datablations README); 10M smallest (paper's model table, via a secondary
            // summary).
            fit_range: Some(FitRange {
                params: (1e7, 9e9),
                tokens: (0.0, 9e11),
                flops: (0.0, f64::INFINITY),
                source: "Muennighoff et al. 2023: up to 9B parameters and 900B tokens",
            }),
            non_embedding: false,
        },
        LawPreset {
            name: "kaplan2020",
            form: Form::Kaplan,
            coefficients: &[(Coeff::AlphaN, Some(0.076)), (Coeff::AlphaD, Some(0.103)), (Coeff::NC, Some(6.4e13)), (Coeff::DC, Some(1.8e13))],
            effective_params: false,
            has_mvn: false,
            has_draws: false,
            time_term: TimeTerm::Never,
            illustrative: false,
            source: "Kaplan et al. 2020, Table 2 (P = non-embedding parameters)",
            log_point: None,
            // Kaplan et al. 2020 §3: "768 to 1.5 billion non-embedding parameters", "22 million to
            // 23 billion tokens".
            fit_range: Some(FitRange {
                params: (768.0, 1.5e9),
                tokens: (2.2e7, 2.3e10),
                flops: (0.0, f64::INFINITY),
                source: "Kaplan et al. 2020 §3: 768 to 1.5B non-embedding parameters, 22M to 23B tokens",
            }),
            non_embedding: true,
        },
        LawPreset {
            name: "seed",
            form: Form::Additive,
            coefficients: &[
                (Coeff::E, None),
                (Coeff::A, None),
                (Coeff::B, None),
                (Coeff::Alpha, Some(0.07)),
                (Coeff::Beta, Some(0.1)),
                (Coeff::C, None),
                (Coeff::Gamma, Some(0.5)),
            ],
            effective_params: false,
            has_mvn: false,
            has_draws: false,
            time_term: TimeTerm::Always,
            illustrative: true,
            source: "the origin document's three-factor law E + a·P^-α + b·D^-β + c·T^-γ: illustrative, not fitted to data",
            log_point: None,
            fit_range: None,
            non_embedding: false,
        },
        LawPreset {
            name: "custom",
            form: Form::Additive,
            coefficients: &[(Coeff::E, None), (Coeff::A, None), (Coeff::B, None), (Coeff::Alpha, None), (Coeff::Beta, None), (Coeff::C, Some(0.0)), (Coeff::Gamma, Some(0.0))],
            effective_params: false,
            has_mvn: false,
            has_draws: false,
            time_term: TimeTerm::WhenGiven,
            illustrative: false,
            source: "user-given Chinchilla form, optionally plus c·T^-γ",
            log_point: None,
            fit_range: None,
            non_embedding: false,
        },
    ]
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
pub fn point(preset: &LawPreset, coeff: Coeff) -> Option<f64> {
    if let Some([ln_a, ln_b, ln_e, _, _]) = preset.log_point {
        match coeff {
            Coeff::A => return Some(ln_a.exp()),
            Coeff::B => return Some(ln_b.exp()),
            Coeff::E => return Some(ln_e.exp()),
            _ => {}
        }
    }
    preset
        .coefficients
        .iter()
        .find(|(c, _)| *c == coeff)
        .and_then(|(_, v)| *v)
}
