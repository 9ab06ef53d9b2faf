//! `scalerisk._scalerisk`: the Python face of the scalerisk library. Conversions only: a
//! scenario (file, TOML text or a dict as JSON) and `--set` overrides in, the library's own run
//! and re-plan out, as Python lists, strings and JSON text; the DataFrames, progress display and
//! the `Advisor` class are a thin layer of Python (`scalerisk/__init__.py`).
//!
//! Long work runs on a Rust thread without the GIL; the calling thread waits on it in short
//! slices, so Python stays free for other threads and a Ctrl-C (KeyboardInterrupt) is seen
//! within a slice: the run is then asked to stop (`pipeline::Hooks::cancel`) and the exception
//! goes up at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use scalerisk::export::table::{Column, Table};
use scalerisk::pipeline::{self, BackendChoice, Hooks};
use scalerisk::scenario::{self, LossRecord, Scenario};
use scalerisk::Error;

create_exception!(
    _scalerisk,
    ScenarioError,
    PyValueError,
    "A scenario field, override or argument is not allowed. `str(e)` is the command line's one-line message (field: value and what is allowed); `e.field` names the field."
);

/// How often the waiting thread looks for a KeyboardInterrupt and reports progress.
const POLL: Duration = Duration::from_millis(50);

/// The library's error as the Python exception a user expects: bad input as [`ScenarioError`]
/// (with `field`), a file as OSError, the rest as RuntimeError.
fn to_py(py: Python<'_>, e: Error) -> PyErr {
    match e {
        Error::Input { field, message } => {
            let err = ScenarioError::new_err(format!("{field}: {message}"));
            // A fresh exception object takes any attribute; failing that, the message has it.
            let _ = err.value(py).setattr("field", field);
            err
        }
        Error::Io { .. } => PyOSError::new_err(e.to_string()),
        Error::Cancelled => PyKeyboardInterrupt::new_err(e.to_string()),
        Error::Runtime(_) => PyRuntimeError::new_err(e.to_string()),
    }
}

/// A scenario from `kind` ("path", "toml" or "json", the last being a dict as JSON) with the
/// `--set` assignments `sets`, and optional losses in memory.
fn load(
    kind: &str,
    source: &str,
    sets: &[String],
    losses: Option<&[LossRecord]>,
) -> Result<Scenario, Error> {
    let here = PathBuf::from(".");
    match kind {
        "path" => scenario::from_path_with_losses(Path::new(source), sets, losses),
        "toml" => scenario::from_str_with_losses(source, &here, sets, losses),
        "json" => {
            let value: toml::Value = serde_json::from_str(source).map_err(|e| {
                Error::input("scenario", format!("the dict is not a TOML document: {e}"))
            })?;
            let text = toml::to_string(&value).map_err(|e| {
                Error::input("scenario", format!("the dict is not a TOML document: {e}"))
            })?;
            scenario::from_str_with_losses(&text, &here, sets, losses)
        }
        other => Err(Error::input(
            "scenario",
            format!("{other:?} is not a scenario kind; use path, toml or json"),
        )),
    }
}

fn backend_choice(name: &str) -> Result<BackendChoice, Error> {
    BackendChoice::from_name(name).ok_or_else(|| {
        Error::input(
            "backend",
            format!("{name:?} is not allowed; use auto, cpu or gpu"),
        )
    })
}

/// What a run hands to Python, built on the worker thread.
struct Outputs {
    tables: Vec<(&'static str, Table)>,
    report: String,
    summary: String,
    charts: Vec<(String, Result<String, String>)>,
}

fn outputs(r: &pipeline::RunResult) -> Result<Outputs, Error> {
    let tables = scalerisk::export::table::tables(r)?;
    // The charts as `scalerisk run --plot` draws them: from the run's CSV text in memory.
    let files = scalerisk::export::files(r)?;
    let texts = files
        .iter()
        .filter_map(|(n, b)| std::str::from_utf8(b).ok().map(|t| (*n, t)))
        .collect();
    let charts = scalerisk::plot::RunTables::from_files(&texts)?;
    let charts = scalerisk::plot::render_each(&charts, scalerisk::plot::Format::Svg)?
        .into_iter()
        .map(|(name, bytes)| {
            let svg = bytes
                .map_err(|e| e.to_string())
                .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()));
            (name, svg)
        })
        .collect();
    Ok(Outputs {
        tables,
        report: scalerisk::report::render(r),
        summary: scalerisk::export::run_json::document(r).to_string(),
        charts,
    })
}

