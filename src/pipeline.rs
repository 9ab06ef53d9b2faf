//! One run, start to end: scenario → grid → draws → backend → aggregate. No output is written
//! here (see `export`), so a failed run leaves nothing on disk.

use std::time::Instant;

use serde::Serialize;

use crate::aggregate::{self, Extras, Summary};
use crate::backend::{cpu, gpu, Backend, Evaluation, Oracle, Settings};
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::progress::Progress;
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

impl BackendChoice {
    /// The backend a name selects (`auto`, `cpu`, `gpu`), as `--backend` reads it.
    pub fn from_name(name: &str) -> Option<BackendChoice> {
        <BackendChoice as clap::ValueEnum>::from_str(name, false).ok()
    }
}

/// Seconds spent per stage, and the memory the run took against what was estimated for it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub sampling_s: f64,
    pub evaluate_s: f64,
    pub aggregate_s: f64,
    /// Peak resident memory of the process when the run ended (Linux; None elsewhere).
    pub peak_rss_bytes: Option<u64>,
    /// [`memory_estimate`] of the run's grid and draws.
    pub memory_estimate_bytes: f64,
}

/// Resident memory of the process before a run, CPU backend: the binary, its libraries and
/// the allocator's arenas (measured 7 MB on a 10 × 11 × 4 grid of 16 draws; a GPU adapter adds
/// its driver's).
pub const MEMORY_BASE: f64 = 10e6;
/// Bytes per configuration while the statistics and the outputs exist: its `ConfigStats`
/// (15 f64) and its configs.csv row in memory (measured: 300 B on a 400 × 401 × 4 grid).
pub const MEMORY_PER_CONFIG: f64 = 320.0;
/// Bytes per draw: the draw, its optimum, its draws.csv row and the aggregation's copies
/// (Sobol samples, frontier subsets, sensitivity columns; measured: 1.6 kB at 100,000 draws).
pub const MEMORY_PER_DRAW: f64 = 1600.0;
/// Bytes per (grid size, draw): pass 1 keeps every size's per-draw profile until the argmin
/// over sizes (loss, D_run and the argmin's expected loss in f64, its code in u32), and the
/// frontier's light pass does the same per level.
pub const MEMORY_PER_PARAM_DRAW: f64 = 28.0;
/// Bytes per (token point, draw): the D-term table every size reads.
pub const MEMORY_PER_TOKEN_DRAW: f64 = 8.0;

/// The memory a run of this grid (points per axis, "until the deadline" counted among the
/// tokens) and these draws needs at its peak, bytes: the base, the draws and the D-term table
/// throughout, and the larger of pass 1's profiles (freed before pass 2) and the statistics with
/// the outputs. Tested against the measured peak over random grid shapes (tests/memory.rs).
pub fn memory_estimate(params: f64, tokens: f64, hours: f64, draws: f64) -> f64 {
    let configs = params * tokens * hours;
    MEMORY_BASE
        + draws * MEMORY_PER_DRAW
        + tokens * draws * MEMORY_PER_TOKEN_DRAW
        + (params * draws * MEMORY_PER_PARAM_DRAW).max(configs * MEMORY_PER_CONFIG)
}

/// Peak resident set size of this process (Linux: VmHWM in /proc/self/status).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Memory this process may still take, bytes: the kernel's MemAvailable, and under a cgroup
/// limit (memory.max of cgroup v2) what is left of it; None where neither can be read.
pub fn available_memory() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let available = meminfo.as_deref().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024.0)
    });
    let read = |p: &str| -> Option<f64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    let cgroup = match (
        read("/sys/fs/cgroup/memory.max"),
        read("/sys/fs/cgroup/memory.current"),
    ) {
        (Some(max), Some(current)) => Some(max - current),
        _ => None,
    };
    match (available, cgroup) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    }
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
    /// What the user should know about how the run went (e.g. a GPU fallback).
    pub notes: Vec<String>,
    /// How `--precision` went, when it was asked for.
    pub precision: Option<Precision>,
    /// The conditioning on `[observations]` (None without them): `draws` are its draws.
    pub posterior: Option<crate::posterior::Posterior>,
    /// The options of the live run (`observations.live`), scored on the posterior.
    pub replan: Option<aggregate::replan::Replan>,
}

