//! The command line: flags become a validated scenario and settings before any work starts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::error::Error;
use crate::pipeline::{self, BackendChoice};
use crate::presets::{gpus, laws};
use crate::{export, report, scenario};

#[derive(Parser)]
#[command(
    name = "scalerisk",
    version,
    about = "How big a model, on how many tokens, for how long — and how sure can we be?"
)]
#[command(
    long_about = "scalerisk evaluates every candidate (params, tokens, hours) of a scenario against thousands of draws of \
the uncertain inputs (scaling-law coefficients, MFU, goodput, unique data) and recommends robust allocations.\n\n\
Example:\n  scalerisk run scenarios/a100-3days.toml\n  scalerisk run scenarios/a100-3days.toml --set budget.hours=48 --draws 2048"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write configs.csv, draws.csv, frontier.csv, information.csv,
    /// recommendations.csv, sensitivity.csv and run.json.
    ///
    /// Example: scalerisk run scenarios/a100-3days.toml --out /tmp/a100 --set budget.hours=48
    Run(RunArgs),
    /// Validate a scenario and print it as resolved (presets expanded), without running it.
    ///
    /// The resolved scenario is printed as JSON, the form run.json records under "scenario"
    /// (every default filled in, distributions as objects); it is not scenario TOML syntax, so
    /// edit the TOML file and check again rather than pasting it back.
    ///
    /// Example: scalerisk check scenarios/a100-3days.toml --set law.preset=chinchilla
    Check {
        /// The scenario TOML file.
        scenario: PathBuf,
        /// Override a scenario key, e.g. --set budget.hours=48 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Draw the charts of a run folder: loss_vs_params, frontier, tornado, allocation_density.
    ///
    /// Reads the folder's CSVs and run.json and writes the charts beside them.
    /// Example: scalerisk plot output/one-a100-three-days --format png
    Plot {
        /// A folder written by `scalerisk run`.
        output_dir: PathBuf,
        /// Chart format.
        #[arg(long, value_enum, default_value = "svg")]
        format: crate::plot::Format,
    },
    /// Fit E + A/P^α + B/D^β to your own training runs and write bootstrap draws for a scenario.
    ///
    /// RUNS.csv needs columns params, tokens (or flops, then tokens = flops/(6·params)) and loss;
    /// extra columns are ignored. The objective is Hoffmann et al. 2022 App. D.2 (Huber on log L,
    /// L-BFGS from 4500 starting points); each bootstrap refit starts from the point estimate.
    /// Use the draws with law.uncertainty = "draws" and law.draws_file = "DRAWS.csv" (a path
    /// relative to the scenario file, or absolute; the line printed at the end gives it absolute).
    ///
    /// Example: scalerisk fit data/chinchilla_fig4_points.csv --drop-highest 5 --out fitted.csv
    Fit(FitArgs),
    /// Time the evaluate-and-aggregate pipeline (full statistics) on a synthetic workload.
    ///
    /// The workload is the a100-3days budget and law with a grid of about --configs
    /// configurations (n × n × 4 hours) and --draws draws; one warm-up, then --reps runs, median
    /// per stage. Example: scalerisk bench --backend all --configs 16384 --draws 4096 --csv bench.csv
    Bench(BenchArgs),
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell) to stdout.
    ///
    /// Example (bash): scalerisk completions bash > ~/.local/share/bash-completion/completions/scalerisk
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// List the scaling-law presets with their coefficients, uncertainty and sources.
    ///
    /// Example: scalerisk laws
    Laws,
    /// List the GPU presets (dense peak TFLOP/s and memory) with their sources.
    ///
    /// Example: scalerisk gpus
    Gpus,
    /// List the GPU adapters wgpu can see and which one `--backend auto` would pick.
    ///
    /// Example: scalerisk devices
    Devices,
}