/// Run `work` on its own thread without the GIL, waiting in [`POLL`] slices: between slices,
/// `tick` runs with the GIL (progress), and a pending KeyboardInterrupt sets `cancel` and is
/// raised at once (the thread stops within a block of the statistics pass, or at the next
/// stage boundary elsewhere; its result dropped).
fn wait_for<T: Send + 'static>(
    py: Python<'_>,
    cancel: Arc<AtomicBool>,
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    mut tick: impl FnMut(Python<'_>) -> PyResult<()>,
) -> PyResult<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    let mut rx = Some(rx);
    loop {
        // The receiver moves into the GIL-free wait and back (it is Send, not Sync).
        let (got, back) = py.allow_threads(|| {
            let r = rx.take().expect("the receiver is back after each wait");
            (r.recv_timeout(POLL), r)
        });
        rx = Some(back);
        match got {
            Ok(r) => return r.map_err(|e| to_py(py, e)),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "the run's thread ended without a result",
                ))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Err(e) = py.check_signals().and_then(|()| tick(py)) {
            cancel.store(true, Ordering::Relaxed);
            return Err(e);
        }
    }
}

fn column(py: Python<'_>, c: &Column) -> PyResult<(&'static str, PyObject)> {
    Ok(match c {
        Column::F64(v) => ("f64", v.into_pyobject(py)?.into_any().unbind()),
        Column::I64(v) => ("i64", v.into_pyobject(py)?.into_any().unbind()),
        Column::Bool(v) => ("bool", v.into_pyobject(py)?.into_any().unbind()),
        Column::Str(v) => ("str", v.into_pyobject(py)?.into_any().unbind()),
    })
}

/// Run a scenario as `scalerisk run` does, without writing files. Returns a dict: `tables`
/// (name → list of (column, type, values)), `report` (the printed report), `summary` (run.json
/// as text), `charts` (file name → SVG text, or None and `chart_errors` saying why).
#[pyfunction]
#[pyo3(signature = (kind, source, sets, backend="cpu", progress=None))]
fn run(
    py: Python<'_>,
    kind: &str,
    source: &str,
    sets: Vec<String>,
    backend: &str,
    progress: Option<PyObject>,
) -> PyResult<PyObject> {
    let backend = backend_choice(backend).map_err(|e| to_py(py, e))?;
    let (kind, source) = (kind.to_string(), source.to_string());
    // Validation before any work, as the command line does it: the scenario, then memory.
    let s = py
        .allow_threads(|| load(&kind, &source, &sets, None))
        .map_err(|e| to_py(py, e))?;
    scalerisk::cli::check_memory(s.search.shape(), s.sampling.draws as f64, "sampling.draws")
        .map_err(|e| to_py(py, e))?;
    let cancel = Arc::new(AtomicBool::new(false));
    let done = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let (c, d) = (cancel.clone(), done.clone());
    let out = wait_for(
        py,
        cancel,
        move || {
            let report = |n: usize, total: usize| {
                d.0.store(n, Ordering::Relaxed);
                d.1.store(total, Ordering::Relaxed);
            };
            let hooks = Hooks {
                progress: Some(&report),
                cancel: Some(&c),
            };
            let r = pipeline::run_hooked(s, backend, &hooks)?;
            outputs(&r)
        },
        |py| match &progress {
            Some(cb) => {
                let total = done.1.load(Ordering::Relaxed);
                if total > 0 {
                    cb.call1(py, (done.0.load(Ordering::Relaxed), total))?;
                }
                Ok(())
            }
            None => Ok(()),
        },
    )?;
    let dict = PyDict::new(py);
    let tables = PyDict::new(py);
    for (name, t) in &out.tables {
        let cols = PyList::empty(py);
        for (col, c) in &t.columns {
            let (ty, values) = column(py, c)?;
            cols.append((col, ty, values))?;
        }
        tables.set_item(name, cols)?;
    }
    dict.set_item("tables", tables)?;
    dict.set_item("report", &out.report)?;
    dict.set_item("summary", &out.summary)?;
    let charts = PyDict::new(py);
    let errors = PyDict::new(py);
    for (name, svg) in &out.charts {
        match svg {
            Ok(s) => charts.set_item(name, s)?,
            Err(e) => errors.set_item(name, e)?,
        }
    }
    dict.set_item("charts", charts)?;
    dict.set_item("chart_errors", errors)?;
    Ok(dict.into_any().unbind())
}

