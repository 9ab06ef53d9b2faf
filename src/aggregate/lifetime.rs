//! Inference-aware cost (Sardana et al. 2024, "Beyond Chinchilla-Optimal"): a model that will
//! serve N tokens costs its training GPU-hours plus its inference GPU-hours.
//!
//! Per served token, decoding is bounded by compute and by memory bandwidth (the roofline of
//! Pope et al. 2022, "Efficiently Scaling Transformer Inference", §2–3: a decoding step of a
//! batch of B sequences reads every weight once and each sequence's KV cache once, and does
//! 2P FLOPs per sequence plus the attention over its cache). The larger bound wins:
//!
//! - FLOPs: (2P + 2·n_layer·n_ctx·d_model) / (peak · MFU) GPU-seconds per token (Kaplan et al.
//!   2020 Table 1's forward pass; the attention term only with `decision.inference_context`).
//! - Bandwidth: (2 bytes · P + B · KV) / (B · bandwidth), KV = 2 · n_layer · n_ctx · d_model ·
//!   r · 2 bytes per sequence (keys and values in bf16, r = `decision.kv_head_ratio`), only with
//!   `decision.inference_batch`; the KV term only with `decision.inference_context`.
//!
//! Without `decision.inference_batch` only the FLOPs bound is used (a batch large enough to be
//! compute-bound: about peak·MFU/bandwidth ≈ 60 sequences on an A100 at 40% MFU). A decoding
//! step takes B times the GPU-seconds per token: the latency of each generated token of one
//! sequence ([`Cost::step_seconds`]).
//!
//! `budget.reserved_hours` are GPU-hours already paid for: using them costs nothing, so the
//! lifetime cost is what the plan needs beyond them, max(0, training + inference − reserved)
//! ([`Cost::total`]). The subtraction is of the expectation (the statistics keep the mean hours
//! a plan uses, not its hours per draw).

use crate::backend::ConfigStats;
use crate::law::ModelShape;
use crate::sampling::Draw;
use crate::scenario::Scenario;

/// FLOPs per parameter per served token (a forward pass).
pub const INFERENCE_FLOPS_PER_PARAM_TOKEN: f64 = 2.0;

/// Bytes per parameter read per decoding step (bf16 weights).
pub const INFERENCE_BYTES_PER_PARAM: f64 = 2.0;

/// Bytes per cached key or value element (a bf16 KV cache).
pub const KV_BYTES_PER_VALUE: f64 = 2.0;

/// The KV cache of one served sequence (`decision.inference_context`).
#[derive(Debug, Clone, Copy)]
struct Cache {
    /// Tokens the sequence holds in its cache.
    context: f64,
    /// Key-value heads over query heads.
    head_ratio: f64,
    /// The shape rule that gives n_layer and d_model from P (MODEL.md §1).
    shape: ModelShape,
}

/// Expected GPU-hours of training and inference for one configuration, given
/// `inv_mfu` = E[1/inference MFU].
pub struct Cost {
    per_gpu_flops: f64,
    inference_tokens: f64,
    inv_mfu: f64,
    gpus: f64,
    /// Bytes per second per GPU and the decoding batch, when both are known.
    bandwidth_batch: Option<(f64, f64)>,
    cache: Option<Cache>,
    /// GPU-hours already paid for (`budget.reserved_hours`; 0 without).
    reserved: f64,
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
            cache: s.decision.inference_context.map(|context| Cache {
                context,
                head_ratio: s.decision.kv_head_ratio.unwrap_or(1.0),
                shape: s.budget.model_shape(),
            }),
            reserved: s.budget.reserved_hours.unwrap_or(0.0),
        })
    }

    /// Bytes of one sequence's KV cache in a model of `params` parameters:
    /// 2 · n_layer · n_ctx · d_model · r · 2 bytes (0 without `inference_context`).
    pub fn kv_bytes(&self, params: f64) -> f64 {
        self.cache.map_or(0.0, |c| {
            let d = c.shape.d_model(params);
            let n_layer = d / c.shape.aspect_ratio;
            2.0 * n_layer * c.context * d * c.head_ratio * KV_BYTES_PER_VALUE
        })
    }

    /// Forward FLOPs per served token: 2P, plus 2·n_layer·n_ctx·d_model for the attention over
    /// the cache when the context is known.
    pub fn flops_per_token(&self, params: f64) -> f64 {
        let attention = self.cache.map_or(0.0, |c| {
            let d = c.shape.d_model(params);
            2.0 * (d / c.shape.aspect_ratio) * c.context * d
        });
        INFERENCE_FLOPS_PER_PARAM_TOKEN * params + attention
    }

    /// GPU-seconds per served token of a model of `params` parameters: the larger of the FLOPs
    /// bound and (with a batch and a bandwidth) the memory-bandwidth bound.
    pub fn seconds_per_token(&self, params: f64) -> f64 {
        let flops = self.flops_per_token(params) * self.inv_mfu / self.per_gpu_flops;
        let memory = self.bandwidth_batch.map_or(0.0, |(bw, batch)| {
            (INFERENCE_BYTES_PER_PARAM * params + batch * self.kv_bytes(params)) / (batch * bw)
        });
        flops.max(memory)
    }

    /// Seconds of one decoding step on one GPU, batch × GPU-seconds per token: the time between
    /// two generated tokens of one sequence. None without `decision.inference_batch`.
    pub fn step_seconds(&self, params: f64) -> Option<f64> {
        self.bandwidth_batch
            .map(|(_, batch)| batch * self.seconds_per_token(params))
    }

    /// Expected inference GPU-hours of a model of `params` parameters.
    pub fn inference_gpu_hours(&self, params: f64) -> f64 {
        self.inference_tokens * self.seconds_per_token(params) / 3600.0
    }

    /// Expected training GPU-hours: the GPUs times the mean hours the run takes.
    pub fn training_gpu_hours(&self, stats: &ConfigStats) -> f64 {
        self.gpus * stats.hours_mean
    }

    /// The lifetime cost in GPU-hours: training plus inference, less the reserved GPU-hours
    /// (never below 0: unused reserved hours are not a gain).
    pub fn total(&self, params: f64, stats: &ConfigStats) -> f64 {
        (self.training_gpu_hours(stats) + self.inference_gpu_hours(params) - self.reserved).max(0.0)
    }

    /// GPU-hours already paid for, which [`Cost::total`] does not count.
    pub fn reserved_gpu_hours(&self) -> f64 {
        self.reserved
    }
}
