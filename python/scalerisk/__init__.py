"""scalerisk for Python: the scalerisk library's runs and re-plans, in notebooks and training loops.

The engine is the Rust library (the same code as the ``scalerisk`` command); this module only
converts: a scenario and overrides in, DataFrames, the report, SVG charts and advice out.

    >>> import scalerisk
    >>> r = scalerisk.run("scenarios/quickstart.toml", **{"sampling.draws": 512})
    >>> r.recommendations.head()

See python/README section in the repository's README.md, and docs/OUTPUTS.md for every column.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from . import _scalerisk
from ._scalerisk import ScenarioError

__all__ = [
    "run",
    "Result",
    "SVG",
    "Advisor",
    "Advice",
    "Option",
    "ScenarioError",
    "TABLES",
]

__version__: str = _scalerisk.__version__

#: The tables of a run, in the order the command line writes their CSVs (``observed`` only for
#: a scenario with ``[observations]``, ``serving`` only for one that serves tokens).
TABLES = (
    "configs",
    "draws",
    "frontier",
    "information",
    "recommendations",
    "sensitivity",
    "observed",
    "serving",
)

Scenario = Union[str, "os.PathLike[str]", Mapping[str, Any]]
Progress = Union[bool, Callable[[int, int], None], None]

# The command line's flags that are shorthands for a scenario key (`--draws`, `--seed`).
_FLAGS = {"draws": "sampling.draws", "seed": "sampling.seed"}


def _error(field: str, message: str) -> ScenarioError:
    """A refusal raised on the Python side, shaped as the library's: "field: message"."""
    e = ScenarioError(f"{field}: {message}")
    e.field = field
    return e


def _source(scenario: Scenario) -> Tuple[str, str]:
    """(kind, text) for the native module: a path, TOML text, or a dict sent as JSON."""
    if isinstance(scenario, Mapping):
        return "json", json.dumps(scenario, allow_nan=False)
    if isinstance(scenario, os.PathLike):
        return "path", os.fspath(scenario)
    if isinstance(scenario, str):
        # TOML text has a line break or an `=`; a file name has neither (an existing file
        # with such a name is still a file).
        if ("\n" in scenario or "=" in scenario) and not os.path.isfile(scenario):
            return "toml", scenario
        return "path", scenario
    raise TypeError(
        f"scenario must be a path, TOML text or a dict, not {type(scenario).__name__}"
    )


def _toml(value: Any) -> str:
    """A Python value as TOML value text (what follows `KEY=` in `--set KEY=VALUE`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _sets(overrides: Mapping[str, Any]) -> List[str]:
    """`--set KEY=VALUE` assignments: dotted keys (or `__` for the dot, as a keyword argument
    cannot hold one), `draws` and `seed` as the flags; a str value is passed as the command
    line reads it (TOML, or a bare word taken as a string)."""
    out = []
    for key, value in overrides.items():
        key = _FLAGS.get(key, key.replace("__", "."))
        text = value if isinstance(value, str) else _toml(value)
        out.append(f"{key}={text}")
    return out


class SVG:
    """An SVG chart; shows itself inline in Jupyter (``_repr_svg_``)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text

    def _repr_svg_(self) -> str:
        return self.text

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.text)

    def __repr__(self) -> str:
        return f"<SVG {self.name}: {len(self.text)} characters>"


_PANDAS = {"f64": "float64", "i64": "int64", "bool": "bool", "str": "object"}


def _pandas(columns: List[Tuple[str, str, list]]):
    import pandas as pd

    return pd.DataFrame(
        {name: pd.Series(values, dtype=_PANDAS[ty], name=name) for name, ty, values in columns},
        columns=[c[0] for c in columns],
    )


def _polars(columns: List[Tuple[str, str, list]]):
    import polars as pl

    types = {"f64": pl.Float64, "i64": pl.Int64, "bool": pl.Boolean, "str": pl.Utf8}
    return pl.DataFrame([pl.Series(name, values, dtype=types[ty]) for name, ty, values in columns])


