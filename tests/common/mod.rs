//! Helpers shared by the integration tests: the one rule for tests that need a GPU adapter or
//! Python. Each test binary uses only some of them.
#![allow(dead_code)]

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
