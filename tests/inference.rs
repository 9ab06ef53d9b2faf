//! Inference cost of `lifetime_cost` (MODEL.md §5): per served token the larger of the FLOPs
//! bound and the memory-bandwidth bound, each recomputed here by hand from the A100 80GB
//! datasheet (312 TFLOP/s dense BF16, 2,039 GB/s).

use std::path::Path;

use scalerisk::pipeline::{self, BackendChoice, RunResult};
use scalerisk::scenario;

fn run(batch: &str) -> RunResult {
    let sets: Vec<String> = [
        "search.params={min=3e7,max=3e9,points=40}",
        "search.tokens={min=1e9,max=1e12,points=40}",
        "sampling.draws=512",
        batch,
    ]
    .map(String::from)
    .to_vec();
    let s = scenario::from_path(Path::new("scenarios/inference-heavy.toml"), &sets).unwrap();
    pipeline::run(s, BackendChoice::Cpu, false).unwrap()
}

/// Inference GPU-seconds per served token of the lifetime plan, from its reported total.
fn per_token(r: &RunResult) -> (f64, f64) {
    let plan = r
        .summary
        .recommendations
        .iter()
        .find(|x| x.objective == "lifetime_cost")
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
