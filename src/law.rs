//! The scaling laws themselves (docs/MODEL.md §2–3): one loss for one (P, D_run, T) and one draw.
//!
//! These are the f64 reference formulas. The CPU backend evaluates them through per-draw tables
//! (`backend::cpu::evaluate`), the GPU backend in f32 (`shaders/evaluate.wgsl`); both are tested
//! against the functions here.

use serde::Serialize;

/// The functional form of a law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// E + A/P^α + B/D^β (+ c·T^−γ): Chinchilla, Epoch, Muennighoff, seed, custom.
    Additive,
    /// [(N_c/P)^(α_N/α_D) + D_c/D]^α_D: Kaplan et al. 2020.
    Kaplan,
}

/// Every per-draw coefficient a law may use. Unused ones are 0.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Coeffs {
    pub e: f64,
    pub a: f64,
    pub b: f64,
    pub alpha: f64,
    pub beta: f64,
    pub c: f64,
    pub gamma: f64,
    pub n_c: f64,
    pub d_c: f64,
    pub alpha_n: f64,
    pub alpha_d: f64,
    pub r_d_star: f64,
    pub r_n_star: f64,
}

impl Coeffs {
    /// Plausible values of every coefficient (Epoch-like additive terms, Kaplan's Table 2, the
    /// repetition constants), shared by the unit tests of the evaluation paths.
    #[cfg(test)]
    pub(crate) fn test_fixture() -> Self {
        Coeffs {
            e: 1.8,
            a: 480.0,
            b: 2100.0,
            alpha: 0.35,
            beta: 0.37,
            c: 0.3,
            gamma: 0.5,
            n_c: 6.4e13,
            d_c: 1.8e13,
            alpha_n: 0.076,
            alpha_d: 0.103,
            r_d_star: 15.4,
            r_n_star: 5.3,
        }
    }
}

/// Largest value E, A, B (and c) may take in any draw: no language model's loss is near it, and
/// every loss, square and sum stays finite in the GPU's f32.
pub const MAX_TERM: f64 = 1e12;

/// The columns of a bootstrap draws CSV (`law.uncertainty = "draws"`, `scalerisk fit`), in order.
pub const BOOTSTRAP_COLUMNS: [Coeff; 5] = [Coeff::E, Coeff::A, Coeff::B, Coeff::Alpha, Coeff::Beta];

/// One coefficient of a law, named as in docs/MODEL.md (and draws.csv, run.json, scenarios).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coeff {
    E,
    A,
    B,
    Alpha,
    Beta,
    C,
    Gamma,
    NC,
    DC,
    AlphaN,
    AlphaD,
    RDStar,
    RNStar,
}

impl Coeff {
    /// Every coefficient, in the order the docs list them.
    pub const ALL: [Coeff; 13] = [
        Coeff::E,
        Coeff::A,
        Coeff::B,
        Coeff::Alpha,
        Coeff::Beta,
        Coeff::C,
        Coeff::Gamma,
        Coeff::NC,
        Coeff::DC,
        Coeff::AlphaN,
        Coeff::AlphaD,
        Coeff::RDStar,
        Coeff::RNStar,
    ];