#[derive(Args)]
struct RunArgs {
    /// The scenario TOML file.
    scenario: PathBuf,
    /// Output folder [default: output/<scenario name>]; replaced as a whole when the run
    /// completes, if it is empty or a previous run's folder (else refused: see --force).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace the output folder even if it holds files no scalerisk run wrote (never one that
    /// holds an input of the run, the current folder, a device node, FIFO or socket).
    #[arg(long)]
    force: bool,
    /// Number of draws (overrides sampling.draws).
    #[arg(long, value_name = "N")]
    draws: Option<u64>,
    /// Random seed (overrides sampling.seed).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Which backend evaluates.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Override a scenario key, e.g. --set budget.hours=48 or --set 'budget.mfu={uniform=[0.3,0.4]}' (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Rerun at S = b, 2b, 4b, … draws (b = sampling.draws; earlier draws never change) until the
    /// standard error of the recommended plan's mean loss is at most TOL and the plan is the same
    /// over the last two doublings (at most 64·b draws); the whole costs under twice the last run
    #[arg(long, value_name = "TOL")]
    precision: Option<f64>,
    /// Print nothing but errors: no progress bar, no report, no notes (the files are written as
    /// usual; `--json` alone also hides the progress bar).
    #[arg(long)]
    quiet: bool,
    /// Print the summary as one JSON document on stdout instead of the report.
    #[arg(long)]
    json: bool,
    /// Also draw the charts into the output folder (as `scalerisk plot`): `--plot` for SVG,
    /// `--plot=png` for PNG (the format needs the `=`, so `--plot SCENARIO` keeps the scenario).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "svg"
    )]
    plot: Option<crate::plot::Format>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BenchBackend {
    Cpu,
    Gpu,
    All,
}

#[derive(Args)]
struct BenchArgs {
    /// Which backends to time (gpu and all need an adapter).
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BenchBackend,
    /// Configurations (rounded to n × n × 4).
    #[arg(long, value_name = "N", default_value_t = 16384)]
    configs: usize,
    /// Draws.
    #[arg(long, value_name = "M", default_value_t = 4096)]
    draws: usize,
    /// Timed repetitions after the warm-up.
    #[arg(long, value_name = "R", default_value_t = 5)]
    reps: usize,
    /// Also write the rows to this CSV file.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
}

#[derive(Args)]
struct FitArgs {
    /// The runs: a CSV with params, tokens (or flops) and loss columns.
    runs: PathBuf,
    /// Bootstrap refits (resampling runs with replacement); 0 prints the point estimate only.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    bootstrap: usize,
    /// Seed of the resampling.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Where the draws (columns E,A,B,alpha,beta) go.
    #[arg(long, value_name = "DRAWS.csv", default_value = "fit_draws.csv")]
    out: PathBuf,
    /// Huber δ of the objective (Hoffmann et al. use 1e-3).
    #[arg(long, value_name = "DELTA", default_value_t = crate::fit::DEFAULT_DELTA)]
    delta: f64,
    /// Drop this many highest-loss runs first (Epoch AI drop 5 of Chinchilla's 245).
    #[arg(long, value_name = "K", default_value_t = 0)]
    drop_highest: usize,
    /// Training compute at which to report the compute-optimal tokens per parameter.
    #[arg(long, value_name = "FLOPS", default_value = "5.76e23")]
    at_flops: f64,
}

