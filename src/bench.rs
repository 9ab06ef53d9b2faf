//! `scalerisk bench`: the evaluate-and-aggregate pipeline with full statistics on a synthetic
//! workload (the a100-3days budget and law, a grid of the requested size), after a warm-up,
//! repeated, median reported per stage. One evaluation = one configuration × one draw.

use std::time::Instant;

use serde::Serialize;

use crate::aggregate::Extras;
use crate::backend::{Backend, Oracle};
use crate::error::Result;
use crate::grid::Grid;
use crate::pipeline::{self, RunResult};
use crate::scenario::{self, Scenario};

/// Hours axis of the synthetic grid (as in a100-3days).
const HOURS: [f64; 4] = [18.0, 36.0, 54.0, 72.0];

/// One measured backend.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub backend: String,
    pub adapter: String,
    pub configs: usize,
    pub draws: usize,
    pub reps: usize,
    /// Median seconds of the whole pipeline (sum of the stages' medians).
    pub seconds: f64,
    pub evals_per_sec: f64,
    pub sampling_s: f64,
    /// Pass 1 (the oracle), on the host in f64 for every backend.
    pub oracle_s: f64,
    /// Pass 2 on this backend (for the GPU: the host's preparation and upload, the dispatches,
    /// the read-back and the merge).
    pub stats_s: f64,
    /// `aggregate::summarize` without the extras a run adds (sensitivity, frontier levels, value
    /// of information): the choice and refinement of each objective's plan.
    pub aggregate_s: f64,
    /// configs.csv written to memory.
    pub output_s: f64,
    /// GPU time of the statistics kernels (timestamp queries), where the adapter supports them.
    pub kernel_s: Option<f64>,
    /// Peak resident memory of the process after the runs (bytes), where the OS says.
    pub peak_rss_bytes: Option<u64>,
}

/// The CSV header of `--csv`.
pub const COLUMNS: [&str; 14] = [
    "backend",
    "adapter",
    "configs",
    "draws",
    "reps",
    "seconds",
    "evals_per_sec",
    "sampling_s",
    "oracle_s",
    "stats_s",
    "aggregate_s",
    "output_s",
    "kernel_s",
    "peak_rss_bytes",
];

/// The synthetic scenario: the a100-3days budget and law with an n_p × n_d × 4 grid of about
/// `configs` configurations.
pub fn workload(configs: usize, draws: usize) -> Result<Scenario> {
    let per_axis = ((configs as f64 / HOURS.len() as f64).sqrt().round() as usize).max(1);
    let text = format!(
        r#"
        name = "bench"
        [budget]
        gpu = "a100-80gb"
        hours = 72
        mfu = {{ uniform = [0.30, 0.50] }}
        goodput = {{ uniform = [0.90, 1.0] }}
        [law]
        preset = "epoch2024"
        uncertainty = "mvn"
        [search]
        params = {{ min = 3e7, max = 3e9, points = {per_axis} }}
        tokens = {{ min = 1e9, max = 1e12, points = {per_axis} }}
        hours = [18, 36, 54, 72]
        [decision]
        min_completion = 0.9
        [sampling]
        draws = {draws}
        seed = 42
        "#
    );
    scenario::from_str(&text, std::path::Path::new("."), &[])
}

fn median(mut v: Vec<f64>) -> f64 {
    crate::stats::quantile(&mut v, 0.5)
}

/// Time `reps` runs (after one warm-up) of `backend` on the workload: sampling, pass 1 (the
/// oracle, on the host in f64 whatever the backend), `backend`'s pass 2, and the output, each
/// timed once per run.
pub fn measure(s: &Scenario, backend: &dyn Backend, reps: usize) -> Result<Row> {
    let settings = pipeline::settings(s);
    let mut stages: [Vec<f64>; 5] = Default::default();
    let mut kernel: Vec<f64> = Vec::new();
    for rep in 0..=reps {
        let t0 = Instant::now();
        let grid = Grid::new(s);
        let sample = pipeline::sample(s)?;
        let sampling_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let oracle = Oracle::new(&settings, &grid, &sample.draws);
        let oracle_s = t1.elapsed().as_secs_f64();
        let t2 = Instant::now();
        let stats = backend.statistics(&settings, &grid, &sample.draws, &oracle, &|_| {})?;
        let stats_s = t2.elapsed().as_secs_f64();
        let evaluation = oracle.into_evaluation(stats);
        let t3 = Instant::now();
        let aggregated = pipeline::aggregate(s, &grid, &sample, &evaluation, Extras::Skip);
        let aggregate_s = t3.elapsed().as_secs_f64();
        let t4 = Instant::now();
        let result = RunResult::new(s.clone(), grid, sample, evaluation, aggregated);
        let bytes = crate::export::configs::serialize(&result)?;
        std::hint::black_box(bytes);
        let output_s = t4.elapsed().as_secs_f64();
        if rep > 0 {
            for (v, x) in
                stages
                    .iter_mut()
                    .zip([sampling_s, oracle_s, stats_s, aggregate_s, output_s])
            {
                v.push(x);
            }
            kernel.extend(backend.kernel_seconds());
        }
    }
    let [sampling_s, oracle_s, stats_s, aggregate_s, output_s] = stages.map(median);
    let seconds = sampling_s + oracle_s + stats_s + aggregate_s + output_s;
    let grid = Grid::new(s);
    Ok(Row {
        backend: backend.name().to_string(),
        adapter: backend.describe(),
        configs: grid.len(),
        draws: s.sampling.draws,
        reps,
        seconds,
        evals_per_sec: grid.len() as f64 * s.sampling.draws as f64 / seconds,
        sampling_s,
        oracle_s,
        stats_s,
        aggregate_s,
        output_s,
        kernel_s: (!kernel.is_empty()).then(|| median(kernel)),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Peak resident set size of this process (re-exported from the pipeline, which records it).
pub use crate::pipeline::peak_rss_bytes;

/// The rows as a CSV.
pub fn csv(rows: &[Row]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = crate::export::csv_error;
    w.write_record(COLUMNS).map_err(err)?;
    for r in rows {
        w.write_record([
            r.backend.clone(),
            r.adapter.clone(),
            r.configs.to_string(),
            r.draws.to_string(),
            r.reps.to_string(),
            crate::export::num(r.seconds),
            crate::export::num(r.evals_per_sec),
            crate::export::num(r.sampling_s),
            crate::export::num(r.oracle_s),
            crate::export::num(r.stats_s),
            crate::export::num(r.aggregate_s),
            crate::export::num(r.output_s),
            r.kernel_s.map_or(String::new(), crate::export::num),
            r.peak_rss_bytes.map_or(String::new(), |b| b.to_string()),
        ])
        .map_err(err)?;
    }
    crate::export::finish_csv(w)
}