    /// The name a scenario, draws.csv and run.json use.
    pub const fn name(self) -> &'static str {
        match self {
            Coeff::E => "E",
            Coeff::A => "A",
            Coeff::B => "B",
            Coeff::Alpha => "alpha",
            Coeff::Beta => "beta",
            Coeff::C => "c",
            Coeff::Gamma => "gamma",
            Coeff::NC => "N_c",
            Coeff::DC => "D_c",
            Coeff::AlphaN => "alpha_N",
            Coeff::AlphaD => "alpha_D",
            Coeff::RDStar => "R_D_star",
            Coeff::RNStar => "R_N_star",
        }
    }

    /// The scenario field of an override (`law.E`), for messages.
    pub const fn field(self) -> &'static str {
        match self {
            Coeff::E => "law.E",
            Coeff::A => "law.A",
            Coeff::B => "law.B",
            Coeff::Alpha => "law.alpha",
            Coeff::Beta => "law.beta",
            Coeff::C => "law.c",
            Coeff::Gamma => "law.gamma",
            Coeff::NC => "law.N_c",
            Coeff::DC => "law.D_c",
            Coeff::AlphaN => "law.alpha_N",
            Coeff::AlphaD => "law.alpha_D",
            Coeff::RDStar => "law.R_D_star",
            Coeff::RNStar => "law.R_N_star",
        }
    }

    pub fn from_name(name: &str) -> Option<Coeff> {
        Coeff::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn get(self, k: &Coeffs) -> f64 {
        match self {
            Coeff::E => k.e,
            Coeff::A => k.a,
            Coeff::B => k.b,
            Coeff::Alpha => k.alpha,
            Coeff::Beta => k.beta,
            Coeff::C => k.c,
            Coeff::Gamma => k.gamma,
            Coeff::NC => k.n_c,
            Coeff::DC => k.d_c,
            Coeff::AlphaN => k.alpha_n,
            Coeff::AlphaD => k.alpha_d,
            Coeff::RDStar => k.r_d_star,
            Coeff::RNStar => k.r_n_star,
        }
    }

    pub fn set(self, k: &mut Coeffs, v: f64) {
        let slot = match self {
            Coeff::E => &mut k.e,
            Coeff::A => &mut k.a,
            Coeff::B => &mut k.b,
            Coeff::Alpha => &mut k.alpha,
            Coeff::Beta => &mut k.beta,
            Coeff::C => &mut k.c,
            Coeff::Gamma => &mut k.gamma,
            Coeff::NC => &mut k.n_c,
            Coeff::DC => &mut k.d_c,
            Coeff::AlphaN => &mut k.alpha_n,
            Coeff::AlphaD => &mut k.alpha_d,
            Coeff::RDStar => &mut k.r_d_star,
            Coeff::RNStar => &mut k.r_n_star,
        };
        *slot = v;
    }
}

impl std::fmt::Display for Coeff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Coeff {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One coordinate of a law's joint uncertainty: a coefficient or, for the scale terms E, A and
/// B, its logarithm (`lnA`: the Epoch covariance is over ln A, ln B, ln E).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Coord {
    pub coeff: Coeff,
    pub log: bool,
}

impl Coord {
    pub const fn plain(coeff: Coeff) -> Coord {
        Coord { coeff, log: false }
    }

    /// `lnA`, `lnB`, `lnE` or a coefficient's own name.
    pub fn from_name(name: &str) -> Option<Coord> {
        match name.strip_prefix("ln") {
            Some(base @ ("A" | "B" | "E")) => {
                Coeff::from_name(base).map(|coeff| Coord { coeff, log: true })
            }
            _ => Coeff::from_name(name).map(Coord::plain),
        }
    }

    pub fn name(self) -> String {
        if self.log {
            format!("ln{}", self.coeff.name())
        } else {
            self.coeff.name().to_string()
        }
    }

    pub fn get(self, k: &Coeffs) -> f64 {
        let v = self.coeff.get(k);
        if self.log {
            v.ln()
        } else {
            v
        }
    }

    pub fn set(self, k: &mut Coeffs, v: f64) {
        self.coeff.set(k, if self.log { v.exp() } else { v });
    }
}

impl Serialize for Coord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// The law of a scenario: form plus whether Muennighoff's effective parameters apply.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LawShape {
    pub form: Form,
    pub effective_params: bool,
    /// Whether the additive form carries the c·T^−γ time term.
    pub time_term: bool,
    /// The model shape whose embedding parameters the law does not count (MODEL.md §1): set
    /// when the law was fitted on non-embedding parameters (`kaplan2020`) and the scenario gives
    /// `budget.vocabulary`; then the law sees N = P − V·d_model(P) for a plan of P total
    /// parameters ([`LawShape::law_params`]). None: the law counts P as the grid does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<ModelShape>,
}

