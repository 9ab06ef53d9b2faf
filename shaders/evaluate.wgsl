// evaluate.wgsl: one (configuration, draw) evaluation in f32 (docs/MODEL.md §2).
// Twin: src/backend/gpu/twin.rs (same steps, in f64). Prepended to every kernel stage.

struct Params {
    n_draws: u32,
    n_params: u32,
    n_tokens: u32,
    n_hours: u32,
    config_offset: u32,   // first configuration of this dispatch
    n_configs: u32,       // configurations in this dispatch
    form: u32,            // 0: additive (Chinchilla family), 1: Kaplan
    time_term: u32,       // 1: add c·T^-γ
    effective_params: u32,// 1: Muennighoff's P' when data is limited
    has_target: u32,
    target_loss: f32,
    near_eps: f32,        // ε of the near-best count: draws with L − L* ≤ ε
    // Ranks (0-based) whose values the stats stage finds: loss p05 lo/hi, p50 lo/hi, p95 lo/hi,
    // the CVaR threshold n - m, then regret p95 lo/hi; slots 9..11 unused.
    ranks: array<vec4<u32>, 3>,
}

// One draw, host-prepared in f64 and rounded to f32 once. For Kaplan: ln_a = ln N_c,
// ln_b = ln D_c, alpha = α_N/α_D, alpha_d = α_D.
struct Draw {
    e: f32,
    ln_a: f32,
    ln_b: f32,
    alpha: f32,
    beta: f32,
    c: f32,
    gamma: f32,
    ln_x: f32,      // ln(X · 3600 / k): ln cap = ln_x + ln T − ln P
    ln_u: f32,      // ln unique tokens; ≥ 1e30 when unlimited
    rd_star: f32,
    rn_star: f32,
    ln_nopt: f32,   // ln N_opt(U) for effective parameters
    l_star: f32,    // the draw's best feasible grid loss (regret reference)
    alpha_d: f32,
    anneal: f32,    // the draw's anneal level (0 under wsd): law::cut_scale's `level`
    _pad1: f32,
}

struct Eval {
    loss: f32,
    complete: bool,
    used: f32,      // min(1, D / cap): share of T actually used
}

const UNLIMITED: f32 = 1e30;
const PI: f32 = 3.14159265358979;
// The curve model's constants (src/curve, docs/MODEL.md §8.1), held to the host's by
// tests/shaders.rs: the size exponent a of the gross anneal gain G(P) = level·(P/1e8)^a, ln 1e8,
// and ln (1/0.55)^κ, the tokens-equivalent of a never-annealed run's area (law::cut_scale).
const GAP_SIZE_EXPONENT: f32 = 0.128;
const LN_GAP_REFERENCE_PARAMS: f32 = 18.420680743952367;
const LN_NEVER_ANNEALED_TOKENS: f32 = 0.40174646450777696;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> draws: array<Draw>;
// ln P (n_params), then ln D (n_tokens), then ln T (n_hours), then per P ln(k(P)/k), the
// attention term of the training FLOPs (0 when it is not modelled; law::k_at), then per P
// ln(N/P), the parameters the law counts over the plan's total (0 unless the law counts no
// embeddings; LawShape::law_params).
@group(0) @binding(2) var<storage, read> axes: array<f32>;
// One configuration's output row (host: layout::StatsRow, merged in f64 by gpu::merge).
struct StatsRow {
    shift: f32,         // the loss of draw 0: the moments are about it
    sum: f32,           // Σ (L − shift)
    sum_sq: f32,        // Σ (L − shift)²
    regret_sum: f32,    // Σ (L − L*)
    used: f32,          // Σ min(1, D/cap)
    complete: f32,      // draws with D ≤ cap
    hits: f32,          // draws with L ≤ the target loss
    regret_max: f32,
    near: f32,          // draws with L − L* ≤ ε (Params.near_eps)
    tail_sum: f32,      // Σ (L − threshold) over L > threshold (CVaR)
    ranks: array<f32, 9>,   // the resolved order statistics (Params.ranks)
    _pad1: f32,
    _pad2: f32,
    _pad3: f32,
    _pad4: f32,
    _pad5: f32,
}
@group(0) @binding(3) var<storage, read_write> out: array<StatsRow>;

// ln(1 + R*·(1 − exp(−R/R*))) for repetition R (Muennighoff 2023), the log-gain over U.
fn repetition_gain(r: f32, r_star: f32) -> f32 {
    return log(1.0 + r_star * (1.0 - exp(-r / r_star)));
}

// The law's loss at ln D_run tokens for a draw whose effective parameters are ln_peff.
fn law_at(ln_run: f32, ln_peff: f32, ln_t: f32, dw: Draw) -> f32 {
    var ln_deff = ln_run;
    if (ln_run > dw.ln_u) {
        ln_deff = dw.ln_u + repetition_gain(exp(ln_run - dw.ln_u) - 1.0, dw.rd_star);
    }
    if (params.form == 0u) {
        var l = dw.e + exp(dw.ln_a - dw.alpha * ln_peff) + exp(dw.ln_b - dw.beta * ln_deff);
        if (params.time_term == 1u) {
            l = l + dw.c * exp(-dw.gamma * ln_t);
        }
        return l;
    }
    return exp(dw.alpha_d * log(exp(dw.alpha * (dw.ln_a - ln_peff)) + exp(dw.ln_b - ln_deff)));
}

fn evaluate(config: u32, i: u32) -> Eval {
    let t_idx = config % params.n_hours;
    let pd = config / params.n_hours;
    let d_idx = pd % params.n_tokens;
    let p_idx = pd / params.n_tokens;
    let ln_p = axes[p_idx];
    let ln_d = axes[params.n_params + d_idx];
    let ln_t = axes[params.n_params + params.n_tokens + t_idx];
    let dw = draws[i];

    let ln_kr = axes[params.n_params + params.n_tokens + params.n_hours + p_idx];
    let ln_cap = dw.ln_x + ln_t - ln_p - ln_kr;
    // From here on P is the law's own count.
    let ln_pl = ln_p + axes[params.n_params + params.n_tokens + params.n_hours + params.n_params + p_idx];
    let ln_run = min(ln_d, ln_cap);
    var ln_peff = ln_pl;
    if (params.effective_params == 1u && dw.ln_u < UNLIMITED) {
        let ln_un = min(ln_pl, dw.ln_nopt);
        ln_peff = ln_un + repetition_gain(max(exp(ln_pl - ln_un) - 1.0, 0.0), dw.rn_star);
    }
    var loss = law_at(ln_run, ln_peff, ln_t, dw);
    // A run cut at f = cap/D of a cosine schedule misses (1 + cos πf)/2 of its anneal's gain;
    // the scale is what never annealing costs at the cap (law::cut_scale): the gross gain less
    // the law's credit for a constant rate's larger area. anneal is 0 under wsd.
    if (ln_d > ln_cap && dw.anneal > 0.0) {
        let gross = dw.anneal * exp(GAP_SIZE_EXPONENT * (ln_p - LN_GAP_REFERENCE_PARAMS));
        let credit = loss - law_at(ln_cap + LN_NEVER_ANNEALED_TOKENS, ln_peff, ln_t, dw);
        loss = loss + max(gross - credit, 0.0) * 0.5 * (1.0 + cos(PI * exp(ln_cap - ln_d)));
    }
    return Eval(loss, ln_d <= ln_cap, exp(min(ln_d - ln_cap, 0.0)));
}
