//! The library's entry points for programs that embed it (the Python package): the run's tables
//! as typed columns (`export::table`), a run's progress and cancellation (`pipeline::Hooks`),
//! and logged losses handed over in memory (`scenario::from_str_with_losses`).

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use scalerisk::export::table::{self, Column};
use scalerisk::pipeline::{self, BackendChoice, Hooks};
use scalerisk::scenario::{self, LossRecord};

fn small(draws: usize) -> scenario::Scenario {
    let dir = tempfile::tempdir().unwrap();
    let p = common::small_scenario(dir.path(), draws, "");
    scenario::from_path(&p, &[]).unwrap()
}

/// Every table equals its CSV, cell by cell, read back independently: a number cell's text
/// parses to the very f64 in the column (an empty cell is NaN), `true`/`false` to the bool, a
/// whole number to the integer; the header is the column names in order.
fn same_as_csv(name: &str, t: &table::Table, csv_bytes: &[u8]) {
    let mut rd = csv::Reader::from_reader(csv_bytes);
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    let names: Vec<&str> = t.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(header, names, "{name}");
    let records: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), t.rows(), "{name}");
    for (j, (col, c)) in t.columns.iter().enumerate() {
        assert_eq!(c.len(), records.len(), "{name}.{col}");
        for (i, rec) in records.iter().enumerate() {
            let cell = &rec[j];
            let (ok, have) = match c {
                Column::F64(v) => {
                    let x = if cell.is_empty() {
                        f64::NAN
                    } else {
                        cell.parse::<f64>().unwrap()
                    };
                    let same = x.to_bits() == v[i].to_bits() || (x.is_nan() && v[i].is_nan());
                    (same, format!("{:?}", v[i]))
                }
                Column::I64(v) => (cell.parse::<i64>().ok() == Some(v[i]), v[i].to_string()),
                Column::Bool(v) => (cell.parse::<bool>().ok() == Some(v[i]), v[i].to_string()),
                Column::Str(v) => (cell == v[i], v[i].clone()),
            };
            assert!(ok, "{name}.{col} row {i}: CSV {cell:?}, table {have}");
        }
    }
}

#[test]
fn tables_hold_the_numbers_the_csvs_print() {
    let r = pipeline::run(small(64), BackendChoice::Cpu, false).unwrap();
    let files = scalerisk::export::files(&r).unwrap();
    let tables = table::tables(&r).unwrap();
    let names: Vec<&str> = tables.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "configs",
            "draws",
            "frontier",
            "information",
            "recommendations",
            "sensitivity"
        ]
    );
    for (name, t) in &tables {
        let (_, bytes) = files
            .iter()
            .find(|(f, _)| *f == format!("{name}.csv"))
            .unwrap();
        same_as_csv(name, t, bytes);
    }
    // Types as docs/OUTPUTS.md's Python section gives them.
    let configs = &tables[0].1;
    assert!(matches!(configs.column("feasible"), Some(Column::Bool(_))));
    assert!(matches!(configs.column("loss_mean"), Some(Column::F64(_))));
    assert!(matches!(tables[1].1.column("draw"), Some(Column::I64(_))));
    assert!(matches!(
        tables[4].1.column("objective"),
        Some(Column::Str(_))
    ));
}

#[test]
fn observed_table_matches_its_csv() {
    let s = scenario::from_path(
        Path::new("scenarios/live-run.toml"),
        &["sampling.draws=256".into()],
    )
    .unwrap();
    let r = pipeline::run(s, BackendChoice::Cpu, false).unwrap();
    let files = scalerisk::export::files(&r).unwrap();
    let tables = table::tables(&r).unwrap();
    let (name, t) = tables.last().unwrap();
    assert_eq!(*name, "observed");
    let (_, bytes) = files.iter().find(|(f, _)| *f == "observed.csv").unwrap();
    same_as_csv(name, t, bytes);
    assert!(matches!(t.column("rows"), Some(Column::I64(_))));
}