impl LawShape {
    /// The parameter count the law sees for a plan of `p` total parameters: `p` itself, or its
    /// non-embedding part when the law counts no embeddings ([`ModelShape::non_embedding`]).
    #[inline]
    pub fn law_params(&self, p: f64) -> f64 {
        self.embedding.map_or(p, |m| m.non_embedding(p))
    }
}

/// A dense decoder's shape as a function of its total parameter count P (MODEL.md §1): a fixed
/// aspect ratio a = d_model/n_layer (Kaplan et al. 2020 §7), N = 12·n_layer·d_model²
/// non-embedding parameters (Kaplan Table 1, d_attn = d_model, d_ff = 4·d_model), and, when the
/// vocabulary V is known, one V × d_model embedding matrix shared with the output layer (tied,
/// as in GPT-2/GPT-3; judgement), so P = 12·d³/a + V·d (Pearce & Song 2024:
/// N_T = N_\E + γ·N_\E^(1/3), γ = (a/12)^(1/3)·V). Without V, P is taken as N.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelShape {
    /// d_model / n_layer.
    pub aspect_ratio: f64,
    /// Tokens in the vocabulary (`budget.vocabulary`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocabulary: Option<f64>,
}

impl ModelShape {
    /// d_model of a model of `p` total parameters: (P·a/12)^(1/3) without a vocabulary, else
    /// the one positive root of d³ + r·d − q = 0 with q = a·P/12, r = a·V/12 > 0. Cardano gives
    /// d = u − r/(3u), u = ∛(q/2 + √(q²/4 + r³/27)); since u³ − (r/3)³/u³ = q, the same root is
    /// d = q / (u² + r/3 + (r/(3u))²), which has no cancellation when r dominates.
    pub fn d_model(&self, p: f64) -> f64 {
        let a = self.aspect_ratio;
        match self.vocabulary {
            None => (p * a / 12.0).cbrt(),
            Some(v) => {
                let (q, r) = (a * p / 12.0, a * v / 12.0);
                let u = (0.5 * q + (0.25 * q * q + r * r * r / 27.0).sqrt()).cbrt();
                let w = r / (3.0 * u);
                q / (u * u + r / 3.0 + w * w)
            }
        }
    }

    /// n_layer = d_model / a (not rounded).
    pub fn n_layer(&self, p: f64) -> f64 {
        self.d_model(p) / self.aspect_ratio
    }

    /// Embedding parameters V·d_model (0 without a vocabulary).
    pub fn embedding(&self, p: f64) -> f64 {
        self.vocabulary.map_or(0.0, |v| v * self.d_model(p))
    }

    /// Non-embedding parameters N = P − V·d_model = 12·d³/a (always positive).
    pub fn non_embedding(&self, p: f64) -> f64 {
        match self.vocabulary {
            None => p,
            Some(_) => {
                let d = self.d_model(p);
                12.0 * d * d * d / self.aspect_ratio
            }
        }
    }

    /// Total parameters of a model of `n` non-embedding parameters: N + V·(a·N/12)^(1/3).
    pub fn total_from_non_embedding(&self, n: f64) -> f64 {
        n + self
            .vocabulary
            .map_or(0.0, |v| v * (n * self.aspect_ratio / 12.0).cbrt())
    }
}

/// Effective data D' for `d_run` tokens drawn from `unique` unique tokens (Muennighoff 2023):
/// D' = U + U·R*_D·(1 − exp(−R_D/R*_D)) with R_D = D/U − 1, and D' = D while D ≤ U.
pub fn effective_data(d_run: f64, unique: f64, r_d_star: f64) -> f64 {
    if d_run <= unique {
        return d_run;
    }
    let r_d = d_run / unique - 1.0;
    unique + unique * r_d_star * -(-r_d / r_d_star).exp_m1()
}