class Result:
    """A run's outputs: the tables as DataFrames (``tables``, or one property per table), the
    report, run.json's summary and the charts.

    The DataFrames hold the f64 values the CSVs print in shortest round-trip form: a number
    reads back to the same bits, an empty CSV cell is NaN, ``inf`` is infinity. Columns are
    docs/OUTPUTS.md's, in its order; numbers are float64, flags bool, counts (``draw``,
    ``law_member``, ``rows``, ``rows_used``) int64, names str."""

    def __init__(self, native: Dict[str, Any], frame: str = "pandas") -> None:
        if frame not in ("pandas", "polars"):
            raise _error("frame", f"{frame!r} is not allowed; use pandas or polars")
        self._columns: Dict[str, List[Tuple[str, str, list]]] = native["tables"]
        self._frame = frame
        self._cache: Dict[Tuple[str, str], Any] = {}
        #: The report as ``scalerisk run`` prints it.
        self.report: str = native["report"]
        #: run.json as a dict.
        self.summary: Dict[str, Any] = json.loads(native["summary"])
        #: The charts by name (``loss_vs_params``, ``frontier``, ``tornado``,
        #: ``allocation_density``, and ``serving`` for a run that serves tokens); a chart that
        #: cannot be drawn is in ``chart_errors``.
        self.charts: Dict[str, SVG] = {
            name[: -len(".svg")]: SVG(name, text) for name, text in native["charts"].items()
        }
        self.chart_errors: Dict[str, str] = {
            name[: -len(".svg")]: why for name, why in native["chart_errors"].items()
        }

    def table(self, name: str, frame: Optional[str] = None):
        """Table ``name`` as a pandas (default) or polars DataFrame."""
        frame = frame or self._frame
        if name not in self._columns:
            allowed = ", ".join(self._columns)
            raise KeyError(f"{name!r} is not a table of this run; it has {allowed}")
        key = (name, frame)
        if key not in self._cache:
            build = {"pandas": _pandas, "polars": _polars}.get(frame)
            if build is None:
                raise _error("frame", f"{frame!r} is not allowed; use pandas or polars")
            self._cache[key] = build(self._columns[name])
        return self._cache[key]

    @property
    def tables(self) -> Dict[str, Any]:
        """Every table by name, as DataFrames of the run's ``frame`` (pandas by default)."""
        return {name: self.table(name) for name in self._columns}

    def to_polars(self) -> Dict[str, Any]:
        """Every table by name, as polars DataFrames."""
        return {name: self.table(name, "polars") for name in self._columns}

    def to_pandas(self) -> Dict[str, Any]:
        """Every table by name, as pandas DataFrames."""
        return {name: self.table(name, "pandas") for name in self._columns}

    configs = property(lambda self: self.table("configs"), doc="configs.csv")
    draws = property(lambda self: self.table("draws"), doc="draws.csv")
    frontier = property(lambda self: self.table("frontier"), doc="frontier.csv")
    information = property(lambda self: self.table("information"), doc="information.csv")
    recommendations = property(
        lambda self: self.table("recommendations"), doc="recommendations.csv"
    )
    sensitivity = property(lambda self: self.table("sensitivity"), doc="sensitivity.csv")

    @property
    def observed(self):
        """observed.csv (None without ``[observations]``)."""
        return self.table("observed") if "observed" in self._columns else None

    @property
    def serving(self):
        """serving.csv (None for a scenario that serves no tokens)."""
        return self.table("serving") if "serving" in self._columns else None

    def __repr__(self) -> str:
        return self.report

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text(self.report)


