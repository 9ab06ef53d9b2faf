//! Scenarios: the TOML a user writes, validated into a [`Scenario`] before any work starts.
//!
//! `load` reads the file and applies `overrides` (`--set KEY=VALUE`); `raw` is the file's
//! typed shape (serde, unknown keys refused with the closest name); `budget`, `law` and
//! `search` validate their sections (`dists` the distributions) and name field, value and what
//! is allowed on refusal; `domain` is the last check; `files` reads the CSVs a scenario names.

mod budget;
mod dists;
mod domain;
mod files;
mod law;
mod load;
mod objective;
mod observations;
mod overrides;
mod raw;
mod search;

pub use budget::{anneal_gain_default, DEFAULT_ASPECT_RATIO, DEFAULT_CONTEXT};
pub use domain::MAX_LOSS;
pub use files::{
    check_unique_headers, draws_range_path, inputs_read, kind_of, load_column, load_law_draws,
    read_text, read_text_unrecorded, show_headers, MAX_CSV_BYTES, MAX_SCENARIO_BYTES, MAX_TERM,
};
pub use law::MAX_MIXTURE;
pub use load::{
    from_path, from_path_with_losses, from_str, from_str_with_losses, MAX_CONFIGS, MAX_EVALUATIONS,
    MAX_FRONTIER_HOURS,
};
pub use objective::Objective;
pub use observations::{Live, LossRecord, Measured, Observations, ObservedRun};
pub use overrides::apply_set;
pub use raw::{MAX_AXIS_POINTS, MAX_DRAWS};

use serde::Serialize;
use std::sync::Arc;

use crate::distributions::dist::Dist;
use crate::law::{Coeff, Coord, LawShape};

/// A validated scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub budget: Budget,
    pub data: Data,
    pub law: Law,
    pub search: Search,
    pub decision: Decision,
    pub sampling: Sampling,
    pub training: Training,
    /// `[observations]`: what has been measured; the draws are conditioned on it (None: the
    /// prior is the answer; left out of run.json then, which stays as it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observations: Option<Observations>,
}

/// The learning-rate schedule (docs/MODEL.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Warmup-stable-decay: the run anneals where it stops, so a cut run costs only tokens.
    Wsd,
    /// Cosine, its length fixed at launch: a run cut at fraction f of it has not annealed.
    Cosine,
}

/// `[training]`: the schedule and, for cosine, what an unfinished anneal costs.
#[derive(Debug, Clone, Serialize)]
pub struct Training {
    pub schedule: Schedule,
    /// Cosine: the final learning rate as a fraction of the peak (Hoffmann et al. 2022: 0.1).
    pub final_lr_fraction: f64,
    /// The level g of the gross anneal gain G(P) = g·(P/10⁸)^a, nats (docs/MODEL.md §2, §8.1):
    /// what a full anneal to 10% of the peak gains over none at 10⁸ parameters, before the law's
    /// credit for a constant rate's larger area.
    pub anneal_gain: Dist,
}

impl Training {
    /// A draw's anneal level under this schedule for a draw of `anneal_gain`: scaled by the share
    /// of the learning rate the schedule removes, (1 − final_lr_fraction) / 0.9 (Tissue et al.
    /// 2024: the annealing area is proportional to the total decrease). 0 under wsd.
    pub fn anneal(&self, gain: f64) -> f64 {
        match self.schedule {
            Schedule::Wsd => 0.0,
            Schedule::Cosine => gain * (1.0 - self.final_lr_fraction) / 0.9,
        }
    }
}

/// Where the FLOPs come from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Capacity {
    /// `count` accelerators of `peak_tflops` dense peak and `memory_gb` memory each.
    Hardware {
        gpu: String,
        peak_tflops: f64,
        memory_gb: f64,
        /// Memory bandwidth per accelerator, GB/s (the preset's, or `budget.memory_bandwidth_gbs`).
        memory_bandwidth_gbs: Option<f64>,
        count: u32,
    },
    /// A fixed compute budget of `flops` over `hours` nominal hours (MFU and goodput are 1).
    Flops { flops: f64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub capacity: Capacity,
    /// Wall-clock hours H of the budget.
    pub hours: f64,
    pub mfu: Dist,
    pub goodput: Dist,
    /// k: training FLOPs per parameter per token (6; 8 with full activation recomputation).
    pub flops_per_param_token: f64,
    /// `budget.flops_per_token = "kaplan"`: the attention term (None: "6P", k·P per token).
    pub attention: Option<crate::law::Attention>,
    pub usd_per_gpu_hour: Option<f64>,
    /// `budget.reserved_hours`: GPU-hours already paid for, which lifetime cost does not count
    /// (only with `decision.inference_tokens`, the one cost they reduce).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_hours: Option<f64>,
    /// `budget.vocabulary`: the grid's P counts a tied V × d_model embedding (MODEL.md §1); the
    /// shape that splits P into embedding and non-embedding parameters. None: no vocabulary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<crate::law::ModelShape>,
}