/// Effective parameters P' (Muennighoff 2023, the datablations README's `scaling_law(N, D, U)`):
/// G = (αA/(βB))^(1/(α+β)), N_opt(U) = (U·G)^(β/α)·G, U_N = min(P, N_opt), R_N = max(P/U_N − 1, 0),
/// P' = U_N + U_N·R*_N·(1 − exp(−R_N/R*_N)).
pub fn effective_params(p: f64, unique: f64, k: &Coeffs) -> f64 {
    let g = ((k.alpha * k.a) / (k.beta * k.b)).powf(1.0 / (k.alpha + k.beta));
    let n_opt = (unique * g).powf(k.beta / k.alpha) * g;
    let u_n = p.min(n_opt);
    let r_n = (p / u_n - 1.0).max(0.0);
    u_n + u_n * k.r_n_star * -(-r_n / k.r_n_star).exp_m1()
}

/// Loss for P parameters trained on `d_run` tokens in T hours, with `unique` unique tokens
/// (`f64::INFINITY` when unlimited). This is the reference the backends are tested against.
///
/// `p` is the plan's total parameter count; the law sees [`LawShape::law_params`] of it.
pub fn loss(shape: LawShape, k: &Coeffs, p: f64, d_run: f64, t_hours: f64, unique: f64) -> f64 {
    let p = shape.law_params(p);
    let d_eff = if unique.is_finite() {
        effective_data(d_run, unique, k.r_d_star)
    } else {
        d_run
    };
    let p_eff = if shape.effective_params && unique.is_finite() {
        effective_params(p, unique, k)
    } else {
        p
    };
    match shape.form {
        Form::Additive => {
            let time = if shape.time_term {
                k.c * t_hours.powf(-k.gamma)
            } else {
                0.0
            };
            k.e + k.a * p_eff.powf(-k.alpha) + k.b * d_eff.powf(-k.beta) + time
        }
        Form::Kaplan => {
            ((k.n_c / p_eff).powf(k.alpha_n / k.alpha_d) + k.d_c / d_eff).powf(k.alpha_d)
        }
    }
}

/// What a run loses by being cut before its schedule anneals (docs/MODEL.md §2): a run
/// planned for `d` tokens under a cosine schedule and stopped at `cap` < d tokens has removed
/// only part of its learning rate. In the annealing-area model of Tissue et al. 2024 (arXiv
/// 2408.11029; L = L0 + A·S1^−α − C·S2) the annealing area S2 is, for runs much longer than the
/// momentum window 1/(1 − λ), the total decrease of the learning rate so far divided by (1 − λ);
/// a cosine cut at f = cap/d has decreased by (1 − cos πf)/2 of its full decrease, so the
/// missing share of the anneal's gain is (1 + cos πf)/2 and the penalty is
/// `scale` · (1 + cos πf)/2: 0 at f = 1, `scale` (no anneal at all) as f → 0 (D = ∞).
/// `scale` is [`cut_scale`] at the cap: what never annealing costs there (0 under wsd).
#[inline]
pub fn cut_penalty(scale: f64, d: f64, cap: f64) -> f64 {
    if d <= cap || scale == 0.0 {
        0.0
    } else {
        scale * 0.5 * (1.0 + (std::f64::consts::PI * (cap / d)).cos())
    }
}

/// The tokens-equivalent of a never-annealed run's forward area, per token: a constant rate
/// sweeps 1/0.55 of the reference cosine's area, of which the power κ counts as tokens
/// (the curve model, docs/MODEL.md §8.1): (1/0.55)^κ.
pub fn never_annealed_tokens() -> f64 {
    (1.0 / crate::curve::REFERENCE_MEAN_LR).powf(crate::curve::AREA_EXPONENT)
}

/// The scale of the cut-run penalty of a P-parameter run stopped at `cap` tokens (docs/MODEL.md
/// §2): what a run that never annealed loses there against one annealed where it stops, from the
/// curve model (§8.1), the gross gain G(P) = `level`·(P/10⁸)^a less the law's credit for the
/// larger forward area a constant rate sweeps, L(cap) − L(cap·(1/0.55)^κ), at least 0. It grows
/// with size (G) and with the run's length (the credit shrinks as the law's data term flattens),
/// as Luo et al.'s constant-against-cosine gaps do. `level` is the draw's `Draw::anneal` (0
/// under wsd, and then so is the scale).
pub fn cut_scale(
    shape: LawShape,
    k: &Coeffs,
    level: f64,
    (p, cap, t_hours, unique): (f64, f64, f64, f64),
) -> f64 {
    if level == 0.0 {
        return 0.0;
    }
    let at_cap = loss(shape, k, p, cap, t_hours, unique);
    scale_given(shape, k, level, (p, cap, t_hours, unique), at_cap)
}

