//! The observation model (docs/MODEL.md §8): how likely a draw makes what was measured.
//!
//! A run's loss rows, thinned to at most [`MAX_POINTS`] from `observations.first` of its planned
//! tokens on, are y_i = L_obs(θ, t_i) + δ₀ + δ₁·u_i + ε_i with u_i = ln(x_i / x_end) (x at the
//! run's planned end), a model discrepancy (δ₀, δ₁) ~ N(0, diag(τ₀², τ₁²)) shared by the run's
//! rows and noise ε_i ~ N(0, σ²). Integrating δ out leaves a normal with covariance
//! σ²I + U·T·Uᵀ (U = [1, u]) whose log density needs only Σe², Uᵀe per draw: the Woodbury
//! identity's 2×2 part is the same for every draw and is computed once per run. The
//! discrepancy does not shrink with the number of rows, so a long curve cannot make the
//! posterior overconfident about what the curve model gets wrong.
//!
//! Measured MFU and goodput are y ~ N(x, sd²). A live run's tokens and hours so far give its
//! throughput, y = tokens · FLOPs per token / seconds ~ N(X, (0.02·y)²) ([`LIVE_THROUGHPUT_SD`]).

// Small dense matrices read best with their indices (a, b as in the formulas).
#![allow(clippy::needless_range_loop)]

use crate::curve::{self, Point};
use crate::law::{self, Form, LawShape};
use crate::sampling::Draw;
use crate::scenario::{Observations, Scenario};

/// Most rows of one run the likelihood uses: neighbouring checkpoints share most of their
/// data and optimiser state, so their residuals are not independent (LEARNING notes); 24 rows
/// evenly spread over the observed span are far enough apart to treat the rest of the noise as
/// independent (judgement, docs/MODEL.md §8).
pub const MAX_POINTS: usize = 24;

/// A run's noise when its scatter cannot be estimated (fewer than [`MIN_ROWS_FOR_NOISE`] rows
/// past `first`): judgement, docs/MODEL.md §8.
pub const NOISE_FALLBACK: f64 = 0.01;

/// The least noise an estimate may give: a logged loss is often an average over steps and
/// looks smoother than a single evaluation is (judgement, docs/MODEL.md §8).
pub const NOISE_FLOOR: f64 = 0.002;

/// The relative sd of the live run's throughput so far as a measure of the draw's throughput X
/// (MFU × goodput × peak): judgement, docs/MODEL.md §8 (throughput drifts by a few percent over
/// a run: restarts, data-loader stalls).
pub const LIVE_THROUGHPUT_SD: f64 = 0.02;

/// Fewest rows past `first` to estimate a run's noise from.
pub const MIN_ROWS_FOR_NOISE: usize = 8;

/// One run as the likelihood sees it.
#[derive(Debug, Clone)]
pub struct RunModel {
    pub name: String,
    pub params: f64,
    /// The thinned rows used, with their place in the schedule.
    pub points: Vec<Point>,
    pub y: Vec<f64>,
    u: Vec<f64>,
    /// ln x of each point (the additive law's fast path).
    ln_x: Vec<f64>,
    /// The run's planned end.
    pub end: Point,
    /// σ, and whether it was estimated from the run's scatter.
    pub noise: f64,
    pub noise_estimated: bool,
    /// Rows of the run in the file, and rows past `first`.
    pub rows: usize,
    /// The tokens from which rows count (the later of `first` of the plan and twice the warm-up).
    pub from: f64,
    /// The last observed row (tokens, loss).
    pub last: (f64, f64),
    /// The sd a random walk in ln x adds to the run's offset between its last used row and its
    /// planned end (what the rows cannot say about the rest of the curve).
    walk: f64,
    /// The sd of the offset when no row is used.
    pub tau0: f64,
    /// Columns of U in use (τ > 0), and the precomputed pieces of the marginal density.
    cols: usize,
    /// M⁻¹ with M = σ²T⁻¹ + UᵀU (cols × cols).
    m_inv: [[f64; 2]; 2],
    /// −½(log|Σ| + n log 2π).
    log_norm: f64,
}

