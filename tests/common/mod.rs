//! Helpers shared by the integration tests: the one rule for tests that need a GPU adapter or
//! Python. Each test binary uses only some of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use scalerisk::backend::gpu;

/// Set to 1 by `.ci/run`: "no adapter" fails the tests that need one instead of skipping them.
pub const REQUIRE_GPU: &str = "SCALERISK_REQUIRE_GPU";

/// Set to 1 by `.ci/run` after it installed pandas, polars and matplotlib: a missing python3 or
/// library fails the tests that need them instead of skipping them.
pub const REQUIRE_PYTHON: &str = "SCALERISK_REQUIRE_PYTHON";

fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// A test that cannot run here: skipped with `reason` printed, or failed when `var` says the
/// environment must provide what is missing.
pub fn skip_unless_required(var: &str, reason: &str) {
    assert!(!required(var), "{var}=1 but {reason}");
    eprintln!("skipped: {reason}");
}

/// The GPU backend with `options`, or None (skipped, the reason printed) when there is no
/// adapter; with `SCALERISK_REQUIRE_GPU=1` "no adapter" fails the test.
pub fn gpu_with(options: gpu::Options) -> Option<gpu::Gpu> {
    let g = gpu::Gpu::new(options).expect("GPU start");
    if g.is_none() {
        skip_unless_required(REQUIRE_GPU, gpu::NO_ADAPTER_FIX);
    }
    g
}

/// The default GPU backend, or None as [`gpu_with`].
pub fn gpu() -> Option<gpu::Gpu> {
    gpu_with(gpu::Options::default())
}

/// Whether an adapter exists for tests that drive the binary (no backend object needed); false
/// (skipped) or a failure as [`gpu_with`].
pub fn has_adapter() -> bool {
    let any = !gpu::adapters().is_empty();
    if !any {
        skip_unless_required(REQUIRE_GPU, gpu::NO_ADAPTER_FIX);
    }
    any
}

/// The python to run (`SCALERISK_PYTHON`, else python3), or None (skipped, or a failure under
/// `SCALERISK_REQUIRE_PYTHON=1`) when it does not start.
pub fn python() -> Option<String> {
    let python = std::env::var("SCALERISK_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        skip_unless_required(REQUIRE_PYTHON, &format!("{python} is not installed"));
        None
    }
}

/// A Python script exited 3 (a library it needs is missing, said in `said`): skipped, or a
/// failure under `SCALERISK_REQUIRE_PYTHON=1`.
pub fn python_library_missing(said: &str) {
    skip_unless_required(REQUIRE_PYTHON, said.trim());
}

/// Run the binary with `args` in `cwd` (stdin empty); kill it and fail the test past `limit`
/// (a run that blocks must fail, not hang the suite).
pub fn run_in(cwd: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scalerisk"))
        .args(args)
        .current_dir(cwd)
        .env("XDG_RUNTIME_DIR", "/tmp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "scalerisk {args:?} still running after {limit:?} (blocked?); stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Exit code 2, one line on stderr containing every `needle`.
pub fn refused(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected a refusal; stderr: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "not one line: {e}");
    for n in needles {
        assert!(e.contains(n), "{n:?} not in: {e}");
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small scenario in `dir` (`s.toml`: 12 sizes × 10 token counts, `draws` draws) with `extra`
/// TOML appended.
pub fn small_scenario(dir: &Path, draws: usize, extra: &str) -> PathBuf {
    let p = dir.join("s.toml");
    std::fs::write(
        &p,
        format!(
            "name = \"s\"\n[budget]\ngpu = \"a100-80gb\"\nhours = 72\n[search]\n\
             params = {{ min = 1e8, max = 2e9, points = 12 }}\n\
             tokens = {{ min = 1e9, max = 1e11, points = 10 }}\n[sampling]\ndraws = {draws}\n{extra}"
        ),
    )
    .unwrap();
    p
}

/// A shipped scenario run on the CPU with a square grid of `points` over the a100-class box
/// (3e7–3e9 params, 1e9–1e12 tokens), `draws` draws and the `extra` overrides after them.
pub fn run_shipped(
    name: &str,
    points: usize,
    draws: usize,
    extra: &[&str],
) -> scalerisk::pipeline::RunResult {
    let mut sets = vec![
        format!("search.params={{min=3e7,max=3e9,points={points}}}"),
        format!("search.tokens={{min=1e9,max=1e12,points={points}}}"),
        format!("sampling.draws={draws}"),
    ];
    sets.extend(extra.iter().map(|x| x.to_string()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"));
    let s = scalerisk::scenario::from_path(&path, &sets).unwrap();
    scalerisk::pipeline::run(s, scalerisk::pipeline::BackendChoice::Cpu, false).unwrap()
}

/// A cosine run's loss in draw `x` when it plans `d` tokens for (P, T) and can train `cap`,
/// written out from docs/MODEL.md §2 apart from the library's `law::planned_loss`: the law at
/// min(D, cap), plus, when D > cap, the scale (what never annealing costs at the cap: the gross
/// gain anneal·(P/10⁸)^0.128 less L(cap) − L(cap·(1/0.55)^0.672), at least 0) times
/// (1 + cos π·cap/D)/2.
pub fn cosine_loss(
    shape: scalerisk::law::LawShape,
    x: &scalerisk::sampling::Draw,
    (p, d, t): (f64, f64, f64),
    cap: f64,
) -> f64 {
    use scalerisk::law::loss;
    let at = |tokens: f64| loss(shape, &x.coeffs, p, tokens, t, x.unique_tokens);
    let run = at(d.min(cap));
    if d <= cap {
        return run;
    }
    let gross = x.anneal * (p / 1e8).powf(0.128);
    let credit = at(cap) - at(cap * (1.0f64 / 0.55).powf(0.672));
    let scale = (gross - credit).max(0.0);
    run + scale * 0.5 * (1.0 + (std::f64::consts::PI * cap / d).cos())
}
