"""scalerisk.run against the command line: same numbers, documented columns and types, the same
refusals, progress, and Ctrl-C."""

import csv
import math
import os
import signal
import subprocess
import threading
import time

import pytest

import scalerisk

from conftest import SCENARIOS, SMALL, binary

SCENARIO = SCENARIOS / "a100-3days.toml"


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory):
    """The command line's run of the scenario with the same overrides."""
    out = tmp_path_factory.mktemp("cli") / "run"
    args = [binary(), "run", str(SCENARIO), "--out", str(out), "--quiet", "--backend", "cpu"]
    for k, v in SMALL.items():
        args += ["--set", f"{k}={v}"]
    subprocess.run(args, check=True, env={**os.environ, "XDG_RUNTIME_DIR": "/tmp"})
    return out


@pytest.fixture(scope="module")
def result():
    return scalerisk.run(SCENARIO, progress=False, **SMALL)


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def cell_value(text, dtype):
    """A CSV cell read back by its documented type (an empty number cell is NaN)."""
    if dtype == "float64":
        return math.nan if text == "" else float(text)
    if dtype == "int64":
        return int(text)
    if dtype == "bool":
        return {"true": True, "false": False}[text]
    return text


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


TABLES = ["configs", "draws", "frontier", "information", "recommendations", "sensitivity"]


@pytest.mark.parametrize("name", TABLES)
def test_pandas_tables_equal_the_cli_csvs_cell_by_cell(result, cli_dir, name):
    header, rows = read_csv(cli_dir / f"{name}.csv")
    df = result.tables[name]
    assert list(df.columns) == header
    assert len(df) == len(rows)
    for j, col in enumerate(header):
        dtype = str(df[col].dtype)
        values = df[col].tolist()
        for i, row in enumerate(rows):
            want = cell_value(row[j], dtype)
            assert same(values[i], want), f"{name}.{col} row {i}: {values[i]!r} vs CSV {row[j]!r}"


@pytest.mark.parametrize("name", TABLES)
def test_polars_tables_equal_the_pandas_ones(result, name):
    pd_df = result.tables[name]
    pl_df = result.to_polars()[name]
    assert pl_df.columns == list(pd_df.columns)
    for col in pd_df.columns:
        a, b = pd_df[col].tolist(), pl_df[col].to_list()
        assert all(same(x, y) for x, y in zip(a, b)), col


def test_documented_types(result):
    import polars as pl

    configs = result.configs
    assert configs["params"].dtype == "float64"
    assert configs["feasible"].dtype == "bool"
    assert configs["extrapolates"].dtype == "bool"
    assert result.draws["draw"].dtype == "int64"
    assert result.recommendations["objective"].dtype == object
    assert result.sensitivity["input"].dtype == object
    assert result.information["group"].dtype == object
    p = result.to_polars()
    assert p["configs"]["loss_mean"].dtype == pl.Float64
    assert p["configs"]["feasible"].dtype == pl.Boolean
    assert p["draws"]["draw"].dtype == pl.Int64
    assert p["recommendations"]["objective"].dtype == pl.Utf8
    # Every number column of every table is float64, in both libraries.
    ints = {"draw", "law_member", "rows", "rows_used"}
    for name, df in result.tables.items():
        for col in df.columns:
            t = str(df[col].dtype)
            assert t in ("float64", "bool", "object", "int64"), (name, col, t)
            if t == "int64":
                assert col in ints, (name, col)
    # The frame argument gives polars directly.
    r = scalerisk.run(SCENARIO, frame="polars", progress=False, **SMALL)
    assert isinstance(r.configs, pl.DataFrame)


def test_report_and_charts(result, cli_dir):
    printed = subprocess.run(
        [binary(), "run", str(SCENARIO), "--out", str(cli_dir.parent / "again"), "--backend", "cpu"]
        + [a for k, v in SMALL.items() for a in ("--set", f"{k}={v}")],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": "/tmp"},
    ).stdout
    # The CLI prints the report, then the line naming the files it wrote.
    assert printed.startswith(result.report)
    assert set(result.charts) == {"loss_vs_params", "frontier", "tornado", "allocation_density"}
    for svg in result.charts.values():
        assert svg._repr_svg_().lstrip().startswith("<svg")
    assert result.summary["tool"] == "scalerisk"
    assert result.summary["draws"] == 256