/// [`cut_scale`] for a caller that holds the law's loss at the cap, `at_cap`.
fn scale_given(
    shape: LawShape,
    k: &Coeffs,
    level: f64,
    (p, cap, t_hours, unique): (f64, f64, f64, f64),
    at_cap: f64,
) -> f64 {
    let credit = at_cap - loss(shape, k, p, cap * never_annealed_tokens(), t_hours, unique);
    (crate::curve::gap(level, p) - credit).max(0.0)
}

/// The loss of a P-parameter run planned for `d` tokens that can process `cap` by its
/// deadline of `t_hours`: the law at min(D, cap) plus, when it is cut (D > cap), the cut-run
/// penalty for a draw of anneal level `level` (0 under wsd). The reference the backends'
/// columns are tested against.
pub fn planned_loss(
    shape: LawShape,
    k: &Coeffs,
    level: f64,
    (p, d, cap, t_hours, unique): (f64, f64, f64, f64, f64),
) -> f64 {
    let run = loss(shape, k, p, d.min(cap), t_hours, unique);
    if d <= cap || level == 0.0 {
        return run;
    }
    // Cut: the run's loss is the law's at the cap, which the scale needs too.
    let scale = scale_given(shape, k, level, (p, cap, t_hours, unique), run);
    run + cut_penalty(scale, d, cap)
}

/// The attention term of the training FLOPs (Kaplan et al. 2020 §2.1, Table 1): per token the
/// forward pass adds 2·n_layer·n_ctx·d_model to 2N, so training costs
/// 6N·(1 + n_ctx/(12·d_model)) with N = 12·n_layer·d_model² (non-embedding). The model's shape
/// comes from P at a fixed aspect ratio d_model/n_layer (Kaplan §7: width/depth stays fixed when
/// scaling); see [`Attention::d_model`].
///
/// With a vocabulary V (`budget.vocabulary`), P counts the tied embedding too (P = N + V·d,
/// [`ModelShape`]): the forward pass is 2N + 2·n_layer·n_ctx·d + 2·d·V (Table 1's rows with the
/// de-embedding), i.e. 2P plus the attention term, and training k·P + k·n_layer·n_ctx·d.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Attention {
    /// Context length n_ctx in tokens.
    pub context: f64,
    /// d_model / n_layer.
    pub aspect_ratio: f64,
    /// Tokens in the vocabulary, when P counts the embedding (`budget.vocabulary`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocabulary: Option<f64>,
}

impl Attention {
    /// The model shape this term assumes.
    pub fn shape(&self) -> ModelShape {
        ModelShape {
            aspect_ratio: self.aspect_ratio,
            vocabulary: self.vocabulary,
        }
    }

    /// d_model of a model of `p` parameters: P = 12·n_layer·d² with n_layer = d / aspect gives
    /// d = (P·aspect/12)^(1/3); with a vocabulary, [`ModelShape::d_model`].
    pub fn d_model(&self, p: f64) -> f64 {
        self.shape().d_model(p)
    }

    /// The factor on k·P: 1 + n_ctx / (12·d_model); with a vocabulary,
    /// 1 + n_layer·n_ctx·d_model / P = 1 + n_ctx·d² / (aspect·P) (the same when V = 0).
    pub fn factor(&self, p: f64) -> f64 {
        match self.vocabulary {
            None => 1.0 + self.context / (12.0 * self.d_model(p)),
            Some(_) => {
                let d = self.d_model(p);
                1.0 + self.context * d * d / (self.aspect_ratio * p)
            }
        }
    }
}

