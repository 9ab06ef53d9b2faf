//! `[budget]`, `[training]` and `[data]`: the hardware or FLOPs, the schedule, the unique data.

use std::path::Path;

use super::dists::{check_support, opt_dist, positive};
use super::raw::{RawBudget, RawData, RawTraining};
use super::{Budget, Capacity, Data, Schedule, Training};
use crate::distributions::dist::Dist;
use crate::error::{Error, Result};
use crate::presets::gpus;

/// `budget.context` with `flops_per_token = "kaplan"`: 2048 tokens, the sequence length of
/// Chinchilla's and GPT-3's training (Hoffmann et al. 2022; Brown et al. 2020 Table 2.1).
pub const DEFAULT_CONTEXT: f64 = 2048.0;

/// `budget.aspect_ratio` (d_model / n_layer): 64, a judgement between the GPT-3 family's 43–85
/// below 2B parameters and 128 above (Brown et al. 2020 Table 2.1; Chinchilla 70B: 8192/80 =
/// 102). Kaplan et al. 2020 (Fig. 5) find loss nearly insensitive to it, and the FLOPs depend on
/// it only through d_model ∝ aspect^(1/3).
pub const DEFAULT_ASPECT_RATIO: f64 = 64.0;

/// The default of `training.anneal_gain`, the level g of the gross anneal gain G(P) =
/// g·(P/10⁸)^0.128: the curve model's prior, lognormal around 0.0962 nats, fitted to Luo et al.
/// 2025's 27 curves, log-sd 0.5 (judgement: another data set, tokenizer and peak rate;
/// docs/MODEL.md §2, §8.1).
pub fn anneal_gain_default() -> Dist {
    Dist::LogNormal {
        median: crate::curve::GAP_MEDIAN,
        sigma: crate::curve::GAP_LOG_SD,
    }
}

pub fn budget(b: &RawBudget, base: &Path) -> Result<Budget> {
    let flops = positive("budget.flops", b.flops)?;
    let gpu = b.gpu.as_ref().map(|t| t.0.clone());
    let peak = positive("budget.peak_tflops", b.peak_tflops)?;
    let memory = positive("budget.memory_gb", b.memory_gb)?;
    let count = b.count.map(|w| w.0);
    let hours = positive("budget.hours", b.hours)?;
    let mfu = opt_dist("budget.mfu", &b.mfu, base)?;
    let goodput = opt_dist("budget.goodput", &b.goodput, base)?;
    let k = positive("budget.flops_per_param_token", b.flops_per_param_token)?.unwrap_or(6.0);
    if !(1.0..=100.0).contains(&k) {
        return Err(Error::input("budget.flops_per_param_token", format!("{k:e} is not allowed; 1 to 100 (6 is standard, 8 with full activation recomputation)")));
    }
    if let Some(h) = hours.filter(|h| *h > 1e6) {
        return Err(Error::input(
            "budget.hours",
            format!("{h:e} is not allowed; at most 1e6 hours (114 years)"),
        ));
    }
    let usd = positive("budget.usd_per_gpu_hour", b.usd_per_gpu_hour)?;
    let reserved = positive("budget.reserved_hours", b.reserved_hours)?;
    let bandwidth = positive("budget.memory_bandwidth_gbs", b.memory_bandwidth_gbs)?;
    let context = positive("budget.context", b.context)?;
    let aspect = positive("budget.aspect_ratio", b.aspect_ratio)?;
    let vocabulary = positive("budget.vocabulary", b.vocabulary)?;
    if let Some(v) = vocabulary.filter(|v| !(v.fract() == 0.0 && (2.0..=1e7).contains(v))) {
        return Err(Error::input(
            "budget.vocabulary",
            format!("{v} is not allowed; the tokens in the vocabulary, a whole number from 2 to 1e7 (GPT-2/GPT-3: 50257)"),
        ));
    }
    let attention = match b.flops_per_token.as_ref().map(|t| t.0.as_str()) {
        None | Some("6P") => {
            if context.is_some() {
                return Err(Error::input(
                    "budget.context",
                    "used only with budget.flops_per_token = \"kaplan\" (the attention term)",
                ));
            }
            if aspect.is_some() && vocabulary.is_none() {
                return Err(Error::input(
                    "budget.aspect_ratio",
                    "used only with budget.flops_per_token = \"kaplan\" (the attention term) or budget.vocabulary (the embedding parameters)",
                ));
            }
            None
        }
        Some("kaplan") => Some(crate::law::Attention {
            context: context.unwrap_or(DEFAULT_CONTEXT),
            aspect_ratio: aspect.unwrap_or(DEFAULT_ASPECT_RATIO),
            vocabulary,
        }),
        Some(other) => {
            return Err(Error::input(
                "budget.flops_per_token",
                format!("{other:?} is not allowed; \"6P\" (k·P per token) or \"kaplan\" (plus the attention term)"),
            ))
        }
    };

    let capacity = if let Some(flops) = flops {
        for (key, given) in [
            ("gpu", gpu.is_some()),
            ("peak_tflops", peak.is_some()),
            ("memory_gb", memory.is_some()),
            ("count", count.is_some()),
            ("mfu", mfu.is_some()),
            ("goodput", goodput.is_some()),
            ("usd_per_gpu_hour", usd.is_some()),
            ("reserved_hours", reserved.is_some()),
            ("memory_bandwidth_gbs", bandwidth.is_some()),
        ] {
            if given {
                return Err(Error::input(format!("budget.{key}"), "not used with budget.flops (a compute budget has no hardware, MFU or goodput); remove one of the two"));
            }
        }
        Capacity::Flops { flops }
    } else {
        let count = count.unwrap_or(1) as u32;
        match (gpu, peak) {
            (Some(_), Some(_)) => return Err(Error::input("budget.peak_tflops", "give either budget.gpu (a preset) or budget.peak_tflops with budget.memory_gb, not both")),
            (Some(name), None) => {
                let g = gpus::find(&name).ok_or_else(|| Error::input("budget.gpu", format!("{name:?} is not a preset; allowed: {} (or give peak_tflops and memory_gb)", gpus::names())))?;
                if memory.is_some() {
                    return Err(Error::input("budget.memory_gb", format!("preset {name} already sets memory ({} GB); drop memory_gb or use peak_tflops with memory_gb", g.memory_gb)));
                }
                if bandwidth.is_some() {
                    return Err(Error::input("budget.memory_bandwidth_gbs", format!("preset {name} already sets it ({} GB/s); give it only with peak_tflops", g.memory_bandwidth_gbs)));
                }
                Capacity::Hardware { gpu: name, peak_tflops: g.peak_tflops, memory_gb: g.memory_gb, memory_bandwidth_gbs: Some(g.memory_bandwidth_gbs), count }
            }
            (None, Some(peak)) => {
                let memory_gb = memory.ok_or_else(|| Error::input("budget.memory_gb", "missing; with peak_tflops give the memory per accelerator in GB"))?;
                Capacity::Hardware { gpu: "custom".into(), peak_tflops: peak, memory_gb, memory_bandwidth_gbs: bandwidth, count }
            }
            (None, None) => return Err(Error::input("budget", "no budget given; set budget.gpu (a preset), budget.peak_tflops with memory_gb, or budget.flops")),
        }
    };
    let hours = match (&capacity, hours) {
        (Capacity::Flops { .. }, h) => h.unwrap_or(1.0),
        (_, Some(h)) => h,
        (_, None) => {
            return Err(Error::input(
                "budget.hours",
                "missing; the wall-clock hours of the budget",
            ))
        }
    };
    let mfu = mfu.unwrap_or(Dist::Uniform {
        low: 0.30,
        high: 0.50,
    });
    check_support("budget.mfu", &mfu, 0.0, false, 1.0, "(0, 1]")?;
    let goodput = goodput.unwrap_or(Dist::Fixed(1.0));
    check_support("budget.goodput", &goodput, 0.0, false, 1.0, "(0, 1]")?;
    Ok(Budget {
        capacity,
        hours,
        mfu,
        goodput,
        flops_per_param_token: k,
        usd_per_gpu_hour: usd,
        reserved_hours: reserved,
        attention,
        model: vocabulary.map(|v| crate::law::ModelShape {
            aspect_ratio: aspect.unwrap_or(DEFAULT_ASPECT_RATIO),
            vocabulary: Some(v),
        }),
    })
}