/// The sample every later stage uses (the backends, the oracle, the aggregation): the
/// scenario's prior draws, or with `[observations]` the posterior's.
pub struct Sample {
    /// Equally weighted draws in random order: with observations, resampled and shuffled
    /// (`posterior::smc`), so no subset of them need be their first ones.
    pub draws: Vec<Draw>,
    /// The conditioning on `[observations]` (None without them).
    pub posterior: Option<crate::posterior::Posterior>,
}

/// Stage 1, sampling: draws 0..`sampling.draws` of the scenario, conditioned on its
/// observations when it has them. The one entry point of the sample a run uses.
pub fn sample(scenario: &Scenario) -> Result<Sample> {
    let draws = sampling::draws(scenario, 0..scenario.sampling.draws)?;
    Ok(match &scenario.observations {
        Some(_) => {
            let post = crate::posterior::condition(scenario, draws)?;
            Sample {
                draws: post.draws.clone(),
                posterior: Some(post),
            }
        }
        None => Sample {
            draws,
            posterior: None,
        },
    })
}

/// Stage 3, aggregation: the summary of an evaluation and, with a live run among the
/// observations, its options scored on the posterior.
pub fn aggregate(
    scenario: &Scenario,
    grid: &Grid,
    sample: &Sample,
    evaluation: &Evaluation,
    extras: Extras,
) -> (Summary, Option<aggregate::replan::Replan>) {
    let summary = aggregate::summarize(
        scenario,
        grid,
        &sample.draws,
        evaluation,
        &settings(scenario),
        extras,
    );
    let replan = sample
        .posterior
        .as_ref()
        .and_then(|p| aggregate::replan::replan(scenario, p));
    (summary, replan)
}

impl RunResult {
    /// A run's result from its stages' outputs; backend and adapter unnamed, no timings or notes
    /// yet.
    pub fn new(
        scenario: Scenario,
        grid: Grid,
        sample: Sample,
        evaluation: Evaluation,
        (summary, replan): (Summary, Option<aggregate::replan::Replan>),
    ) -> RunResult {
        RunResult {
            scenario,
            grid,
            draws: sample.draws,
            evaluation,
            summary,
            backend: String::new(),
            adapter: String::new(),
            timings: Timings::default(),
            notes: Vec::new(),
            precision: None,
            posterior: sample.posterior,
            replan,
        }
    }
}

/// The outcome of `--precision TOL`.
#[derive(Debug, Clone, Serialize)]
pub struct Precision {
    pub tol: f64,
    /// Draws per batch (the scenario's `sampling.draws`).
    pub batch: usize,
    pub draws_used: usize,
    /// Standard error of the recommended plan's mean loss at the end.
    pub se: f64,
    /// Whether the target was met (else the draw limit stopped it).
    pub met: bool,
}

/// `--precision` stops short of its target at this many times `sampling.draws` (the last of the
/// doublings b, 2b, 4b, …, 64b).
pub const MAX_PRECISION_BATCHES: usize = 64;

/// The draw counts `--precision` runs at: b, 2b, 4b, … doubling, ending at `limit` (reached
/// from the last doubling whose double is still within half of it). Each run's cost is about its
/// draw count, and the runs before the last add up to less than it, so the whole sequence costs
/// less than twice its last run.
pub fn precision_schedule(batch: usize, limit: usize) -> Vec<usize> {
    let mut out = vec![batch.min(limit).max(1)];
    while let Some(&n) = out.last() {
        if n >= limit {
            break;
        }
        // Straight to the limit when a doubling would leave less than another doubling below it
        // (1000, 2000, 4000, 12345 rather than …, 8000, 12345): the runs before the last always
        // add up to less than the last.
        out.push(if n.saturating_mul(4) > limit {
            limit
        } else {
            2 * n
        });
    }
    out
}

