//! GPU faults through their real wgpu paths (injected with SCALERISK_GPU_FAULT): a clear
//! one-line error, exit code 1, no panic, nothing written and the previous results intact; with
//! `--backend auto`, an explicit rerun on the CPU. Skips without an adapter unless
//! SCALERISK_REQUIRE_GPU=1.

use assert_cmd::Command;

mod common;
use common::has_adapter;

fn run(fault: &str, backend: &str, out: &std::path::Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("scalerisk")
        .unwrap()
        .env("SCALERISK_GPU_FAULT", fault)
        .env("SCALERISK_AUTO", "any")
        .env("RUST_BACKTRACE", "1")
        .args(["run", "scenarios/a100-3days.toml", "--backend", backend])
        .args([
            "--draws",
            "256",
            "--set",
            "search.params={min=3e7,max=3e9,points=16}",
            "--set",
            "search.tokens={min=1e9,max=1e12,points=16}",
            "--out",
        ])
        .arg(out)
        .assert()
}

#[test]
fn gpu_faults_are_clear_errors_and_leave_previous_results_intact() {
    if !has_adapter() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("configs.csv"), "previous run\n").unwrap();
    // A previous run's marker: a folder without one is refused before any work.
    std::fs::write(
        out.join("run.json"),
        "{\"tool\": \"scalerisk\", \"scenario\": {}}\n",
    )
    .unwrap();
    for (fault, message) in [
        ("device_lost", "device lost during the statistics pass"),
        ("shader", "the statistics shader failed to compile"),
        ("alloc", "allocating buffers failed"),
    ] {
        let a = run(fault, "gpu", &out).code(1);
        let stderr = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        let ours: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
            .collect();
        assert_eq!(ours.len(), 1, "{fault}: {stderr}");
        assert!(
            ours[0].starts_with("error: GPU ") && ours[0].contains(message),
            "{fault}: {stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{fault}: {stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("configs.csv")).unwrap(),
            "previous run\n",
            "{fault}: the previous results were touched"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "results")
            .collect();
        assert!(leftovers.is_empty(), "{fault}: {leftovers:?}");
    }
}

#[test]
fn auto_reruns_on_the_cpu_after_a_gpu_fault_and_says_so() {
    if !has_adapter() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let a = run("device_lost", "auto", &out).success();
    let stdout = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("note: GPU run failed (GPU ") && stdout.contains("reran on the CPU"),
        "{stdout}"
    );
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["backend"], "cpu");
    assert!(run_json["notes"][0]
        .as_str()
        .unwrap()
        .contains("device lost"));
}