pub fn training(t: &RawTraining, base: &Path) -> Result<Training> {
    let schedule = match t.schedule.as_ref().map(|s| s.0.as_str()) {
        None | Some("wsd") => Schedule::Wsd,
        Some("cosine") => Schedule::Cosine,
        Some(other) => {
            return Err(Error::input(
                "training.schedule",
                format!("{other:?} is not allowed; \"wsd\" (warmup-stable-decay) or \"cosine\""),
            ))
        }
    };
    // Keys a wsd schedule never reads are refused like any other key that does nothing, so a
    // what-if on them cannot silently leave every output unchanged.
    if schedule == Schedule::Wsd {
        for (key, given) in [
            ("final_lr_fraction", t.final_lr_fraction.is_some()),
            ("anneal_gain", t.anneal_gain.is_some()),
        ] {
            if given {
                return Err(Error::input(
                    format!("training.{key}"),
                    "used only with training.schedule = \"cosine\" (the wsd schedule anneals at its end, whatever its length); remove it or set the schedule",
                ));
            }
        }
    }
    let final_lr_fraction = t.final_lr_fraction.map_or(0.1, |n| n.0);
    if !(0.0..1.0).contains(&final_lr_fraction) {
        return Err(Error::input(
            "training.final_lr_fraction",
            format!("{final_lr_fraction} is not allowed; a fraction of the peak learning rate in [0, 1)"),
        ));
    }
    let anneal_gain =
        opt_dist("training.anneal_gain", &t.anneal_gain, base)?.unwrap_or_else(anneal_gain_default);
    check_support(
        "training.anneal_gain",
        &anneal_gain,
        0.0,
        true,
        10.0,
        "[0, 10] nats (the gain at 10^8 parameters)",
    )?;
    Ok(Training {
        schedule,
        final_lr_fraction,
        anneal_gain,
    })
}

pub fn data(d: &RawData, base: &Path) -> Result<Data> {
    let unique_tokens = opt_dist("data.unique_tokens", &d.unique_tokens, base)?;
    if let Some(u) = &unique_tokens {
        check_support(
            "data.unique_tokens",
            u,
            1.0,
            true,
            f64::INFINITY,
            "[1, ∞) tokens",
        )?;
    }
    Ok(Data { unique_tokens })
}
