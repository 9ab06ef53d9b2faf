//! Inference-aware cost (Sardana et al. 2024, "Beyond Chinchilla-Optimal"): a model that will
//! serve N tokens costs its training GPU-hours plus N·2P FLOPs of inference at the inference MFU.

use crate::backend::ConfigStats;
use crate::sampling::Draw;
use crate::scenario::Scenario;

/// FLOPs per parameter per served token (a forward pass).
pub const INFERENCE_FLOPS_PER_PARAM_TOKEN: f64 = 2.0;

/// Expected GPU-hours of training and inference for one configuration, given
/// `inv_mfu` = E[1/inference MFU].
pub struct Cost {
    per_gpu_flops: f64,
    inference_tokens: f64,
    inv_mfu: f64,
    gpus: f64,
}

impl Cost {
    /// None unless the scenario serves tokens and has hardware (the parser guarantees both when
    /// `lifetime_cost` is an objective).
    pub fn new(s: &Scenario, draws: &[Draw]) -> Option<Cost> {
        let inference_tokens = s.decision.inference_tokens?;
        let gpus = f64::from(s.budget.gpu_count()?);
        let peak = match &s.budget.capacity {
            crate::scenario::Capacity::Hardware { peak_tflops, .. } => peak_tflops * 1e12,
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
        })
    }

    /// Expected inference GPU-hours of a model of `params` parameters.
    pub fn inference_gpu_hours(&self, params: f64) -> f64 {
        self.inference_tokens * INFERENCE_FLOPS_PER_PARAM_TOKEN * params * self.inv_mfu
            / (self.per_gpu_flops * 3600.0)
    }

    /// Expected training GPU-hours: the GPUs times the mean hours the run takes.
    pub fn training_gpu_hours(&self, stats: &ConfigStats) -> f64 {
        self.gpus * stats.hours_mean
    }

    pub fn total(&self, params: f64, stats: &ConfigStats) -> f64 {
        self.training_gpu_hours(stats) + self.inference_gpu_hours(params)
    }
}
