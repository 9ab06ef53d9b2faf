//! One run, start to end: scenario → grid → draws → backend → aggregate. No output is written
//! here (see `export`), so a failed run leaves nothing on disk.

use std::time::Instant;

use serde::Serialize;

use crate::aggregate::{self, Summary};
use crate::backend::{cpu, Evaluation};
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::sampling::{self, Draw};
use crate::scenario::Scenario;

/// Which backend evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// A GPU adapter when one exists and the work pays for it, else the CPU.
    Auto,
    /// The f64 reference on every CPU core.
    Cpu,
    /// WGSL compute shaders through wgpu.
    Gpu,
}

/// Seconds spent per stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub sampling_s: f64,
    pub evaluate_s: f64,
    pub aggregate_s: f64,
}

/// Everything a run produced, ready for the report and the exports.
pub struct RunResult {
    pub scenario: Scenario,
    pub grid: Grid,
    pub draws: Vec<Draw>,
    pub evaluation: Evaluation,
    pub summary: Summary,
    pub backend: String,
    pub adapter: String,
    pub timings: Timings,
}

pub fn run(scenario: Scenario, backend: BackendChoice) -> Result<RunResult> {
    if backend == BackendChoice::Gpu {
        return Err(Error::input(
            "--backend",
            "gpu is not available in this build yet; use --backend cpu (or auto)",
        ));
    }
    let mut timings = Timings::default();
    let t0 = Instant::now();
    let grid = Grid::new(&scenario);
    let draws = sampling::draws(&scenario, 0..scenario.sampling.draws)?;
    timings.sampling_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let settings = cpu::Settings {
        shape: scenario.law.shape,
        flops_per_param_token: scenario.budget.flops_per_param_token,
        target_loss: scenario.decision.target_loss,
    };
    let evaluation = cpu::evaluate(&settings, &grid, &draws);
    timings.evaluate_s = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    let summary = aggregate::summarize(&scenario, &grid, &evaluation);
    timings.aggregate_s = t2.elapsed().as_secs_f64();
    Ok(RunResult {
        scenario,
        grid,
        draws,
        evaluation,
        summary,
        backend: "cpu".into(),
        adapter: format!("{} CPU threads (f64)", rayon::current_num_threads()),
        timings,
    })
}