impl Budget {
    /// Throughput X in FLOP/s for one draw of MFU and goodput (MODEL.md §1).
    pub fn throughput(&self, mfu: f64, goodput: f64) -> f64 {
        match &self.capacity {
            Capacity::Hardware {
                peak_tflops, count, ..
            } => f64::from(*count) * peak_tflops * 1e12 * mfu * goodput,
            Capacity::Flops { flops } => flops / (3600.0 * self.hours),
        }
    }

    /// The shape rule of the models on the grid (MODEL.md §1): `budget.vocabulary` with
    /// `budget.aspect_ratio`, else the attention term's ratio, else the default ratio, without
    /// a vocabulary. Used by the KV cache of `lifetime_cost` and the embedding split.
    pub fn model_shape(&self) -> crate::law::ModelShape {
        self.model.unwrap_or(crate::law::ModelShape {
            aspect_ratio: self
                .attention
                .map_or(budget::DEFAULT_ASPECT_RATIO, |a| a.aspect_ratio),
            vocabulary: None,
        })
    }

    /// Number of accelerators (None for a FLOPs budget).
    pub fn gpu_count(&self) -> Option<u32> {
        match &self.capacity {
            Capacity::Hardware { count, .. } => Some(*count),
            Capacity::Flops { .. } => None,
        }
    }

