//! Backends: evaluate every (configuration, draw) pair and reduce it, without ever holding the
//! configurations × draws matrix, to the per-draw oracle and the per-configuration statistics.
//!
//! `cpu` is the f64 reference; `gpu` runs WGSL compute shaders through wgpu in f32. Both passes are described in docs/MODEL.md §5.

pub mod cpu;
pub mod gpu;

use serde::Serialize;

/// Progress callback of the backends: `n` more configurations have their statistics.
pub type OnProgress<'a> = &'a (dyn Fn(usize) + Sync);

/// The best candidate of one draw (the oracle).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DrawOptimum {
    /// Configuration index of the grid argmin (ties: lowest index).
    pub index: usize,
    /// Smallest loss over feasible grid candidates: L*(θ_i), the reference of regret.
    pub loss_grid: f64,
    /// Refined between grid points (parabola in ln P through the argmin and its neighbours).
    pub params: f64,
    /// Tokens the optimal run actually trains (D_run).
    pub tokens: f64,
    pub hours: f64,
    pub loss: f64,
}

/// Statistics of one configuration over all draws (MODEL.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct ConfigStats {
    pub loss_mean: f64,
    pub loss_sd: f64,
    pub loss_se: f64,
    pub loss_p05: f64,
    pub loss_p50: f64,
    pub loss_p95: f64,
    pub loss_cvar95: f64,
    pub p_complete: f64,
    /// NaN when the scenario has no target loss.
    pub p_target: f64,
    pub regret_mean: f64,
    pub regret_p95: f64,
    pub regret_max: f64,
    pub p_best: f64,
    /// Mean wall-clock hours actually used, T·min(1, D/cap).
    pub hours_mean: f64,
}

/// What a backend returns.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub optima: Vec<DrawOptimum>,
    pub stats: Vec<ConfigStats>,
}
