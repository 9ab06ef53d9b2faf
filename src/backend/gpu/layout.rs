//! Host ↔ shader structs (`shaders/evaluate.wgsl`): `#[repr(C)]`, Pod, explicit padding, sizes
//! checked at compile time; `tests/shaders.rs` checks them against naga's reflection.

use bytemuck::{Pod, Zeroable};

/// The uniform `Params`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct Params {
    pub n_draws: u32,
    pub n_params: u32,
    pub n_tokens: u32,
    pub n_hours: u32,
    pub config_offset: u32,
    pub n_configs: u32,
    pub form: u32,
    pub time_term: u32,
    pub effective_params: u32,
    pub has_target: u32,
    pub target_loss: f32,
    /// ε of the near-best count (`decision.near_best_within`).
    pub near_eps: f32,
    pub ranks: [[u32; 4]; 3],
}

/// One element of the storage array `draws`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct DrawGpu {
    pub e: f32,
    pub ln_a: f32,
    pub ln_b: f32,
    pub alpha: f32,
    pub beta: f32,
    pub c: f32,
    pub gamma: f32,
    pub ln_x: f32,
    pub ln_u: f32,
    pub rd_star: f32,
    pub rn_star: f32,
    pub ln_nopt: f32,
    pub l_star: f32,
    pub alpha_d: f32,
    /// The draw's full-anneal gain (0 under wsd): the cut-run penalty's scale.
    pub anneal: f32,
    pub _pad1: f32,
}

/// One configuration's output row of `config_stats` (the shader's `StatsRow`), merged in f64 by
/// `gpu::merge`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default, PartialEq)]
pub struct StatsRow {
    /// The loss of draw 0: the moments are about it.
    pub shift: f32,
    /// Σ (L − shift).
    pub sum: f32,
    /// Σ (L − shift)².
    pub sum_sq: f32,
    /// Σ (L − L*).
    pub regret_sum: f32,
    /// Σ min(1, D/cap).
    pub used: f32,
    /// Draws with D ≤ cap.
    pub complete: f32,
    /// Draws with L ≤ the target loss.
    pub hits: f32,
    pub regret_max: f32,
    /// Draws with L − L* ≤ ε.
    pub near: f32,
    /// Σ (L − threshold) over L > threshold (CVaR).
    pub tail_sum: f32,
    /// The resolved order statistics, in `Params::ranks` order.
    pub ranks: [f32; 9],
    pub _pad1: f32,
    pub _pad2: f32,
    pub _pad3: f32,
    pub _pad4: f32,
    pub _pad5: f32,
}

const _: () = assert!(std::mem::size_of::<StatsRow>() == STRIDE * 4);
const _: () = assert!(std::mem::size_of::<Params>() == 96);
const _: () = assert!(std::mem::offset_of!(Params, ranks) == 48);
const _: () = assert!(std::mem::size_of::<DrawGpu>() == 64);

/// `ln_u` of a draw with unlimited unique data (the shader's `UNLIMITED`).
pub const UNLIMITED: f32 = 1e30;
/// f32 values per configuration in `out` (the shader's `STRIDE`).
pub const STRIDE: usize = 24;
/// Threads per workgroup of `config_stats` (the shader's `WG`).
pub const WORKGROUP: u32 = 64;