/// `--precision TOL`: rerun at S = b, 2b, 4b, … draws (b = `sampling.draws`; each run takes its
/// whole sample from [`sample`]: prior draws are index-addressable, so each run extends the
/// previous one's and earlier draws never change, and with observations each run conditions its
/// own S prior draws afresh, so no run uses a prefix of another's posterior) until the standard error of the first objective's plan is ≤ TOL and that plan is
/// the same in the last three runs (unchanged over two doublings), or the draw limit is reached.
/// Doubling keeps the total cost under twice the last run's (S = b, 2b, 3b, … was quadratic).
pub fn run_to_precision(
    scenario: Scenario,
    backend: BackendChoice,
    show_progress: bool,
    tol: f64,
) -> Result<RunResult> {
    let batch = scenario.sampling.draws;
    let configs = Grid::new(&scenario).len();
    let by_work = (crate::scenario::MAX_EVALUATIONS / configs as f64) as usize;
    let limit = (batch * MAX_PRECISION_BATCHES).min(by_work).min(
        if scenario.sampling.method == crate::scenario::Method::Sobol {
            sampling::sobol::MAX_POINTS
        } else {
            crate::scenario::MAX_DRAWS
        },
    );
    let schedule = precision_schedule(batch, limit);
    let mut history: Vec<Option<usize>> = Vec::new();
    for (k, &n) in schedule.iter().enumerate() {
        let mut s = scenario.clone();
        s.sampling.draws = n;
        let mut r = run_with(s, backend, show_progress, Extras::Skip, &Hooks::NONE)?;
        let first = r.summary.recommendations.first();
        history.push(first.map(|x| x.index));
        let se = first.map_or(f64::INFINITY, |x| x.stats.loss_se);
        let stable = history.len() >= 3
            && history[history.len() - 3..]
                .iter()
                .all(|h| *h == history[history.len() - 1]);
        let met = se <= tol && stable;
        if met || k + 1 == schedule.len() {
            let t = Instant::now();
            r.summary = aggregate::summarize(
                &r.scenario,
                &r.grid,
                &r.draws,
                &r.evaluation,
                &settings(&r.scenario),
                Extras::All,
            );
            r.timings.aggregate_s += t.elapsed().as_secs_f64();
            let runs = k + 1;
            r.notes.push(if met {
                format!("--precision {tol}: met after {n} draws in {runs} runs of doubling size (standard error {se:.2e}, plan unchanged over the last two doublings)")
            } else {
                format!("--precision {tol}: NOT met; stopped at the limit of {n} draws after {runs} runs (standard error {se:.2e}{})", if stable { "" } else { ", plan still changing" })
            });
            r.precision = Some(Precision {
                tol,
                batch,
                draws_used: n,
                se,
                met,
            });
            return Ok(r);
        }
    }
    unreachable!("the schedule is never empty and its last run returns")
}

/// `auto` uses a hardware GPU only from this many evaluations (configurations × draws) on:
/// below it, adapter start-up and transfers cost more than the CPU backend's whole run (the CPU
/// does ~1e9 table evaluations per second per core here). Provisional until measured on a real
/// GPU (BENCHMARKS.md); software adapters (lavapipe) are never picked by `auto`.
pub const AUTO_MIN_EVALUATIONS: f64 = 2e8;

/// `SCALERISK_AUTO=any` makes `auto` use any adapter (software ones too) at any size: for
/// testing the CPU rerun after a GPU failure on machines that only have lavapipe.
pub const AUTO_ENV: &str = "SCALERISK_AUTO";

fn auto_takes_any_adapter() -> bool {
    std::env::var(AUTO_ENV).is_ok_and(|v| v == "any")
}

/// Run `scenario` on `backend`; `show_progress` allows a progress bar on stderr.
pub fn run(scenario: Scenario, backend: BackendChoice, show_progress: bool) -> Result<RunResult> {
    run_with(scenario, backend, show_progress, Extras::All, &Hooks::NONE)
}

/// What a program embedding the library (the Python package) hears of a run in progress, and
/// how it stops one from another thread (a KeyboardInterrupt in a notebook).
pub struct Hooks<'a> {
    /// (configurations evaluated, configurations in all), as each block of them is done; called
    /// from the backend's worker threads.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
    /// Once set, the run stops with [`Error::Cancelled`] and nothing it computed is returned: in
    /// the statistics pass (most of a run) at the next block of configurations a worker
    /// finishes, elsewhere at the next stage boundary (after sampling and conditioning, the
    /// oracle pass, aggregation).
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
}