/// Σ(Δ²y)²/6 over consecutive rows: for a smooth trend plus independent noise of sd σ a second
/// difference has variance 6σ².
fn scatter(rows: &[(f64, f64)]) -> Option<f64> {
    if rows.len() < MIN_ROWS_FOR_NOISE {
        return None;
    }
    let n = rows.len() - 2;
    let ss: f64 = rows
        .windows(3)
        .map(|w| (w[2].1 - 2.0 * w[1].1 + w[0].1).powi(2))
        .sum();
    Some((ss / (6.0 * n as f64)).sqrt())
}

/// At most `k` rows spread evenly in tokens over the rows' span (the nearest row to each of k
/// evenly spaced targets, without repeats).
fn thin(rows: &[(f64, f64)], k: usize) -> Vec<(f64, f64)> {
    if rows.len() <= k {
        return rows.to_vec();
    }
    let (lo, hi) = (rows[0].0, rows[rows.len() - 1].0);
    let mut out: Vec<usize> = Vec::with_capacity(k);
    let mut j = 0;
    for i in 0..k {
        let target = lo + (hi - lo) * i as f64 / (k - 1) as f64;
        while j + 1 < rows.len() && (rows[j + 1].0 - target).abs() <= (rows[j].0 - target).abs() {
            j += 1;
        }
        if out.last() != Some(&j) {
            out.push(j);
        }
    }
    out.into_iter().map(|i| rows[i]).collect()
}

impl RunModel {
    fn new(run: &crate::scenario::ObservedRun, o: &Observations) -> RunModel {
        // The first rows follow no scaling law: the warm-up and the transient after it (LEARNING
        // notes; Choshen et al. 2025 drop early checkpoints). Rows count from `first` of the plan
        // and from twice the warm-up, whichever is later.
        let from = (o.first * run.schedule.planned).max(2.0 * run.schedule.warmup);
        let kept: Vec<(f64, f64)> = run.rows.iter().copied().filter(|r| r.0 >= from).collect();
        let (noise, noise_estimated) = match o.noise {
            Some(s) => (s, false),
            None => match scatter(&kept) {
                Some(s) => (s.max(NOISE_FLOOR), true),
                None => (NOISE_FALLBACK, false),
            },
        };
        let used = thin(&kept, MAX_POINTS);
        let tokens: Vec<f64> = used.iter().map(|r| r.0).collect();
        let points = run.schedule.points(&tokens);
        let end = run.schedule.points(&[run.schedule.planned])[0];
        let u: Vec<f64> = points.iter().map(|p| (p.x / end.x).ln()).collect();
        let taus = [o.discrepancy, o.discrepancy_slope];
        let cols = if taus[1] > 0.0 {
            2
        } else if taus[0] > 0.0 {
            1
        } else {
            0
        };
        let n = points.len();
        let s2 = noise * noise;
        // M = σ²T⁻¹ + UᵀU over the columns in use.
        let mut m = [[0.0; 2]; 2];
        let col = |c: usize, i: usize| if c == 0 { 1.0 } else { u[i] };
        for a in 0..cols {
            for b in 0..cols {
                m[a][b] = (0..n).map(|i| col(a, i) * col(b, i)).sum();
            }
            // A zero τ₀ with a slope in use: a tiny τ keeps T invertible (no offset to speak of).
            m[a][a] += s2 / taus[a].max(1e-9).powi(2);
        }
        let (m_inv, log_det_m) = match cols {
            0 => ([[0.0; 2]; 2], 0.0),
            1 => ([[1.0 / m[0][0], 0.0], [0.0, 0.0]], m[0][0].ln()),
            _ => {
                let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
                (
                    [
                        [m[1][1] / det, -m[0][1] / det],
                        [-m[1][0] / det, m[0][0] / det],
                    ],
                    det.ln(),
                )
            }
        };
        // log|Σ| = n log σ² + log|T| + log|M| − cols·log σ².
        let log_det_t: f64 = (0..cols).map(|a| 2.0 * taus[a].max(1e-9).ln()).sum();
        let log_det = (n as f64 - cols as f64) * s2.ln() + log_det_t + log_det_m;
        let reach = points
            .last()
            .map_or_else(|| run.schedule.points(&[from.max(1.0)])[0].x, |p| p.x);
        let walk = o.discrepancy_walk * (end.x / reach).ln().max(0.0).sqrt();
        RunModel {
            name: run.name.clone(),
            params: run.params,
            walk,
            tau0: o.discrepancy,
            y: used.iter().map(|r| r.1).collect(),
            ln_x: points.iter().map(|p| p.x.ln()).collect(),
            points,
            u,
            end,
            noise,
            noise_estimated,
            rows: run.rows.len(),
            from,
            last: *run.rows.last().expect("a run has rows"),
            cols,
            m_inv,
            log_norm: -0.5 * (log_det + n as f64 * (2.0 * std::f64::consts::PI).ln()),
        }
    }