/// The live run's options scored on the posterior (`aggregate::replan`) and the posterior's
/// `warnings`, as JSON text: the scenario with the `sets` that name the live run, and its logged
/// `losses` as (run, params, tokens, loss) rows in place of a losses file.
#[pyfunction]
fn advise(
    py: Python<'_>,
    kind: &str,
    source: &str,
    sets: Vec<String>,
    losses: Vec<(String, f64, f64, f64)>,
) -> PyResult<String> {
    let rows = records(Some(losses)).unwrap_or_default();
    let s = py
        .allow_threads(|| load(kind, source, &sets, Some(&rows)))
        .map_err(|e| to_py(py, e))?;
    wait_for(
        py,
        Arc::new(AtomicBool::new(false)),
        move || {
            let sample = pipeline::sample(&s)?;
            let post = sample
                .posterior
                .ok_or_else(|| Error::Runtime("the scenario has no observations".into()))?;
            let replan = scalerisk::aggregate::replan::replan(&s, &post)
                .ok_or_else(|| Error::Runtime("the scenario names no live run".into()))?;
            // The posterior's warnings go with the options they qualify.
            let mut value =
                serde_json::to_value(&replan).map_err(|e| Error::Runtime(e.to_string()))?;
            value["warnings"] = serde_json::json!(post.warnings);
            serde_json::to_string(&value).map_err(|e| Error::Runtime(e.to_string()))
        },
        |_| Ok(()),
    )
}

/// (run, params, tokens, loss) rows as the library's records.
fn records(losses: Option<Vec<(String, f64, f64, f64)>>) -> Option<Vec<LossRecord>> {
    losses.map(|rows| {
        rows.into_iter()
            .map(|(run, params, tokens, loss)| LossRecord {
                run,
                params,
                tokens,
                loss,
            })
            .collect()
    })
}

/// Throughput in FLOP/s of the scenario's accelerators at MFU 1 and goodput 1 (the peak the
/// advisor divides a measured throughput by), or None for a FLOPs budget. `losses` stand in for
/// the losses file as in `advise` (the scenario with the advisor's observations is only valid
/// with them, e.g. under `observations.level = "free"`).
#[pyfunction]
#[pyo3(signature = (kind, source, sets, losses=None))]
fn peak_flops(
    py: Python<'_>,
    kind: &str,
    source: &str,
    sets: Vec<String>,
    losses: Option<Vec<(String, f64, f64, f64)>>,
) -> PyResult<Option<f64>> {
    let rows = records(losses);
    let s = load(kind, source, &sets, rows.as_deref()).map_err(|e| to_py(py, e))?;
    Ok(match s.budget.capacity {
        scenario::Capacity::Hardware { .. } => Some(s.budget.throughput(1.0, 1.0)),
        _ => None,
    })
}

/// Training FLOPs per token of a model of `params` parameters under the scenario's budget
/// (`losses` as in `peak_flops`).
#[pyfunction]
#[pyo3(signature = (kind, source, sets, params, losses=None))]
fn flops_per_token(
    py: Python<'_>,
    kind: &str,
    source: &str,
    sets: Vec<String>,
    params: f64,
    losses: Option<Vec<(String, f64, f64, f64)>>,
) -> PyResult<f64> {
    let rows = records(losses);
    let s = load(kind, source, &sets, rows.as_deref()).map_err(|e| to_py(py, e))?;
    Ok(scalerisk::law::flops_per_token(
        s.budget.flops_per_param_token,
        s.budget.attention,
        params,
    ))
}

#[pymodule]
fn _scalerisk(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ScenarioError", m.py().get_type::<ScenarioError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(advise, m)?)?;
    m.add_function(wrap_pyfunction!(peak_flops, m)?)?;
    m.add_function(wrap_pyfunction!(flops_per_token, m)?)?;
    Ok(())
}