impl Hooks<'_> {
    /// No progress, no cancellation (the command line's runs).
    pub const NONE: Hooks<'static> = Hooks {
        progress: None,
        cancel: None,
    };

    fn check(&self) -> Result<()> {
        match self.cancel {
            Some(c) if c.load(std::sync::atomic::Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }
}

/// [`run`] with `hooks` and no progress bar: the same stages, draws and numbers.
pub fn run_hooked(scenario: Scenario, backend: BackendChoice, hooks: &Hooks) -> Result<RunResult> {
    run_with(scenario, backend, false, Extras::All, hooks)
}

/// What a backend needs from the scenario besides grid and draws.
pub fn settings(s: &Scenario) -> Settings {
    Settings {
        shape: s.law.shape,
        flops_per_param_token: s.budget.flops_per_param_token,
        attention: s.budget.attention,
        target_loss: s.decision.target_loss,
        min_completion: s.decision.min_completion,
        near_best_within: s.decision.near_best_within,
    }
}

/// The backend `choice` names for a run of `evaluations` (configurations × draws): `auto` takes
/// a hardware GPU from [`AUTO_MIN_EVALUATIONS`] on (any adapter under `SCALERISK_AUTO=any`) and
/// the CPU otherwise, with a note in `notes` when the GPU could not start. The GPU's options
/// (injected faults) come from the environment, read here once.
fn choose(
    choice: BackendChoice,
    evaluations: f64,
    show_progress: bool,
    notes: &mut Vec<String>,
) -> Result<Box<dyn Backend>> {
    let gpu = match choice {
        BackendChoice::Cpu => None,
        BackendChoice::Gpu => {
            Some(gpu::Gpu::from_env()?.ok_or_else(|| {
                Error::input("--backend", format!("gpu: {}", gpu::NO_ADAPTER_FIX))
            })?)
        }
        BackendChoice::Auto if evaluations < AUTO_MIN_EVALUATIONS && !auto_takes_any_adapter() => {
            None
        }
        // The adapter first: a device is opened (and the shader compiled) only on one `auto`
        // will use.
        BackendChoice::Auto => match gpu::Gpu::adapter() {
            Some(a)
                if !gpu::AdapterSummary::of(&a.get_info()).is_software()
                    || auto_takes_any_adapter() =>
            {
                match gpu::Options::from_env().and_then(|o| gpu::Gpu::open(a, o)) {
                    Ok(g) => Some(g),
                    Err(e) => {
                        notes.push(format!("GPU unavailable ({e}); ran on the CPU"));
                        None
                    }
                }
            }
            _ => None,
        },
    };
    Ok(match gpu {
        Some(g) => {
            if show_progress {
                if let Some(w) = g
                    .adapter
                    .software_warning(evaluations, rayon::current_num_threads())
                {
                    crate::error::say(w);
                }
            }
            Box::new(g)
        }
        None => Box::new(cpu::Cpu),
    })
}

/// The unwinding payload of a run cancelled inside the statistics pass ([`Hooks::cancel`]).
struct Cancel;

fn run_with(
    scenario: Scenario,
    backend: BackendChoice,
    show_progress: bool,
    extras: Extras,
    hooks: &Hooks,
) -> Result<RunResult> {
    hooks.check()?;
    let mut timings = Timings::default();
    let mut notes = Vec::new();
    let t0 = Instant::now();
    let grid = Grid::new(&scenario);
    // With observations the prior draws become posterior draws here, before any backend sees
    // them: the same number, equally weighted, in random order.
    let sample = sample(&scenario)?;
    let draws = &sample.draws;
    timings.sampling_s = t0.elapsed().as_secs_f64();
    hooks.check()?;

    let t1 = Instant::now();
    let settings = settings(&scenario);
    let evaluations = grid.len() as f64 * draws.len() as f64;
    let chosen = choose(backend, evaluations, show_progress, &mut notes)?;
    let bar = Progress::new(grid.len(), "evaluating", show_progress);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let on = |n: usize| {
        bar.inc(n);
        if let Some(p) = hooks.progress.filter(|_| n > 0) {
            let now = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
            p(now, grid.len());
        }
        // The backends report progress from inside their parallel loops, which have no way
        // out; a cancelled run leaves them by unwinding with a payload of its own, caught just
        // below (resume_unwind runs no panic hook: nothing is printed).
        if hooks.check().is_err() {
            std::panic::resume_unwind(Box::new(Cancel));
        }
    };
    // Pass 1 once, whatever runs pass 2 (and reruns it).
    let oracle = Oracle::new(&settings, &grid, draws);
    hooks.check()?;
    let statistics = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        chosen.statistics(&settings, &grid, draws, &oracle, &on)
    }));
    let statistics = match statistics {
        Ok(r) => r,
        Err(payload) if payload.is::<Cancel>() => return Err(Error::Cancelled),
        Err(payload) => std::panic::resume_unwind(payload),
    };
    let (stats, ran) = match statistics {
        Ok(stats) => (stats, &*chosen),
        // Only the GPU fails at run time; the CPU reruns pass 2 with the same oracle.
        Err(e) if backend == BackendChoice::Auto && !e.is_input() => {
            notes.push(format!("GPU run failed ({e}); reran on the CPU"));
            let bar = Progress::new(grid.len(), "evaluating on the CPU", show_progress);
            let on = |n: usize| bar.inc(n);
            let stats = cpu::Cpu.statistics(&settings, &grid, draws, &oracle, &on)?;
            bar.finish();
            (stats, &cpu::Cpu as &dyn Backend)
        }
        Err(e) => return Err(e),
    };
    let (backend_name, adapter) = (ran.name(), ran.describe());
    let evaluation = oracle.into_evaluation(stats);
    bar.finish();
    timings.evaluate_s = t1.elapsed().as_secs_f64();
    hooks.check()?;

    let t2 = Instant::now();
    let aggregated = aggregate(&scenario, &grid, &sample, &evaluation, extras);
    timings.aggregate_s = t2.elapsed().as_secs_f64();
    hooks.check()?;
    let mut r = RunResult::new(scenario, grid, sample, evaluation, aggregated);
    r.backend = backend_name.into();
    r.adapter = adapter;
    timings.memory_estimate_bytes = memory_estimate(
        r.grid.params.len() as f64,
        r.grid.tokens.len() as f64,
        r.grid.hours.len() as f64,
        r.draws.len() as f64,
    );
    timings.peak_rss_bytes = peak_rss_bytes();
    r.timings = timings;
    r.notes = notes;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// S = b, 2b, 3b, … made `--precision` quadratic (341 s for 1e-5). Doubling
    /// costs less than twice the last run, whatever the limit.
    #[test]
    fn precision_doubles_and_costs_under_twice_its_last_run() {
        assert_eq!(
            precision_schedule(128, 8192),
            [128, 256, 512, 1024, 2048, 4096, 8192]
        );
        assert_eq!(precision_schedule(100, 1000), [100, 200, 400, 1000]);
        assert_eq!(precision_schedule(100, 100), [100]);
        assert_eq!(precision_schedule(100, 50), [50]);
        assert_eq!(precision_schedule(1000, 12345), [1000, 2000, 4000, 12345]);
        for (b, limit) in [
            (1, 1 << 20),
            (8192, 8192 * 64),
            (1000, 12345),
            (3, 7),
            (5, 9),
        ] {
            let s = precision_schedule(b, limit);
            let total: usize = s.iter().sum();
            let last = *s.last().unwrap();
            assert_eq!(last, limit);
            assert!(total < 2 * last, "{b} {limit}: {s:?}");
            assert!(s.windows(2).all(|w| w[1] > w[0]), "{s:?}");
            // Doublings but for the last step.
            assert!(
                s[..s.len() - 1].windows(2).all(|w| w[1] == 2 * w[0]),
                "{s:?}"
            );
        }
    }
}
