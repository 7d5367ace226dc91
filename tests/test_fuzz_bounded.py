"""A short bounded libFuzzer pass over every target (what `make fuzz` runs longer).

Slow: builds every target with -fsanitize=fuzzer,address,undefined and runs
each for 2 s from the committed corpus; any crash, sanitizer report or
invariant failure fails the test with the target's log tail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz_tool import load

FUZZ = load()
pytestmark = pytest.mark.slow


def test_bounded_fuzz_pass_is_clean(tmp_path: Path) -> None:
    if shutil.which("clang") is None:
        pytest.fail("clang is not installed (libFuzzer comes with it)")
    out = tmp_path / "fuzz.json"
    proc = subprocess.run([sys.executable, str(FUZZ.REPO / "tools" / "fuzz.py"), "run", "--time", "2",
                           "--no-progress", "--build-dir", str(tmp_path / "b"), "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    data = json.loads(out.read_text())
    names = [t.name for t in FUZZ.targets()]
    assert list(data["targets"]) == names
    for name, r in data["targets"].items():
        assert r["executions"] > 50, f"{name} barely ran: {r}"
        assert r["findings"] == 0, f"{name}: {r['artifacts']}\n{r['tail']}"
        assert r["corpus_in"] > 0
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "total:" in proc.stdout and "executions" in proc.stdout
