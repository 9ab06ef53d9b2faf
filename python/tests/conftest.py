"""Shared paths and the scenario the tests run."""

import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def binary():
    """The built command line (target/release/scalerisk, or $SCALERISK_BIN)."""
    path = os.environ.get("SCALERISK_BIN") or str(ROOT / "target" / "release" / "scalerisk")
    if not os.path.isfile(path):
        found = shutil.which("scalerisk")
        if found is None:
            pytest.fail(f"no scalerisk binary at {path}; run cargo build --release first")
        path = found
    return path


# A small grid of a shipped scenario, for runs that take a second or two.
SMALL = {
    "sampling.draws": 256,
    "search.params": "{ min = 1e8, max = 3e9, points = 16 }",
    "search.tokens": "{ min = 1e9, max = 3e11, points = 12 }",
}