#[test]
fn hooks_report_progress_and_cancel() {
    // Progress: every configuration once, ending at the grid's size; the same numbers as a run
    // without hooks.
    let seen = Mutex::new(Vec::new());
    let on = |done: usize, total: usize| seen.lock().unwrap().push((done, total));
    let hooks = Hooks {
        progress: Some(&on),
        cancel: None,
    };
    let r = pipeline::run_hooked(small(32), BackendChoice::Cpu, &hooks).unwrap();
    let plain = pipeline::run(small(32), BackendChoice::Cpu, false).unwrap();
    let seen = seen.into_inner().unwrap();
    let configs = r.grid.len();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|&(_, t)| t == configs));
    assert_eq!(seen.iter().map(|&(d, _)| d).max(), Some(configs));
    let mean =
        |r: &pipeline::RunResult| r.evaluation.stats.iter().map(|s| s.loss_mean).sum::<f64>();
    assert_eq!(mean(&r).to_bits(), mean(&plain).to_bits());

    // Cancelled before it starts: no result.
    let stop = AtomicBool::new(true);
    let hooks = Hooks {
        progress: None,
        cancel: Some(&stop),
    };
    let e = pipeline::run_hooked(small(32), BackendChoice::Cpu, &hooks).err();
    assert!(matches!(e, Some(scalerisk::Error::Cancelled)), "{e:?}");

    // Cancelled from the progress hook, during the statistics pass: stopped inside it, each
    // worker at its next block (one progress call each at most after the request), with no
    // result.
    let stop = AtomicBool::new(false);
    let calls = AtomicUsize::new(0);
    let on = |_: usize, _: usize| {
        calls.fetch_add(1, Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
    };
    let hooks = Hooks {
        progress: Some(&on),
        cancel: Some(&stop),
    };
    let e = pipeline::run_hooked(small(32), BackendChoice::Cpu, &hooks).err();
    assert!(matches!(e, Some(scalerisk::Error::Cancelled)), "{e:?}");
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let calls = calls.load(Ordering::Relaxed);
    assert!(calls > 0);
    assert!(
        calls <= workers + 1,
        "{calls} blocks reported after the cancel ({workers} workers, {configs} configurations)"
    );
}

/// The rows of data/live-run-400m.csv (run, params, tokens, loss).
fn live_rows() -> Vec<LossRecord> {
    let mut rd = csv::Reader::from_path("data/live-run-400m.csv").unwrap();
    let h = rd.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (r, p, t, l) = (at("run"), at("params"), at("tokens"), at("loss"));
    rd.records()
        .map(|rec| {
            let rec = rec.unwrap();
            LossRecord {
                run: rec[r].to_string(),
                params: rec[p].parse().unwrap(),
                tokens: rec[t].parse().unwrap(),
                loss: rec[l].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn losses_in_memory_are_the_losses_file() {
    let path = Path::new("scenarios/live-run.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let sets = ["sampling.draws=128".to_string()];
    let from_file = scenario::from_path(path, &sets).unwrap();
    let rows = live_rows();
    let given =
        scenario::from_str_with_losses(&text, path.parent().unwrap(), &sets, Some(&rows)).unwrap();
    let (a, b) = (
        from_file.observations.as_ref().unwrap(),
        given.observations.as_ref().unwrap(),
    );
    assert_eq!(a.runs.len(), b.runs.len());
    for (x, y) in a.runs.iter().zip(&b.runs) {
        assert_eq!((&x.name, x.params, &x.rows), (&y.name, y.params, &y.rows));
    }
    // The same re-plan, to the bit.
    let replan = |s: &scenario::Scenario| {
        let post = pipeline::sample(s).unwrap().posterior.unwrap();
        let r = scalerisk::aggregate::replan::replan(s, &post).unwrap();
        r.choices
            .iter()
            .map(|c| c.mean.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(replan(&from_file), replan(&given));

    // A row the file's checks would refuse is refused the same way, in one line naming it.
    let mut bad = rows.clone();
    bad[3].loss = -1.0;
    let e = scenario::from_str_with_losses(&text, path.parent().unwrap(), &sets, Some(&bad))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("observations.losses: ") && e.contains("row 4, loss: -1 is not a number > 0"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
}