def test_dict_and_toml_text_give_the_same_run(result):
    import tomllib

    text = SCENARIO.read_text()
    doc = tomllib.loads(text)
    a = scalerisk.run(text, progress=False, **SMALL)
    b = scalerisk.run(doc, progress=False, **SMALL)
    for r in (a, b):
        assert r.recommendations.equals(result.recommendations)


def test_overrides_mean_what_set_means(result):
    r = scalerisk.run(SCENARIO, progress=False, **{**SMALL, "budget.hours": 48})
    assert r.summary["scenario"]["budget"]["hours"] == 48
    r2 = scalerisk.run(SCENARIO, progress=False, **{**SMALL, "budget__hours": 48.0})
    assert r2.recommendations.equals(r.recommendations)


@pytest.mark.parametrize(
    "overrides, field, says",
    [
        ({"budget.hours": -3}, "budget.hours", "-3"),
        ({"budget.mfu": "{ uniform = [0.5, 0.3] }"}, "budget.mfu", ""),
        ({"budget.gpu": "a100-8000gb"}, "budget.gpu", "a100-8000gb"),
        ({"budget": 3}, "budget", ""),
    ],
)
def test_bad_input_raises_scenario_error_with_the_cli_message(tmp_path, overrides, field, says):
    with pytest.raises(scalerisk.ScenarioError) as e:
        scalerisk.run(SCENARIO, progress=False, **overrides)
    assert isinstance(e.value, ValueError)
    assert e.value.field == field
    assert says in str(e.value)
    assert "\n" not in str(e.value)
    # The command line's message for the same override, after its "error: ".
    (k, v), = overrides.items()
    cli = subprocess.run(
        [binary(), "run", str(SCENARIO), "--out", str(tmp_path / "x"), "--set", f"{k}={v}"],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"error: {e.value}"
    assert not (tmp_path / "x").exists()


def test_bad_arguments_and_files():
    with pytest.raises(scalerisk.ScenarioError) as e:
        scalerisk.run(SCENARIO, backend="tpu", progress=False)
    assert e.value.field == "backend"
    with pytest.raises(scalerisk.ScenarioError) as e:
        scalerisk.run("name = \"x\"\n[budget]\nhours = ", progress=False)
    assert e.value.field == "scenario"
    with pytest.raises((scalerisk.ScenarioError, OSError)):
        scalerisk.run("no/such/file.toml", progress=False)


def test_progress_callback_hears_every_configuration():
    seen = []
    scalerisk.run(
        SCENARIO,
        progress=lambda done, total: seen.append((done, total)),
        **{**SMALL, "sampling.draws": 4096},
    )
    # Heard at least once if the run took longer than a poll (50 ms); done never above total.
    assert all(0 < d <= t for d, t in seen)


def test_the_run_releases_the_gil():
    # Another Python thread keeps running while the run works: it logs the time every 10 ms, and
    # its log has entries all through the middle of the run.
    seen, stop = [], threading.Event()

    def clock():
        while not stop.is_set():
            seen.append(time.monotonic())
            time.sleep(0.01)

    th = threading.Thread(target=clock)
    th.start()
    t0 = time.monotonic()
    scalerisk.run(SCENARIO, progress=False, **{**SMALL, "sampling.draws": 16384})
    t1 = time.monotonic()
    stop.set()
    th.join()
    assert t1 - t0 > 0.5, "the run is too short to tell"
    inside = [t for t in seen if t0 + 0.1 < t < t1 - 0.1]
    gaps = [b - a for a, b in zip(inside, inside[1:])]
    assert inside and max(gaps) < 0.3, (len(inside), max(gaps, default=None))


def test_ctrl_c_stops_a_long_run_within_two_seconds():
    # A run of minutes (the shipped grid at 65,536 draws); SIGINT after half a second.
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        scalerisk.run(SCENARIO, progress=False, **{"sampling.draws": 65536})
    elapsed = time.monotonic() - start
    timer.cancel()
    assert elapsed < 2.5, f"took {elapsed:.1f} s"
