//! `run.json`: the resolved scenario, seed, draws, method, backend, adapter, version, timings,
//! counts and the summary, for scripts and for reproducing the run.

use serde_json::json;

use crate::error::{Error, Result};
use crate::pipeline::RunResult;

pub fn document(r: &RunResult) -> serde_json::Value {
    let mut doc = json!({
        "tool": "scalerisk",
        "version": env!("CARGO_PKG_VERSION"),
        "scenario": r.scenario,
        "seed": r.scenario.sampling.seed,
        "draws": r.draws.len(),
        "method": r.scenario.sampling.method,
        "backend": r.backend,
        "adapter": r.adapter,
        "timings": r.timings,
        "notes": r.notes,
        "precision": r.precision,
        "counts": {
            "configurations": r.grid.len(),
            "feasible": r.summary.feasible,
            "candidates": r.summary.candidates,
            "evaluations": r.grid.len() as f64 * r.draws.len() as f64,
        },
        "min_completion_met": r.summary.min_completion_met,
        "recommendations": r.summary.recommendations,
        "baselines": r.summary.baselines,
        "baseline_gains": r.summary.baseline_gains,
        "min_completion_cost": r.summary.constraint_cost,
        "variance_indices": r.summary.variance,
        "information": r.summary.information,
        "unmet_objectives": r.summary.unmet,
        "doubling": r.summary.doubling,
        "frontier_draws": r.draws.len().min(crate::aggregate::frontier::DRAWS_PER_LEVEL),
        "oracle_bands": r.summary.bands,
    });
    // Only runs with observations carry the key, so that other runs' run.json is unchanged.
    if let Some(p) = &r.posterior {
        doc["posterior"] = json!({
            "draws": p.draws.len(),
            "min_ess": p.min_ess(),
            "eves": p.eve_count(),
            "warnings": p.warnings,
            "stages": p.stages,
            "runs": p.runs,
        });
    }
    // Only cosine runs on a hardware budget have a measure-then-set policy.
    if let Some(p) = &r.summary.policy {
        doc["measure_then_set"] = json!(p);
    }
    if let Some(r) = &r.replan {
        doc["replan"] = json!(r);
    }
    doc
}

pub fn serialize(r: &RunResult) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(&document(r))
        .map_err(|e| Error::Runtime(format!("writing run.json: {e}")))?;
    v.push(b'\n');
    Ok(v)
}
