//! Inference-aware cost (Sardana et al. 2024, "Beyond Chinchilla-Optimal"): a model that will
//! serve N tokens costs its training GPU-hours plus its inference GPU-hours.
//!
//! Per served token, decoding is bounded by compute, 2P FLOPs at the inference MFU, and by
//! memory bandwidth: each decoding step reads every weight once (2 bytes per parameter in
//! bf16) for the batch of sequences it advances, so a token costs at least 2P·2 / (batch ·
//! bandwidth) seconds (the roofline of Pope et al. 2022, "Efficiently Scaling Transformer
//! Inference", without the KV cache's reads). The larger bound wins. Without
//! `decision.inference_batch` only the FLOPs bound is used (a batch large enough to be
//! compute-bound: about peak·MFU/bandwidth ≈ 60 sequences on an A100 at 40% MFU).

use crate::backend::ConfigStats;
use crate::sampling::Draw;
use crate::scenario::Scenario;

/// FLOPs per parameter per served token (a forward pass).
pub const INFERENCE_FLOPS_PER_PARAM_TOKEN: f64 = 2.0;

/// Bytes per parameter read per decoding step (bf16 weights).
pub const INFERENCE_BYTES_PER_PARAM: f64 = 2.0;

/// Expected GPU-hours of training and inference for one configuration, given
/// `inv_mfu` = E[1/inference MFU].
pub struct Cost {
    per_gpu_flops: f64,
    inference_tokens: f64,
    inv_mfu: f64,
    gpus: f64,
    /// Bytes per second per GPU and the decoding batch, when both are known.
    bandwidth_batch: Option<(f64, f64)>,
}

impl Cost {
    /// None unless the scenario serves tokens and has hardware (the parser guarantees both when
    /// `lifetime_cost` is an objective).
    pub fn new(s: &Scenario, draws: &[Draw]) -> Option<Cost> {
        let inference_tokens = s.decision.inference_tokens?;
        let gpus = f64::from(s.budget.gpu_count()?);
        let (peak, bandwidth) = match &s.budget.capacity {
            crate::scenario::Capacity::Hardware {
                peak_tflops,
                memory_bandwidth_gbs,
                ..
            } => (peak_tflops * 1e12, memory_bandwidth_gbs.map(|b| b * 1e9)),
            crate::scenario::Capacity::Flops { .. } => return None,
        };
        let inv_mfu = match s.decision.inference_mfu {
            Some(m) => 1.0 / m,
            None => draws.iter().map(|d| 1.0 / d.mfu).sum::<f64>() / draws.len() as f64,
        };
        Some(Cost {
            per_gpu_flops: peak,
            inference_tokens,
            inv_mfu,
            gpus,
            bandwidth_batch: bandwidth.zip(s.decision.inference_batch),
        })
    }

    /// GPU-seconds per served token of a model of `params` parameters: the larger of the FLOPs
    /// bound and (with a batch and a bandwidth) the memory-bandwidth bound.
    pub fn seconds_per_token(&self, params: f64) -> f64 {
        let flops = INFERENCE_FLOPS_PER_PARAM_TOKEN * params * self.inv_mfu / self.per_gpu_flops;
        let memory = self.bandwidth_batch.map_or(0.0, |(bw, batch)| {
            INFERENCE_BYTES_PER_PARAM * params / (batch * bw)
        });
        flops.max(memory)
    }

    /// Expected inference GPU-hours of a model of `params` parameters.
    pub fn inference_gpu_hours(&self, params: f64) -> f64 {
        self.inference_tokens * self.seconds_per_token(params) / 3600.0
    }

    /// Expected training GPU-hours: the GPUs times the mean hours the run takes.
    pub fn training_gpu_hours(&self, stats: &ConfigStats) -> f64 {
        self.gpus * stats.hours_mean
    }

    pub fn total(&self, params: f64, stats: &ConfigStats) -> f64 {
        self.training_gpu_hours(stats) + self.inference_gpu_hours(params)
    }
}
