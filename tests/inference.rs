//! Inference cost of `lifetime_cost` (MODEL.md §5): per served token the larger of the FLOPs
//! bound and the memory-bandwidth bound, each recomputed here by hand from the A100 80GB
//! datasheet (312 TFLOP/s dense BF16, 2,039 GB/s), with the KV cache of Pope et al. 2022
//! (2 · n_layer · n_ctx · d_model values per sequence, 2 bytes each) and the model's shape from
//! MODEL.md §1 (d_model = (P·64/12)^(1/3), n_layer = d_model / 64).

use std::path::Path;

use scalerisk::pipeline::RunResult;
use scalerisk::scenario;

mod common;

fn run(batch: &str) -> RunResult {
    run_with(&[batch])
}

fn run_with(extra: &[&str]) -> RunResult {
    common::run_shipped("inference-heavy", 40, 512, extra)
}

/// Inference GPU-seconds per served token of the lifetime plan, from its reported total.
fn per_token(r: &RunResult) -> (f64, f64) {
    let plan = r
        .summary
        .recommendations
        .iter()
        .find(|x| x.objective.name() == "lifetime_cost")
        .expect("a lifetime plan");
    let training = plan.stats.hours_mean; // one GPU
    let n = r.scenario.decision.inference_tokens.unwrap();
    (
        (plan.lifetime_gpu_hours - training) * 3600.0 / n,
        plan.params,
    )
}

#[test]
fn batch_one_decoding_is_bandwidth_bound() {
    let (seconds, p) = per_token(&run("decision.inference_batch=1"));
    // Every weight read once per token: 2 bytes × P over 2,039 GB/s.
    let hand = 2.0 * p / 2039e9;
    assert!((seconds / hand - 1.0).abs() < 1e-9, "{seconds} vs {hand}");
}

#[test]
fn large_batch_decoding_is_compute_bound() {
    let r = run("decision.inference_batch=1e6");
    let (seconds, p) = per_token(&r);
    let inv_mfu = r.draws.iter().map(|d| 1.0 / d.mfu).sum::<f64>() / r.draws.len() as f64;
    let hand = 2.0 * p * inv_mfu / 312e12;
    assert!((seconds / hand - 1.0).abs() < 1e-9, "{seconds} vs {hand}");
    // Memory-bound serving makes parameters dearer: the batch-1 plan is no larger.
    let (_, p1) = per_token(&run("decision.inference_batch=1"));
    assert!(p1 <= p, "batch 1 {p1:e} vs large batch {p:e}");
}

/// d_model and n_layer of a model of `p` parameters at the default aspect ratio 64, by hand.
fn shape(p: f64) -> (f64, f64) {
    let d = (p * 64.0 / 12.0).cbrt();
    (d, d / 64.0)
}

/// One sequence's KV cache: keys and values, n_layer × n_ctx × d_model each, 2 bytes a value.
fn kv_bytes(p: f64, context: f64, ratio: f64) -> f64 {
    let (d, n_layer) = shape(p);
    2.0 * n_layer * context * d * ratio * 2.0
}

#[test]
fn batch_one_reads_the_weights_and_one_kv_cache() {
    let r = run_with(&[
        "decision.inference_batch=1",
        "decision.inference_context=4096",
    ]);
    let (seconds, p) = per_token(&r);
    let hand = (2.0 * p + kv_bytes(p, 4096.0, 1.0)) / 2039e9;
    assert!((seconds / hand - 1.0).abs() < 1e-9, "{seconds} vs {hand}");
    // The report gives the step time (the latency of each token of one sequence) on the
    // lifetime plan's line; at batch 1 it is the GPU-seconds per token.
    let report = scalerisk::report::render(&r);
    let line = report
        .lines()
        .find(|l| l.contains("lifetime_cost") && l.contains("ms per token per sequence"))
        .unwrap_or_else(|| panic!("no latency in:\n{report}"));
    let ms: f64 = line
        .split(" ms per token")
        .next()
        .and_then(|x| x.rsplit('(').next())
        .and_then(|x| x.trim().parse().ok())
        .expect("a number");
    assert!((ms / (hand * 1e3) - 1.0).abs() < 1e-3, "{line}");
}

/// At a batch of a million sequences the weights cost nothing per token, but each sequence's
/// 4,096-token cache does: multi-head decoding stays bandwidth-bound at any batch (Pope et al.
/// 2022 §3: the KV cache dominates at large batch and long context, the case for multi-query
/// attention), here about 10× the FLOPs bound. Grouped-query attention with 8 of 64 heads
/// shrinks it eightfold.
#[test]
fn large_batch_decoding_is_bound_by_the_kv_cache() {
    let batch = 1e6;
    for ratio in [1.0, 0.125] {
        let r = run_with(&[
            "decision.inference_batch=1e6",
            "decision.inference_context=4096",
            &format!("decision.kv_head_ratio={ratio}"),
        ]);
        let (seconds, p) = per_token(&r);
        let inv_mfu = r.draws.iter().map(|d| 1.0 / d.mfu).sum::<f64>() / r.draws.len() as f64;
        let (d, n_layer) = shape(p);
        let flops = (2.0 * p + 2.0 * n_layer * 4096.0 * d) * inv_mfu / 312e12;
        let memory = (2.0 * p + batch * kv_bytes(p, 4096.0, ratio)) / (batch * 2039e9);
        let hand = flops.max(memory);
        assert!((seconds / hand - 1.0).abs() < 1e-9, "{seconds} vs {hand}");
        if ratio == 1.0 {
            assert!(memory > 5.0 * flops, "{memory} vs {flops}");
        }
    }
}

#[test]
fn kv_keys_are_refused_where_they_would_be_ignored() {
    let refuse = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|x| x.to_string()).collect();
        scenario::from_path(Path::new("scenarios/a100-3days.toml"), &sets)
            .expect_err("refused")
            .to_string()
    };
    let e = refuse(&["decision.inference_context=4096"]);
    assert!(
        e.starts_with("decision.inference_context: used only with decision.inference_tokens"),
        "{e}"
    );
    let e = refuse(&["decision.kv_head_ratio=0.5"]);
    assert!(
        e.starts_with("decision.kv_head_ratio: used only with decision.inference_context"),
        "{e}"
    );
    let e = refuse(&["decision.inference_context=0.5"]);
    assert!(
        e.starts_with("decision.inference_context: 0.5 is not allowed"),
        "{e}"
    );
}