def _progress_callback(progress: Progress):
    """(callback, close): a callable is used as is; True shows tqdm if it is installed (else
    nothing); False or None shows nothing."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return None, lambda: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None, lambda: None
    bar = {}

    def on(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc="evaluating", unit="configs")
        b = bar["bar"]
        b.update(done - b.n)

    def close() -> None:
        if "bar" in bar:
            bar["bar"].close()

    return on, close


def run(
    scenario: Scenario,
    backend: str = "cpu",
    *,
    frame: str = "pandas",
    progress: Progress = True,
    **overrides: Any,
) -> Result:
    """Run a scenario as ``scalerisk run FILE`` does, without writing files.

    ``scenario``: a path, TOML text or a dict of the TOML document. ``overrides``: what the
    command line's ``--set KEY=VALUE`` means, with dotted keys (``**{"budget.hours": 48}``, or
    ``budget__hours=48``); ``draws`` and ``seed`` are ``--draws`` and ``--seed``. ``backend``:
    ``cpu`` (default), ``gpu`` or ``auto``. ``progress``: True shows a tqdm bar when tqdm is
    installed, or pass a callable ``(done, total)``.

    Bad input raises :class:`ScenarioError` (a ValueError) with the command line's one-line
    message and ``field``. The work runs without the GIL; Ctrl-C raises KeyboardInterrupt.
    """
    kind, text = _source(scenario)
    on, close = _progress_callback(progress)
    try:
        native = _scalerisk.run(kind, text, _sets(overrides), backend, on)
    finally:
        close()
    return Result(native, frame)


@dataclass(frozen=True)
class Option:
    """One option of the live run: its final loss over the posterior draws (nats) and where it
    ends."""

    name: str
    params: float
    mean: float
    se: float
    p05: float
    p50: float
    p95: float
    tokens_p05: float
    tokens_p50: float
    tokens_p95: float
    #: Expected loss it saves against continuing, and that difference's standard error.
    gain: float
    gain_se: float


@dataclass(frozen=True)
class Advice:
    """The advisor's answer: ``choice`` is one of ``continue``, ``decay_now``, ``extend``,
    ``restart``; ``options`` gives each one's final-loss band."""

    choice: str
    options: Dict[str, Option]
    tokens_so_far: float
    hours_so_far: float
    hours_left: float
    #: What to check before trusting the posterior (run.json's ``posterior.warnings``: a
    #: measurement it could not honour, rows outside what the prior expects, ...); empty when
    #: nothing is amiss.
    warnings: List[str]
    #: The library's re-plan as run.json's ``replan`` gives it.
    raw: Dict[str, Any]

    def __str__(self) -> str:
        lines = [f"advice: {self.choice} ({self.tokens_so_far:.3g} tokens, {self.hours_left:.3g} h left)"]
        lines += [f"warning: {w}" for w in self.warnings]
        for o in self.options.values():
            mark = "*" if o.name == self.choice else " "
            lines.append(
                f"{mark} {o.name:<9} final loss {o.p50:.4f} [{o.p05:.4f}, {o.p95:.4f}]"
            )
        return "\n".join(lines)


_RUN = "live"

# The advisor's arguments as the scenario keys they become, so that a refusal names what the
# caller wrote.
_ADVISOR_FIELDS = [
    (f"observations.runs.{_RUN}.tokens", "planned_tokens"),
    (f"observations.runs.{_RUN}.schedule", "schedule"),
    ("observations.live_hours", "hours_so_far"),
]


def _advisor_error(e: ScenarioError) -> ScenarioError:
    """The library's refusal in the advisor's words: its argument names for the keys it wrote,
    and observe() calls (counted from 1) for the rows that stand in for a losses file."""
    field = getattr(e, "field", "")
    message = str(e)
    named = field
    for key, argument in _ADVISOR_FIELDS:
        message = message.replace(key, argument)
        if field == key:
            named = argument
    option = f"observations.runs.{_RUN}."
    if named.startswith(option):
        named = f"schedule_options[{named[len(option):]!r}]"
        message = message.replace(field, named)
    # A losses file's line k holds its row k - 1 (after the header); rows count from 1.
    message = re.sub(r"observe\(\) line (\d+)", lambda m: f"observe() call {int(m.group(1)) - 1}", message)
    message = re.sub(r"observe\(\) row (\d+)", r"observe() call \1", message)
    out = ScenarioError(message)
    out.field = named
    return out