    /// The curve model's loss at a point for a draw (and its anneal level g).
    pub fn expected(&self, shape: LawShape, d: &Draw, g: f64, p: &Point) -> f64 {
        let at_x = law::loss(shape, &d.coeffs, self.params, p.x, 1.0, d.unique_tokens);
        curve::observed_loss(at_x, g, self.params, p)
    }

    /// The residuals' sufficient statistics: Σe², and Uᵀe.
    fn residuals(&self, shape: LawShape, d: &Draw, g: f64) -> (f64, [f64; 2]) {
        let mut ee = 0.0;
        let mut ue = [0.0; 2];
        let mut add = |e: f64, u: f64| {
            ee += e * e;
            ue[0] += e;
            ue[1] += u * e;
        };
        // The additive law with unlimited data (no repetition, no time term) costs one exp per
        // row: E + A·N^−α and the gap are the run's, B·x^−β = B·exp(−β ln x). Every other law
        // goes through the reference formula.
        if shape.form == Form::Additive && !shape.time_term && !d.unique_tokens.is_finite() {
            let k = &d.coeffs;
            let level = k.e + k.a * shape.law_params(self.params).powf(-k.alpha);
            let gap = curve::gap(g, self.params);
            for i in 0..self.points.len() {
                let pred = level + k.b * (-k.beta * self.ln_x[i]).exp() + gap * self.points[i].r;
                add(self.y[i] - pred, self.u[i]);
            }
        } else {
            for ((p, y), u) in self.points.iter().zip(&self.y).zip(&self.u) {
                add(y - self.expected(shape, d, g, p), *u);
            }
        }
        (ee, ue)
    }

    /// The rows' residuals in the metric of their covariance, eᵀΣ⁻¹e: χ² with as many degrees
    /// of freedom as rows when the draw is the truth and the model holds.
    pub fn chi2(&self, shape: LawShape, d: &Draw, g: f64) -> f64 {
        let (ee, ue) = self.residuals(shape, d, g);
        let mut quad = ee;
        for a in 0..self.cols {
            for b in 0..self.cols {
                quad -= ue[a] * self.m_inv[a][b] * ue[b];
            }
        }
        quad / (self.noise * self.noise)
    }

    /// log p(rows | draw), the discrepancy integrated out.
    pub fn log_likelihood(&self, shape: LawShape, d: &Draw, g: f64) -> f64 {
        if self.points.is_empty() {
            return 0.0;
        }
        let ll = self.log_norm - 0.5 * self.chi2(shape, d, g);
        if ll.is_finite() {
            ll
        } else {
            f64::NEG_INFINITY
        }
    }

    /// The run's offset at its planned end given the rows (u = 0 there): δ₀'s conditional mean
    /// and sd for this draw, the random walk beyond the last row added to the sd.
    pub fn offset(&self, shape: LawShape, d: &Draw, g: f64) -> (f64, f64) {
        if self.points.is_empty() {
            return (0.0, self.tau0.hypot(self.walk));
        }
        if self.cols == 0 {
            return (0.0, self.walk);
        }
        let (_, ue) = self.residuals(shape, d, g);
        let mean: f64 = (0..self.cols).map(|b| self.m_inv[0][b] * ue[b]).sum();
        let sd = (self.noise * self.noise * self.m_inv[0][0] + self.walk * self.walk).sqrt();
        (mean, sd)
    }
}

/// Everything measured, ready to score draws.
#[derive(Debug, Clone)]
pub struct Model {
    pub runs: Vec<RunModel>,
    mfu: Option<crate::scenario::Measured>,
    goodput: Option<crate::scenario::Measured>,
    /// The live run's throughput so far, FLOP/s, and its sd.
    throughput: Option<(f64, f64)>,
    shapes: Vec<LawShape>,
}

