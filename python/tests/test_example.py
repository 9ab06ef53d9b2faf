"""The quick start runs and prints what its text promises."""

import subprocess
import sys

from conftest import ROOT


def test_quickstart_runs_and_prints_its_answers():
    out = subprocess.run(
        [sys.executable, str(ROOT / "python" / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("recommended (expected): ")
    assert lines[1].split() == ["objective", "params", "tokens", "hours", "loss_mean", "loss_p95"]
    assert any(l.startswith("advice: ") for l in lines)
    assert sum(l[2:].split()[0] in ("continue", "decay_now", "extend", "restart")
               for l in lines if l[:1] in ("*", " ") and len(l) > 2) == 4
    assert "error" not in out.stderr.lower()