/// Training FLOPs per parameter per token of a model of `p` parameters: `k`, times the
/// attention factor when it is modelled.
#[inline]
pub fn k_at(k: f64, attention: Option<Attention>, p: f64) -> f64 {
    attention.map_or(k, |a| k * a.factor(p))
}

/// Training FLOPs per token of a model of `p` parameters: k(P)·P (`k_at`).
#[inline]
pub fn flops_per_token(k: f64, attention: Option<Attention>, p: f64) -> f64 {
    k_at(k, attention, p) * p
}

/// Tokens a run can process by its deadline (MODEL.md §2): cap = X·3600·T / FLOPs per token.
/// Every path that decides whether a run completes computes it here, in this order, so they
/// agree to the bit.
#[inline]
pub fn capacity(throughput: f64, hours: f64, flops_per_token: f64) -> f64 {
    throughput * 3600.0 * hours / flops_per_token
}

/// The Chinchilla closed form under C = k·P·D (Hoffmann 2022 eq. 4):
/// P_opt = G·(C/k)^(β/(α+β)), D_opt = (C/k)/P_opt, G = (αA/(βB))^(1/(α+β)).
pub fn chinchilla_optimum(k: &Coeffs, flops: f64, flops_per_param_token: f64) -> (f64, f64) {
    let g = ((k.alpha * k.a) / (k.beta * k.b)).powf(1.0 / (k.alpha + k.beta));
    let c = flops / flops_per_param_token;
    let p = g * c.powf(k.beta / (k.alpha + k.beta));
    (p, c / p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::laws;

    fn preset_coeffs(name: &str) -> Coeffs {
        let p = laws::find(name).unwrap();
        let get = |c: Coeff| laws::point(&p, c).unwrap_or(0.0);
        Coeffs {
            e: get(Coeff::E),
            a: get(Coeff::A),
            b: get(Coeff::B),
            alpha: get(Coeff::Alpha),
            beta: get(Coeff::Beta),
            r_d_star: laws::R_D_STAR,
            r_n_star: get(Coeff::RNStar),
            ..Coeffs::default()
        }
    }

    /// Check values published with the datablations README (MODEL.md §3), to 1e-12 relative.
    #[test]
    fn muennighoff_readme_check_values() {
        let k = preset_coeffs("muennighoff2023");
        let shape = LawShape {
            form: Form::Additive,
            effective_params: true,
            time_term: false,
            embedding: None,
        };
        let l1 = loss(shape, &k, 6.34e9, 242e9, 1.0, 25e9);
        let l2 = loss(shape, &k, 8.67e9, 178e9, 1.0, 25e9);
        assert!((l1 / 2.2256440889984477 - 1.0).abs() < 1e-12, "{l1:.17}");
        assert!((l2 / 2.2269634075087867 - 1.0).abs() < 1e-12, "{l2:.17}");
    }

    /// Hoffmann 2022: about 40B parameters at the Gopher budget (5.76e23 FLOPs).
    #[test]
    fn chinchilla_closed_form_gopher_budget() {
        let (p, _) = chinchilla_optimum(&preset_coeffs("chinchilla"), 5.76e23, 6.0);
        assert!((p / 4.036e10 - 1.0).abs() < 0.01, "{p:e}");
    }

    /// Besiroglu 2024: the Epoch point estimate implies about 18.3 tokens per parameter at 5.88e23.
    #[test]
    fn epoch_point_tokens_per_param() {
        let (p, d) = chinchilla_optimum(&preset_coeffs("epoch2024"), 5.88e23, 6.0);
        assert!((d / p / 18.3 - 1.0).abs() < 0.02, "{}", d / p);
    }

    #[test]
    fn effective_data_is_identity_within_one_epoch_and_saturates() {
        assert_eq!(effective_data(5e9, 1e10, 15.0), 5e9);
        let many = effective_data(1e15, 1e10, 15.387756);
        assert!(many <= 1e10 * (1.0 + 15.387756) && many > 1e10 * 16.38);
    }
}