class Advisor:
    """Advice for a run in progress (docs/MODEL.md §8 "Learn from what you measure").

    Built from a scenario and the live run's size, planned tokens and schedule; feed it the run's
    logged losses with :meth:`observe` (and measured throughput with
    :meth:`observe_throughput`); :meth:`advice` conditions the scenario's draws on them and
    scores continue / decay now / extend / restart, as the scenario's ``[observations]`` with
    ``live`` does on the command line. ``schedule_options``: the rest of
    ``[observations.runs.NAME]`` (warmup, final_lr_fraction, decay_start, decay_tokens, decay,
    batch_tokens). ``overrides`` are ``run``'s (``draws=512`` for a quick answer).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        params: float,
        planned_tokens: float,
        schedule: str = "cosine",
        hours_so_far: float,
        schedule_options: Optional[Mapping[str, Any]] = None,
        **overrides: Any,
    ) -> None:
        self._kind, self._text = _source(scenario)
        self.params = float(params)
        self.planned_tokens = float(planned_tokens)
        self.schedule = schedule
        self.hours_so_far = float(hours_so_far)
        self._schedule_options = dict(schedule_options or {})
        self._overrides = dict(overrides)
        self._rows: List[Tuple[str, float, float, float]] = []
        self._throughput: Optional[Tuple[float, Optional[float]]] = None

    def observe(self, tokens: float, loss: float, hours_so_far: Optional[float] = None) -> None:
        """Log the loss at ``tokens`` trained (ascending); optionally the hours so far."""
        self._rows.append((_RUN, self.params, float(tokens), float(loss)))
        if hours_so_far is not None:
            self.hours_so_far = float(hours_so_far)

    def observe_throughput(self, tokens_per_s: float, sd: Optional[float] = None) -> None:
        """A measured training throughput, tokens per second, taken at :meth:`advice` as the
        scenario's measured MFU (``observations.mfu``): tokens/s × FLOPs per token of the run's
        size / the hardware's peak FLOP/s (a FLOPs budget has no hardware: refused there)."""
        self._throughput = (float(tokens_per_s), sd)

    def _sets(self) -> List[str]:
        run = {"schedule": self.schedule, "tokens": self.planned_tokens, **self._schedule_options}
        obs: Dict[str, Any] = {
            "observations.losses": "observe()",
            "observations.live": _RUN,
            "observations.live_hours": self.hours_so_far,
            f"observations.runs.{_RUN}": run,
        }
        sets = _sets(self._overrides) + _sets(obs)
        if self._throughput is None:
            return sets
        # The peak and FLOPs per token read the scenario as advice() will run it: with the
        # advisor's own observations (a scenario with observations.level = "free" is only
        # valid with its loss rows).
        peak = _scalerisk.peak_flops(self._kind, self._text, sets, self._rows)
        if peak is None:
            raise _error(
                "budget",
                "a FLOPs budget has no hardware to measure MFU against; "
                "give budget.gpu and budget.count to use observe_throughput",
            )
        per_token = _scalerisk.flops_per_token(
            self._kind, self._text, sets, self.params, self._rows
        )
        tokens_per_s, sd = self._throughput
        value = tokens_per_s * per_token / peak
        mfu = {"value": value} if sd is None else {"value": value, "sd": sd}
        return sets + _sets({"observations.mfu": mfu})

    def advice(self) -> Advice:
        """The recommended option and each option's final-loss band (p05, p50, p95)."""
        if not self._rows:
            raise _error("observations.losses", "no rows yet; call observe(tokens, loss) first")
        try:
            raw = json.loads(_scalerisk.advise(self._kind, self._text, self._sets(), self._rows))
        except ScenarioError as e:
            raise _advisor_error(e) from None
        options = {
            c["name"]: Option(**{k: c[k] for k in Option.__dataclass_fields__})
            for c in raw["choices"]
        }
        return Advice(
            choice=raw["choices"][raw["recommended"]]["name"],
            options=options,
            tokens_so_far=raw["tokens_so_far"],
            hours_so_far=raw["hours_so_far"],
            hours_left=raw["hours_left"],
            warnings=list(raw.pop("warnings")),
            raw=raw,
        )