    /// Total accelerator memory in bytes (None for a FLOPs budget: no memory limit).
    pub fn memory_bytes(&self) -> Option<f64> {
        match &self.capacity {
            Capacity::Hardware {
                memory_gb, count, ..
            } => Some(memory_gb * 1e9 * f64::from(*count)),
            Capacity::Flops { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Data {
    /// Unique tokens available; None for unlimited.
    pub unique_tokens: Option<Dist>,
}

/// One law coefficient and where its value comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Coef {
    #[serde(rename = "name")]
    pub coeff: Coeff,
    pub dist: Dist,
    /// Given by the user (wins over the preset's group uncertainty).
    pub overridden: bool,
    /// Values must be > this (`-f64::MIN_POSITIVE` lets zero through).
    #[serde(skip)]
    pub domain_min: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Law {
    pub preset: String,
    pub shape: LawShape,
    pub coefficients: Vec<Coef>,
    pub uncertainty: Uncertainty,
    pub illustrative: bool,
    pub source: String,
    /// `law.mixture`: the members, each a law with its own uncertainty and a weight (summing to
    /// 1); empty for a single law. For a mixture the fields above are the first member's
    /// (every member has the same form and coefficients) and `preset` is "mixture".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mixture: Vec<MixtureMember>,
    /// The runs the preset was fitted to (None: `seed`, `custom`, and a mixture, whose members
    /// carry theirs).
    #[serde(skip)]
    pub fit_range: Option<crate::presets::laws::FitRange>,
    /// Whether the preset counts non-embedding parameters (kaplan2020).
    #[serde(skip)]
    pub non_embedding: bool,
    /// With `law.draws_file`: where the draws come from, for the report's header ("draws from
    /// fitted_draws.csv (fit of runs.csv)"); their range file replaces the preset's range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draws_source: Option<String>,
}

/// One member of `law.mixture`.
#[derive(Debug, Clone, Serialize)]
pub struct MixtureMember {
    pub weight: f64,
    pub law: Law,
}

impl Law {
    /// Let the law count parameters in its own convention (MODEL.md §1): a law fitted on
    /// non-embedding parameters sees N = P − V·d_model(P) when the budget gives a vocabulary.
    pub(crate) fn count_params(&mut self, budget: &Budget) {
        if let Some(m) = budget.model {
            if self.non_embedding {
                self.shape.embedding = Some(m);
            }
            for member in &mut self.mixture {
                member.law.count_params(budget);
            }
            // A mixture's own shape is its first member's (members share one form, and only
            // Kaplan's form counts no embeddings).
            if let Some(first) = self.mixture.first() {
                self.shape.embedding = first.law.shape.embedding;
            }
        }
    }

    /// The law of mixture member `m` (the law itself when it is not a mixture).
    pub fn member(&self, m: usize) -> &Law {
        self.mixture.get(m).map_or(self, |x| &x.law)
    }

    /// Whether the user overrode this coefficient (the coefficient of lnA is A, and so on).
    pub fn is_overridden(&self, coeff: Coeff) -> bool {
        self.coefficients
            .iter()
            .any(|c| c.overridden && c.coeff == coeff)
    }

    /// Whether the coefficient has a distribution of its own (overridden and not fixed), and
    /// so is drawn independently of the law's joint uncertainty.
    pub fn is_independent(&self, coeff: Coeff) -> bool {
        self.coefficients
            .iter()
            .any(|c| c.coeff == coeff && c.overridden && !c.dist.is_fixed())
    }

    /// The coefficients this law uses, in draws.csv order.
    pub fn coeffs(&self) -> Vec<Coeff> {
        self.coefficients.iter().map(|c| c.coeff).collect()
    }

    /// Names of the coefficients this law uses, in draws.csv order.
    pub fn names(&self) -> Vec<&'static str> {
        self.coefficients.iter().map(|c| c.coeff.name()).collect()
    }
}

/// Joint uncertainty over the law's coefficients.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Uncertainty {
    None,
    Mvn(Mvn),
    /// Resample rows (E, A, B, alpha, beta) of a bootstrap CSV.
    Draws {
        source: String,
        #[serde(skip)]
        rows: Arc<Vec<[f64; 5]>>,
        count: usize,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Mvn {
    /// The coordinates (lnA, lnB, lnE allowed for log-space groups), serialised by name.
    pub names: Vec<Coord>,
    pub mean: Vec<f64>,
    pub cov: Vec<Vec<f64>>,
    #[serde(skip)]
    pub chol: Vec<Vec<f64>>,
    /// Diagonal jitter the factorisation needed (0 when none).
    pub jitter: f64,
}

/// A log-spaced axis of the search grid.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Axis {
    pub min: f64,
    pub max: f64,
    pub points: usize,
}

impl Axis {
    /// The grid values, log-spaced from min to max inclusive, in f64.
    pub fn values(&self) -> Vec<f64> {
        if self.points == 1 {
            return vec![self.min];
        }
        let (a, b) = (self.min.ln(), self.max.ln());
        (0..self.points)
            .map(|i| match i {
                0 => self.min,
                i if i == self.points - 1 => self.max,
                i => (a + (b - a) * i as f64 / (self.points - 1) as f64).exp(),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Search {
    pub params: Axis,
    pub tokens: Axis,
    pub hours: Vec<f64>,
    pub max_params: Option<f64>,
    pub bytes_per_param: f64,
    /// Whether the token axis also holds D = ∞, "train until the deadline" (default true).
    pub until_deadline: bool,
}

impl Search {
    /// Points on each axis of the grid the search spans: sizes, token counts ("until the
    /// deadline" counted among them), hours.
    pub fn shape(&self) -> (usize, usize, usize) {
        (
            self.params.points,
            self.tokens.points + usize::from(self.until_deadline),
            self.hours.len(),
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub objectives: Vec<Objective>,
    pub min_completion: f64,
    pub target_loss: Option<f64>,
    /// ε of the `near_best` objective and of `p_near_best`: a plan is near the best in a draw
    /// when its regret there is at most this many nats.
    pub near_best_within: f64,
    /// Share of draws that must reach target_loss for `lifetime_cost` (default 0.9).
    pub target_confidence: f64,
    /// Tokens the model will serve over its life (enables `lifetime_cost`).
    pub inference_tokens: Option<f64>,
    /// MFU of inference; None: as training (E[1/mfu] over the draws).
    pub inference_mfu: Option<f64>,
    /// Sequences decoded together when serving; None: the FLOPs bound alone (batched well
    /// enough to be compute-bound).
    pub inference_batch: Option<f64>,
    /// Tokens each served sequence holds in its KV cache (`decision.inference_context`): adds
    /// the KV cache's reads to the bandwidth bound and the attention FLOPs to the FLOPs bound.
    /// None: weights only (MODEL.md §5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_context: Option<f64>,
    /// Key-value heads over query heads (`decision.kv_head_ratio`; None: 1, multi-head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kv_head_ratio: Option<f64>,
    /// Budget levels of the frontier in hours (default H × 2^k, k = −3..3).
    pub frontier_hours: Vec<f64>,
    /// Price pilot designs before the main run (`aggregate::pilots`, MODEL.md §5).
    pub pilots: bool,
    /// sd of a pilot's observed final loss, nats.
    pub pilot_noise: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sampling {
    pub draws: usize,
    pub seed: u64,
    pub method: Method,
}

/// How draws are made (docs/MODEL.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Keyed ChaCha8 streams per input.
    Random,
    /// Scrambled Sobol points, one dimension per input.
    Sobol,
}
