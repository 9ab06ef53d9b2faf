//! Backends: evaluate every (configuration, draw) pair and reduce it, without ever holding the
//! configurations × draws matrix, to the per-draw oracle and the per-configuration statistics.
//!
//! `cpu` is the f64 reference; `gpu` runs WGSL compute shaders through wgpu in f32; `gpu::twin`
//! runs the Rust twins of those shaders on the CPU. Both passes are described in docs/MODEL.md §5:
//! pass 1 (the [`Oracle`]: each draw's best candidate) runs once on the host in f64, whatever the
//! backend; pass 2 (every configuration's statistics) is what a [`Backend`] does.

pub mod cpu;
pub mod gpu;

use serde::Serialize;

use crate::candidates::Candidates;
use crate::error::Result;
use crate::grid::Grid;
use crate::sampling::Draw;

/// Progress callback of the backends: `n` more configurations have their statistics. A caller may
/// stop the work by unwinding out of it (`pipeline::Hooks::cancel`); the CPU backend, whose
/// parallel blocks would each finish before an unwind reaches the caller, also calls it with 0
/// before each block it starts, so a cancelled run skips the blocks not yet begun.
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
    /// Share of draws with regret ≤ ε (`decision.near_best_within`).
    pub p_near_best: f64,
    /// Mean wall-clock hours actually used, T·min(1, D/cap).
    pub hours_mean: f64,
}

/// What a backend returns.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub optima: Vec<DrawOptimum>,
    pub stats: Vec<ConfigStats>,
}

/// What the evaluation needs besides grid and draws (every stage uses it: both passes, every
/// backend, the aggregation).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub shape: crate::law::LawShape,
    pub flops_per_param_token: f64,
    /// The attention term of the training FLOPs (`law::k_at`), when modelled.
    pub attention: Option<crate::law::Attention>,
    pub target_loss: Option<f64>,
    /// The candidate rule's completion share (`decision.min_completion`): the oracle, the
    /// reference of regret, is the best candidate of each draw (`crate::candidates`).
    pub min_completion: f64,
    /// ε of `p_near_best` (`decision.near_best_within`), nats.
    pub near_best_within: f64,
}

impl Settings {
    /// The candidate set of `grid` for these draws.
    pub fn candidates(&self, grid: &Grid, draws: &[Draw]) -> Candidates {
        let throughput: Vec<f64> = draws.iter().map(|d| d.throughput).collect();
        let cosine = crate::sampling::cut_runs_pay(draws);
        Candidates::new(
            grid,
            &throughput,
            self.flops_per_param_token,
            self.attention,
            self.min_completion,
            cosine,
        )
    }
}

/// Pass 1's output, computed once on the host in f64 (`Oracle::new`) and handed to any backend's
/// pass 2.
pub struct Oracle {
    /// The per-draw tables of the CPU evaluation.
    pub tables: cpu::evaluate::Tables,
    /// Each draw's best candidate (the reference of regret) and its refinement.
    pub optima: Vec<DrawOptimum>,
}

impl Oracle {
    /// Pass 1: the draw tables and each draw's optimum.
    pub fn new(settings: &Settings, grid: &Grid, draws: &[Draw]) -> Oracle {
        let tables = cpu::evaluate::Tables::new(settings, grid, draws);
        let optima = cpu::oracle::optima(&tables, grid, &settings.candidates(grid, draws));
        Oracle { tables, optima }
    }

    /// The run's evaluation: these optima and pass 2's statistics.
    pub fn into_evaluation(self, stats: Vec<ConfigStats>) -> Evaluation {
        Evaluation {
            optima: self.optima,
            stats,
        }
    }
}

/// Pass 2 on some hardware: the CPU in f64 ([`cpu::Cpu`]), a GPU in f32 ([`gpu::Gpu`]), or the
/// Rust twins of the shaders in f32 on the CPU ([`gpu::twin::Twin`]).
pub trait Backend {
    /// `cpu`, `gpu` or `twin` (run.json's `backend`, the bench's first column).
    fn name(&self) -> &'static str;

    /// The hardware in words (run.json's `adapter`).
    fn describe(&self) -> String;

    /// Every configuration's statistics, in index order, given pass 1's `oracle` of the same
    /// settings, grid and draws; `progress` hears of each finished block of configurations.
    fn statistics(
        &self,
        settings: &Settings,
        grid: &Grid,
        draws: &[Draw],
        oracle: &Oracle,
        progress: OnProgress,
    ) -> Result<Vec<ConfigStats>>;

    /// GPU time of the statistics kernels of the last `statistics`, where measured.
    fn kernel_seconds(&self) -> Option<f64> {
        None
    }

    /// Both passes: the oracle once, then this backend's statistics.
    fn evaluate(
        &self,
        settings: &Settings,
        grid: &Grid,
        draws: &[Draw],
        progress: OnProgress,
    ) -> Result<Evaluation> {
        let oracle = Oracle::new(settings, grid, draws);
        let stats = self.statistics(settings, grid, draws, &oracle, progress)?;
        Ok(oracle.into_evaluation(stats))
    }
}
