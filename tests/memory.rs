//! The memory model (`pipeline::memory_estimate`) against the peak resident memory a run
//! measures (run.json's timings, VmHWM), over grid shapes drawn at random with a fixed seed and
//! the shapes that stress one term each: many sizes (pass 1's profiles), many configurations
//! (the statistics and configs.csv), many draws. Within 1.5× either way.

use rand::{Rng, SeedableRng};

mod common;

fn peak_and_estimate(params: usize, tokens: usize, draws: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let (params, tokens, draws) = (
        format!("search.params={{min=3e7,max=3e9,points={params}}}"),
        format!("search.tokens={{min=1e9,max=1e12,points={tokens}}}"),
        format!("sampling.draws={draws}"),
    );
    let args = [
        "run",
        "scenarios/a100-3days.toml",
        "--backend",
        "cpu",
        "--quiet",
        "--out",
        common::s(&run),
        "--set",
        &params,
        "--set",
        &tokens,
        "--set",
        &draws,
    ];
    let out = common::run_in(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        &args,
        std::time::Duration::from_secs(300),
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run/run.json")).unwrap()).unwrap();
    let t = &doc["timings"];
    (
        t["peak_rss_bytes"]
            .as_f64()
            .expect("Linux reports the peak"),
        t["memory_estimate_bytes"].as_f64().unwrap(),
    )
}

#[test]
fn the_estimate_is_within_one_and_a_half_times_the_measured_peak() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("skipped: the peak is read from /proc (Linux only)");
        return;
    }
    let mut shapes = vec![
        (5000, 2, 2000),
        (400, 400, 64),
        (40, 40, 50_000),
        (240, 160, 2048),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
    for _ in 0..4 {
        shapes.push((
            rng.random_range(20..1500),
            rng.random_range(2..300),
            rng.random_range(64..8000),
        ));
    }
    for (p, d, n) in shapes {
        let (peak, estimate) = peak_and_estimate(p, d, n);
        let ratio = estimate / peak;
        assert!(
            (1.0 / 1.5..=1.5).contains(&ratio),
            "{p} sizes × {d} token counts × {n} draws: estimate {:.0} MB, peak {:.0} MB",
            estimate / 1e6,
            peak / 1e6
        );
    }
}