/// Parse the command line and run it.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help, the version and usage errors: clap's text, on stdout or stderr as clap chooses.
        // When it cannot be printed (a full or closed stream) the exit code says so: 1 where
        // help would have been 0, 2 for a usage error either way.
        Err(e) => {
            let code = e.exit_code();
            return Ok(match e.print() {
                Ok(()) => ExitCode::from(code.clamp(0, 255) as u8),
                Err(_) if code == 0 => ExitCode::from(1),
                Err(_) => ExitCode::from(2),
            });
        }
    };
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Run(args) => run_scenario(args, &mut out)?,
        Command::Check { scenario, set } => {
            let s = scenario::from_path(&scenario, &set)?;
            // stdout is the JSON alone, so `check FILE > resolved.json` is JSON; the verdict
            // goes to stderr.
            writeln!(out, "{}", serde_json::to_string_pretty(&s)?)?;
            eprintln!(
                "ok: {} is valid (on stdout: the resolved scenario as JSON, as run.json records it)",
                scenario.display()
            );
        }
        Command::Fit(args) => fit_runs(args, &mut out)?,
        Command::Plot { output_dir, format } => {
            let done = crate::plot::plot_dir(&output_dir, format)?;
            for name in done.written {
                writeln!(out, "wrote {}", output_dir.join(name).display())?;
            }
            for (name, why) in done.skipped {
                crate::error::say(format!("note: {name} not drawn: {why}"));
            }
        }
        Command::Bench(args) => bench(args, &mut out)?,
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "scalerisk", &mut script);
            out.write_all(&script)?;
        }
        Command::Laws => print_laws(&mut out)?,
        Command::Gpus => print_gpus(&mut out)?,
        Command::Devices => print_devices(&mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Most memory a run may be estimated to need, whatever the machine has.
pub const MAX_MEMORY: f64 = 8e9;
/// Output bytes per configuration (configs.csv) and per draw (draws.csv), with a margin.
pub const DISK_PER_CONFIG: f64 = 320.0;
pub const DISK_PER_DRAW: f64 = 320.0;

/// Refuse, before any work, a run whose estimated memory (`pipeline::memory_estimate`) is over
/// [`MAX_MEMORY`] or over what the machine has available now (MemAvailable, a cgroup limit).
pub fn check_memory(
    (params, tokens, hours): (usize, usize, usize),
    draws: f64,
    field: &str,
) -> Result<(), Error> {
    let (params, tokens, hours) = (params as f64, tokens as f64, hours as f64);
    let bytes = pipeline::memory_estimate(params, tokens, hours, draws);
    let (limit, what) = match pipeline::available_memory() {
        Some(a) if a < MAX_MEMORY => (a, "the memory this machine has available now"),
        _ => (MAX_MEMORY, "the limit"),
    };
    if bytes > limit {
        return Err(Error::input(
            field,
            format!(
                "{:.0} configurations ({params:.0} sizes × {tokens:.0} token counts × {hours:.0} hours) and {draws:.0} draws need about {:.1} GB of memory (docs/RELIABILITY.md), over {what} ({:.1} GB); lower sampling.draws or the grid's points",
                params * tokens * hours,
                bytes / 1e9,
                limit / 1e9
            ),
        ));
    }
    Ok(())
}

fn run_scenario(args: RunArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut sets = args.set.clone();
    if let Some(n) = args.draws {
        sets.push(format!("sampling.draws={n}"));
    }
    if let Some(seed) = args.seed {
        sets.push(format!("sampling.seed={seed}"));
    }
    let s = scenario::from_path(&args.scenario, &sets)?;
    if let Some(tol) = args.precision {
        if !(tol.is_finite() && tol > 0.0) {
            Err(Error::input(
                "--precision",
                format!("{tol} is not allowed; a standard error in loss units > 0, e.g. 1e-4"),
            ))?;
        }
    }
    // A what-if (--set, --draws, --seed) goes beside the base run, not over it: its default
    // folder carries a short fixed hash of the overrides (docs/OUTPUTS.md).
    let dir = args.out.clone().unwrap_or_else(|| {
        let mut overrides = sets.clone();
        overrides.sort();
        let folder = if overrides.is_empty() {
            s.name.clone()
        } else {
            let h = crate::sampling::stream::fnv1a(&overrides.join("\n"));
            format!("{}-whatif-{:08x}", s.name, h >> 32)
        };
        Path::new("output").join(folder)
    });
    // Every check that can fail is made before the work: memory, the folder, space, the lock.
    let axes = s.search.shape();
    let configs = (axes.0 * axes.1 * axes.2) as f64;
    let draws = match args.precision {
        None => s.sampling.draws as f64,
        // --precision may grow the draws up to its limits (pipeline::run_to_precision).
        Some(_) => (s.sampling.draws as f64 * pipeline::MAX_PRECISION_BATCHES as f64)
            .min(scenario::MAX_DRAWS as f64)
            .min(scenario::MAX_EVALUATIONS / configs)
            .max(s.sampling.draws as f64),
    };
    check_memory(axes, draws, "sampling.draws")?;
    // Every file the scenario read (itself, draws and column files, observations) is protected
    // by the writer; the current folder is added here.
    let protected = vec![std::env::current_dir()?];
    let charts = if args.plot.is_some() { 8e6 } else { 0.0 };
    let _lock = export::prepare_run_dir(
        &dir,
        &export::Target {
            flag: "--out",
            force: args.force,
            protected,
            bytes: configs * DISK_PER_CONFIG + draws * DISK_PER_DRAW + 1e6 + charts,
        },
    )?;
    let show = !args.quiet && !args.json;
    let result = match args.precision {
        None => pipeline::run(s, args.backend, show)?,
        Some(tol) => pipeline::run_to_precision(s, args.backend, show, tol)?,
    };
    let files: Vec<(String, Vec<u8>)> = export::files(&result)?
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect();
    // The CSVs first: a chart that cannot be drawn never costs the run.
    export::write_atomic(&dir, &files)?;
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let mut notes = Vec::new();
    if let Some(format) = args.plot {
        // The charts read the run's own CSVs, as `scalerisk plot` reads them from disk.
        let texts = files
            .iter()
            .map(|(n, b)| Ok((n.as_str(), std::str::from_utf8(b)?)))
            .collect::<Result<std::collections::HashMap<_, _>, std::str::Utf8Error>>()?;
        let tables = crate::plot::RunTables::from_files(&texts)?;
        for (name, bytes) in crate::plot::render_each(&tables, format)? {
            match bytes {
                Ok(bytes) => {
                    export::write_file_atomic(&dir.join(&name), &bytes)?;
                    names.push(name);
                }
                Err(e) => notes.push(format!("note: {name} not drawn: {e}")),
            }
        }
    }
    // The report as Markdown, with the charts it can link, for a planning document.
    let text = report::render(&result);
    let charts: Vec<String> = names
        .iter()
        .filter(|n| n.ends_with(".svg") || n.ends_with(".png"))
        .cloned()
        .collect();
    let command = std::iter::once("scalerisk".to_string())
        .chain(std::env::args().skip(1))
        .map(|a| {
            let plain = a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./=:,+-".contains(c));
            if plain {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    export::write_file_atomic(
        &dir.join("report.md"),
        report::markdown(&result, &text, &charts, &command).as_bytes(),
    )?;
    names.push("report.md".to_string());
    if args.json {
        let mut doc = export::run_json::document(&result);
        doc["output_dir"] = serde_json::Value::String(dir.display().to_string());
        if !notes.is_empty() {
            doc["chart_notes"] = serde_json::json!(notes);
        }
        writeln!(out, "{}", serde_json::to_string(&doc)?)?;
    } else if !args.quiet {
        write!(out, "{text}")?;
        writeln!(out, "wrote {}/{{{}}}", dir.display(), names.join(", "))?;
    }
    if !args.quiet {
        for n in &notes {
            crate::error::say(n);
        }
    }
    Ok(())
}

/// Most timed repetitions `bench` takes (a median of more says nothing new).
pub const MAX_REPS: usize = 1000;

fn bench(args: BenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    use crate::bench;
    if args.configs < 4 || args.configs > 100_000_000 {
        Err(Error::input(
            "--configs",
            format!("{} is not allowed; 4 to 100,000,000", args.configs),
        ))?;
    }
    if args.draws < 2 || args.draws > scenario::MAX_DRAWS {
        Err(Error::input(
            "--draws",
            format!(
                "{} is not allowed; 2 to {}",
                args.draws,
                scenario::MAX_DRAWS
            ),
        ))?;
    }
    // One warm-up and `reps` timed runs of configs × draws evaluations each: the same limit on
    // evaluations as a run's.
    let per_run = (args.configs as f64) * (args.draws as f64);
    let max_reps = ((scenario::MAX_EVALUATIONS / per_run).floor() as usize - 1).clamp(1, MAX_REPS);
    if args.reps == 0 || args.reps > max_reps {
        Err(Error::input(
            "--reps",
            format!(
                "{} is not allowed; 1 to {max_reps} (at most {MAX_REPS}, and (reps + 1) × configs × draws at most {:.0e} evaluations)",
                args.reps,
                scenario::MAX_EVALUATIONS
            ),
        ))?;
    }
    let s = bench::workload(args.configs, args.draws)?;
    check_memory(s.search.shape(), args.draws as f64, "--configs")?;
    if let Some(path) = &args.csv {
        let header = bench::COLUMNS.join(",");
        export::check_file_target(
            path,
            "--csv",
            1e5,
            export::Made::Csv {
                header: &header,
                by: "scalerisk bench",
            },
        )?;
    }
    let gpu = match args.backend {
        BenchBackend::Cpu => None,
        _ => Some(crate::backend::gpu::Gpu::from_env()?.ok_or_else(|| {
            Error::input(
                "--backend",
                format!("gpu: {}", crate::backend::gpu::NO_ADAPTER_FIX),
            )
        })?),
    };
    let mut rows = Vec::new();
    if args.backend != BenchBackend::Gpu {
        rows.push(bench::measure(&s, &crate::backend::cpu::Cpu, args.reps)?);
    }
    if let Some(g) = &gpu {
        rows.push(bench::measure(&s, g, args.reps)?);
    }
    writeln!(
        out,
        "{:<4} {:>9} {:>6} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}  adapter",
        "",
        "configs",
        "draws",
        "seconds",
        "evals/s",
        "sampling",
        "oracle",
        "stats",
        "aggregate",
        "output"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<4} {:>9} {:>6} {:>9.4} {:>10.3e} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4}  {}",
            r.backend,
            r.configs,
            r.draws,
            r.seconds,
            r.evals_per_sec,
            r.sampling_s,
            r.oracle_s,
            r.stats_s,
            r.aggregate_s,
            r.output_s,
            r.adapter
        )?;
    }
    for r in rows.iter().filter_map(|r| r.kernel_s.map(|k| (r, k))) {
        writeln!(
            out,
            "{}: statistics kernels {:.4} s on the GPU (timestamp queries): {:.3e} evaluations/s in the kernels",
            r.0.backend,
            r.1,
            r.0.configs as f64 * r.0.draws as f64 / r.1
        )?;
    }
    writeln!(
        out,
        "{} after a warm-up; one evaluation = one configuration × one draw",
        reps_phrase(args.reps)
    )?;
    if let Some(path) = &args.csv {
        export::write_file_atomic(path, &bench::csv(&rows)?)?;
    }
    Ok(())
}

fn fit_runs(args: FitArgs, out: &mut impl Write) -> anyhow::Result<()> {
    use crate::fit::{self, report, runs};
    // δ is a residual of log L: below MIN_DELTA the Huber loss is |r|·δ, whose gradient is
    // under the optimizer's tolerance, so every start "converges" where it began.
    if !(fit::MIN_DELTA..=fit::MAX_DELTA).contains(&args.delta) {
        Err(Error::input(
            "--delta",
            format!(
                "{} is not allowed; {:e} to {} (a residual of log loss; Hoffmann et al. use 1e-3)",
                crate::error::short(args.delta),
                fit::MIN_DELTA,
                fit::MAX_DELTA
            ),
        ))?;
    }
    if !(args.at_flops.is_finite() && args.at_flops > 0.0) {
        Err(Error::input(
            "--at-flops",
            format!("{} is not allowed; a finite number > 0", args.at_flops),
        ))?;
    }
    if args.bootstrap == 1 || args.bootstrap > fit::MAX_BOOTSTRAP {
        Err(Error::input(
            "--bootstrap",
            format!(
                "{} is not allowed; 0 (point estimate only) or 2 to {} refits",
                args.bootstrap,
                fit::MAX_BOOTSTRAP
            ),
        ))?;
    }
    let all = runs::load(&args.runs)?;
    let n_all = all.len();
    if args.drop_highest + fit::N_COEFFS + 1 > n_all {
        Err(Error::input(
            "--drop-highest",
            format!(
                "{} leaves fewer than {} of the {n_all} runs",
                args.drop_highest,
                fit::N_COEFFS + 1
            ),
        ))?;
    }
    let kept = runs::drop_highest(all, args.drop_highest);
    let field = args.runs.display().to_string();
    runs::check_identifiable(&kept, &field)?;
    let work = kept.len() as f64 * (fit::start_grid().len() + args.bootstrap) as f64;
    if work > fit::MAX_WORK {
        Err(Error::input(
            "--bootstrap",
            format!(
                "{} runs × ({} starting points + {} refits) = {work:.2e} is over the limit of {:.0e} (about five minutes on 2 cores); use fewer refits or runs",
                kept.len(),
                fit::start_grid().len(),
                args.bootstrap,
                fit::MAX_WORK
            ),
        ))?;
    }
    if args.bootstrap > 0 {
        let empty = report::draws_csv(&[])?;
        let header = std::str::from_utf8(&empty)?.trim_end();
        export::check_file_target(
            &args.out,
            "--out",
            100.0 * args.bootstrap as f64 + 1e4,
            export::Made::Csv {
                header,
                by: "scalerisk fit",
            },
        )?;
        // The draws' range file beside them: the same rule, checked before any work.
        let range_header = crate::fit::report::range_header()?;
        export::check_file_target(
            &crate::fit::report::range_path(&args.out),
            "--out",
            1e4,
            export::Made::Csv {
                header: &range_header,
                by: "scalerisk fit",
            },
        )?;
    }
    let point = fit::fit(&kept, args.delta).ok_or_else(|| {
        Error::Runtime("the fit diverged from every starting point; check the runs".into())
    })?;
    if let Some(why) = point.out_of_domain() {
        Err(Error::input(
            &field,
            format!(
                "the best fit has {why}: these runs do not identify E + A/P^α + B/D^β; check the runs (or drop outliers with --drop-highest)"
            ),
        ))?;
    }
    let (boot, outside): (Vec<_>, Vec<_>) =
        fit::bootstrap(&kept, args.delta, &point, args.bootstrap, args.seed)
            .into_iter()
            .partition(|f| f.out_of_domain().is_none());
    writeln!(
        out,
        "fit of {} runs from {}{}: Huber (δ = {}) on log L, L-BFGS from {} starts",
        kept.len(),
        args.runs.display(),
        if args.drop_highest > 0 {
            format!(" ({} highest-loss dropped)", args.drop_highest)
        } else {
            String::new()
        },
        args.delta,
        fit::start_grid().len()
    )?;
    write!(out, "{}", report::render(&point, &boot, args.at_flops))?;
    if args.bootstrap > 0 {
        let diverged = args.bootstrap - boot.len() - outside.len();
        if diverged > 0 {
            writeln!(
                out,
                "note: {diverged} of {} refits diverged and were left out",
                args.bootstrap
            )?;
        }
        if !outside.is_empty() {
            writeln!(
                out,
                "note: {} of {} refits left the law's domain (e.g. {}) and were left out",
                outside.len(),
                args.bootstrap,
                outside[0].out_of_domain().unwrap_or_default()
            )?;
        }
        if boot.len() < 2 {
            Err(Error::Runtime(format!(
                "only {} of {} refits converged inside the law's domain; no draws written",
                boot.len(),
                args.bootstrap
            )))?;
        }
        let csv = report::draws_csv(&boot)?;
        // What `run` will read must pass its checks: the same reader, before writing.
        scenario::load_law_draws(std::str::from_utf8(&csv)?, "fit draws")
            .map_err(|e| Error::Runtime(format!("the fitted draws would be refused: {e}")))?;
        export::write_file_atomic(&args.out, &csv)?;
        let runs_name = args.runs.file_name().map_or_else(
            || args.runs.display().to_string(),
            |n| n.to_string_lossy().to_string(),
        );
        export::write_file_atomic(
            &crate::fit::report::range_path(&args.out),
            &crate::fit::report::range_csv(&kept, &runs_name)?,
        )?;
        // law.draws_file is read relative to the scenario file, so the line to copy names the
        // draws by their absolute path: it works from a scenario in any folder.
        let absolute = std::fs::canonicalize(&args.out).map_err(|e| Error::io(&args.out, e))?;
        writeln!(
            out,
            "wrote {} draws to {} (and the range of the runs behind them to {})\nuse them in a scenario's [law] (draws_file is relative to the scenario file; this path is absolute):\n  uncertainty = \"draws\"\n  draws_file = {}",
            boot.len(),
            args.out.display(),
            crate::fit::report::range_path(&args.out).display(),
            toml_string(&absolute.to_string_lossy())
        )?;
    }
    Ok(())
}

/// "one run", "median of 5 runs".
fn reps_phrase(reps: usize) -> String {
    if reps == 1 {
        "one run".to_string()
    } else {
        format!("median of {reps} runs")
    }
}

/// A TOML basic string: quoted, with backslashes and quotes escaped.
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn print_laws(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<16} {:<9} {:<6} {:<66} source",
        "preset", "form", "uncert", "coefficients (point values; ? = must be given)"
    )?;
    for p in laws::presets() {
        let coeffs = p
            .coefficients
            .iter()
            .map(|(n, _)| match laws::point(&p, *n) {
                Some(v) => format!("{n}={}", report_num(v)),
                None => format!("{n}=?"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let unc = if p.has_mvn { "mvn" } else { "none" };
        let form = format!("{:?}", p.form).to_lowercase();
        let illustrative = if p.illustrative {
            " [ILLUSTRATIVE]"
        } else {
            ""
        };
        writeln!(
            out,
            "{:<16} {:<9} {:<6} {:<66} {}{illustrative}",
            p.name, form, unc, coeffs, p.source
        )?;
    }
    writeln!(
        out,
        "\nEvery law uses R_D_star = {} (Muennighoff et al. 2023) when data.unique_tokens is set.",
        laws::R_D_STAR
    )?;
    writeln!(
        out,
        "epoch2024 also ships its 4000 bootstrap draws (law.uncertainty = \"draws\")."
    )
}

fn report_num(v: f64) -> String {
    if v.abs() >= 1e4 {
        format!("{v:.4e}")
    } else {
        format!("{}", (v * 1e6).round() / 1e6)
    }
}

fn print_devices(out: &mut impl Write) -> std::io::Result<()> {
    let all = crate::backend::gpu::adapters();
    if all.is_empty() {
        writeln!(
            out,
            "no GPU adapters: {}",
            crate::backend::gpu::NO_ADAPTER_FIX
        )?;
    }
    for a in &all {
        writeln!(
            out,
            "{}{}",
            a.describe(),
            if a.is_software() {
                "  [software: auto prefers the CPU backend]"
            } else {
                ""
            }
        )?;
    }
    let picked = all.iter().find(|a| !a.is_software());
    match picked {
        Some(a) => writeln!(
            out,
            "auto: {} for runs of at least {:.0e} evaluations, the CPU below",
            a.name,
            pipeline::AUTO_MIN_EVALUATIONS
        ),
        None => writeln!(out, "auto: the CPU backend (no hardware adapter)"),
    }
}

fn print_gpus(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<10} {:>12} {:>10} {:>13}  {:<22} source",
        "preset", "peak TFLOP/s", "memory GB", "memory GB/s", "precision (dense)"
    )?;
    for g in gpus::GPUS {
        writeln!(
            out,
            "{:<10} {:>12} {:>10} {:>13}  {:<22} {}",
            g.name, g.peak_tflops, g.memory_gb, g.memory_bandwidth_gbs, g.precision, g.source
        )?;
    }
    Ok(())
}