fn normal_log_density(y: f64, mean: f64, sd: f64) -> f64 {
    let z = (y - mean) / sd;
    -0.5 * z * z - sd.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

impl Model {
    pub fn new(s: &Scenario, o: &Observations) -> Model {
        Model {
            runs: o.runs.iter().map(|r| RunModel::new(r, o)).collect(),
            mfu: o.mfu,
            goodput: o.goodput,
            throughput: o.live.and_then(|live| {
                let run = &o.runs[live.run];
                let tokens = run.rows.last()?.0;
                let fpt = law::flops_per_token(
                    s.budget.flops_per_param_token,
                    s.budget.attention,
                    run.params,
                );
                let x = tokens * fpt / (3600.0 * live.hours);
                Some((x, LIVE_THROUGHPUT_SD * x))
            }),
            shapes: (0..s.law.mixture.len().max(1))
                .map(|m| s.law.member(m).shape)
                .collect(),
        }
    }

    /// The law shape of a draw's mixture member.
    pub fn shape(&self, d: &Draw) -> LawShape {
        self.shapes[d.member as usize]
    }

    /// The live run's throughput so far (FLOP/s) as measured, and its sd.
    pub fn throughput(&self) -> Option<(f64, f64)> {
        self.throughput
    }

    /// Whether any loss row is used (then the anneal level g is a latent).
    pub fn has_losses(&self) -> bool {
        self.runs.iter().any(|r| !r.points.is_empty())
    }

    /// log p(everything measured | draw).
    pub fn log_likelihood(&self, d: &Draw, g: f64) -> f64 {
        let shape = self.shape(d);
        let mut ll: f64 = self
            .runs
            .iter()
            .map(|r| r.log_likelihood(shape, d, g))
            .sum();
        if let Some(m) = self.mfu {
            ll += normal_log_density(m.value, d.mfu, m.sd);
        }
        if let Some(m) = self.goodput {
            ll += normal_log_density(m.value, d.goodput, m.sd);
        }
        if let Some((x, sd)) = self.throughput {
            ll += normal_log_density(x, d.throughput, sd);
        }
        if ll.is_nan() {
            f64::NEG_INFINITY
        } else {
            ll
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Woodbury form against the dense multivariate normal density, computed directly.
    #[test]
    fn marginal_density_matches_the_dense_normal() {
        let n = 5;
        let (s, t0, t1) = (0.02_f64, 0.03_f64, 0.05_f64);
        let u: Vec<f64> = (0..n).map(|i| -0.1 * i as f64).collect();
        let e: Vec<f64> = vec![0.01, -0.02, 0.015, 0.03, -0.005];
        // Σ = σ²I + τ₀²11ᵀ + τ₁²uuᵀ, its inverse and determinant by Gauss–Jordan.
        let mut a = vec![vec![0.0; 2 * n]; n];
        for i in 0..n {
            for j in 0..n {
                a[i][j] = t0 * t0 + t1 * t1 * u[i] * u[j] + if i == j { s * s } else { 0.0 };
            }
            a[i][n + i] = 1.0;
        }
        let mut det = 1.0;
        for c in 0..n {
            let p = a[c][c];
            det *= p;
            for v in a[c].iter_mut() {
                *v /= p;
            }
            for r in 0..n {
                if r != c {
                    let f = a[r][c];
                    for k in 0..2 * n {
                        a[r][k] -= f * a[c][k];
                    }
                }
            }
        }
        let quad: f64 = (0..n)
            .map(|i| (0..n).map(|j| e[i] * a[i][n + j] * e[j]).sum::<f64>())
            .sum();
        let dense = -0.5 * (quad + det.ln() + n as f64 * (2.0 * std::f64::consts::PI).ln());

        let mut m = [[0.0; 2]; 2];
        let col = |c: usize, i: usize| if c == 0 { 1.0 } else { u[i] };
        for x in 0..2 {
            for y in 0..2 {
                m[x][y] = (0..n).map(|i| col(x, i) * col(y, i)).sum();
            }
        }
        m[0][0] += s * s / (t0 * t0);
        m[1][1] += s * s / (t1 * t1);
        let detm = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        let minv = [
            [m[1][1] / detm, -m[0][1] / detm],
            [-m[1][0] / detm, m[0][0] / detm],
        ];
        let run = RunModel {
            name: "x".into(),
            params: 1.0,
            points: vec![],
            y: vec![],
            u: u.clone(),
            ln_x: vec![],
            end: Point {
                tokens: 1.0,
                x: 1.0,
                r: 0.0,
            },
            noise: s,
            noise_estimated: false,
            rows: n,
            from: 0.0,
            last: (1.0, 1.0),
            walk: 0.0,
            tau0: t0,
            cols: 2,
            m_inv: minv,
            log_norm: 0.0,
        };
        let log_det = (n as f64 - 2.0) * (s * s).ln() + 2.0 * t0.ln() + 2.0 * t1.ln() + detm.ln();
        let ue = [
            e.iter().sum::<f64>(),
            e.iter().zip(&u).map(|(a, b)| a * b).sum::<f64>(),
        ];
        let mut q = e.iter().map(|x| x * x).sum::<f64>();
        for x in 0..2 {
            for y in 0..2 {
                q -= ue[x] * run.m_inv[x][y] * ue[y];
            }
        }
        let woodbury =
            -0.5 * (q / (s * s) + log_det + n as f64 * (2.0 * std::f64::consts::PI).ln());
        assert!(
            (woodbury - dense).abs() < 1e-9 * dense.abs(),
            "{woodbury} vs {dense}"
        );
    }

    /// The one-exp fast path of the additive law against the reference formula, row by row.
    #[test]
    fn the_fast_residuals_are_the_reference_formulas() {
        let schedule = curve::Schedule {
            shape: curve::Shape::Cosine { final_lr: 0.1 },
            planned: 2e10,
            warmup: 2e8,
            batch_tokens: Some(5e5),
        };
        let run = crate::scenario::ObservedRun {
            name: "r".into(),
            params: 3e8,
            schedule,
            rows: (1..=40)
                .map(|i| (5e8 * i as f64, 3.0 - 0.01 * i as f64))
                .collect(),
        };
        let o = Observations {
            source: String::new(),
            runs: vec![run.clone()],
            noise: Some(0.01),
            discrepancy: 0.01,
            discrepancy_slope: 0.01,
            discrepancy_walk: 0.01,
            first: 0.1,
            level_free: false,
            mfu: None,
            goodput: None,
            live: None,
        };
        let m = RunModel::new(&run, &o);
        let shape = LawShape {
            form: Form::Additive,
            effective_params: false,
            time_term: false,
            embedding: None,
        };
        let mut d = Draw {
            coeffs: crate::law::Coeffs::test_fixture(),
            mfu: 0.4,
            goodput: 0.9,
            unique_tokens: f64::INFINITY,
            throughput: 1.0,
            anneal: 0.0,
            member: 0,
        };
        let (ee, ue) = m.residuals(shape, &d, 0.12);
        let mut reference = (0.0, [0.0; 2]);
        for ((p, y), u) in m.points.iter().zip(&m.y).zip(&m.u) {
            let e = y - m.expected(shape, &d, 0.12, p);
            reference.0 += e * e;
            reference.1[0] += e;
            reference.1[1] += u * e;
        }
        assert!(
            (ee - reference.0).abs() < 1e-12 * reference.0,
            "{ee} {}",
            reference.0
        );
        assert!((ue[0] - reference.1[0]).abs() < 1e-10);
        assert!((ue[1] - reference.1[1]).abs() < 1e-10);
        // Limited data takes the reference path: the same value when the limit is far away.
        d.unique_tokens = 1e30;
        let (ee2, _) = m.residuals(shape, &d, 0.12);
        assert!((ee2 - ee).abs() < 1e-9 * ee);
    }

    #[test]
    fn thinning_keeps_the_ends_and_at_most_k_rows() {
        let rows: Vec<(f64, f64)> = (0..500).map(|i| (i as f64, 1.0)).collect();
        let t = thin(&rows, 24);
        assert_eq!(t.len(), 24);
        assert_eq!(t[0].0, 0.0);
        assert_eq!(t[23].0, 499.0);
        assert_eq!(thin(&rows[..10], 24).len(), 10);
    }

    #[test]
    fn scatter_recovers_the_sd_of_noise_on_a_smooth_trend() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let noise = Normal::new(0.0, 0.01).unwrap();
        let rows: Vec<(f64, f64)> = (1..4000)
            .map(|i| {
                let t = i as f64;
                (t, 2.0 + 5.0 * t.powf(-0.3) + noise.sample(&mut rng))
            })
            .collect();
        let s = scatter(&rows).unwrap();
        assert!((s - 0.01).abs() < 0.0005, "{s}");
    }
}
