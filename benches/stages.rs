//! Criterion benchmarks per stage and backend on the `scalerisk bench` workload (a100-3days
//! budget and law), small enough for a quick `cargo bench`: 4,096 configurations × 2,048 draws.
//! The GPU benchmark skips, with a printed reason, when there is no adapter.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use scalerisk::backend::{cpu, gpu, Backend};
use scalerisk::bench::workload;
use scalerisk::grid::Grid;
use scalerisk::pipeline;
use scalerisk::sampling;

fn stages(c: &mut Criterion) {
    let s = workload(4096, 2048).expect("workload");
    let settings = pipeline::settings(&s);
    let grid = Grid::new(&s);
    let draws = sampling::draws(&s, 0..s.sampling.draws).expect("draws");
    let evals = (grid.len() * draws.len()) as u64;

    let mut g = c.benchmark_group("stages");
    g.sample_size(10);
    g.throughput(Throughput::Elements(draws.len() as u64));
    g.bench_function("sampling", |b| {
        b.iter(|| sampling::draws(&s, 0..s.sampling.draws).unwrap())
    });
    g.throughput(Throughput::Elements(evals));
    g.bench_function("cpu_oracle_pass", |b| {
        b.iter(|| cpu::oracle_pass(&settings, &grid, &draws))
    });
    let oracle = cpu::oracle_pass(&settings, &grid, &draws);
    g.bench_function("cpu_statistics_pass", |b| {
        b.iter(|| cpu::statistics_pass(&settings, &grid, &oracle, &|_| {}))
    });
    match gpu::Gpu::new(gpu::Options::default()) {
        Ok(Some(device)) => {
            g.bench_function("gpu_statistics_pass", |b| {
                b.iter(|| {
                    device
                        .statistics(&settings, &grid, &draws, &oracle, &|_| {})
                        .unwrap()
                })
            });
        }
        _ => eprintln!("gpu_statistics_pass skipped: {}", gpu::NO_ADAPTER_FIX),
    }
    g.finish();
}

/// The output stage alone: configs.csv of the `scalerisk bench` workload at 16,640 × 4,096 (the
/// size BENCHMARKS.md records), its ~350,000 number cells written through the Serialize rows.
fn output(c: &mut Criterion) {
    let s = workload(16384, 4096).expect("workload");
    let result = pipeline::run(s, pipeline::BackendChoice::Cpu, false).expect("run");
    let mut g = c.benchmark_group("output");
    g.sample_size(20);
    g.throughput(Throughput::Elements(result.grid.len() as u64));
    g.bench_function("configs_csv", |b| {
        b.iter(|| scalerisk::export::configs::serialize(&result).unwrap())
    });
    g.bench_function("draws_csv", |b| {
        b.iter(|| scalerisk::export::draws::serialize(&result).unwrap())
    });
    g.finish();
}

criterion_group!(benches, stages, output);
criterion_main!(benches);
