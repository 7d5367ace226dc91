"""`make bench` verdicts: a benchmark that could not measure says so and fails, and run_all propagates it.

The planted failure is the one a fresh machine met: clang without its runtime. A `clang` first on PATH
runs the real compiler with an empty resource directory, so building the fuzz targets fails for real.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


robustness = _load("robustness")
run_all = _load("run_all")


@pytest.fixture()
def broken_clang_path(tmp_path: Path) -> str:
    """PATH whose clang cannot find its runtime (nor its builtin headers): every fuzz build fails."""
    real = shutil.which("clang")
    if real is None:
        pytest.skip("clang is not installed: the planted failure wraps the real compiler")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    empty = tmp_path / "no-resource-dir"
    empty.mkdir()
    wrapper = bindir / "clang"
    wrapper.write_text(f'#!/bin/sh\nexec {real} -resource-dir={empty} "$@"\n')
    wrapper.chmod(0o755)
    return f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"


FUZZ_ONLY = ("--fuzz-seconds", "1", "--soak-frames", "0", "--no-sweep")


def test_robustness_fails_when_the_fuzz_targets_do_not_build(tmp_path: Path, broken_clang_path: str) -> None:
    out = tmp_path / "robustness.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "robustness.py"), "--out", str(out),
                           *FUZZ_ONLY], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PATH": broken_clang_path})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: robustness: fuzz could not measure")]
    assert len(errors) == 1, proc.stderr
    assert "robustness: ok" not in proc.stdout and "Traceback" not in proc.stderr
    doc = json.loads(out.read_text())
    assert doc["verdict"] == "could not measure" and "error" in doc["fuzz"]


def test_run_all_propagates_a_benchmark_that_could_not_measure(tmp_path: Path, broken_clang_path: str,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(run_all, "BENCHES", (run_all.Bench("robustness", "robustness.py", "robustness.json",
                                                           args=FUZZ_ONLY),))
    monkeypatch.setenv("PATH", broken_clang_path)
    assert run_all.main(["--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "== robustness: failed" in out and "failed: robustness" in out
    summary = json.loads((tmp_path / "run_all.json").read_text())
    assert summary["benchmarks"][0]["status"] == "failed"


def test_verdict_names_findings_and_errors() -> None:
    res = {"fuzz": {"targets": {"fuzz_frame": {"findings": 2}, "fuzz_server": {"findings": 0}},
                    "total_findings": 2},
           "soak": {"frames_sent": 10, "device_alive_after": False, "hello_unchanged_after": True,
                    "inference_bit_exact_after": True, "wrong_answers": 0},
           "sweep": {"error": "RuntimeError: no gcc"}}
    errors, problems = robustness.verdict(res)
    assert errors == ["sweep could not measure: RuntimeError: no gcc"]
    assert problems == ["fuzz: 2 finding(s) in fuzz_frame", "soak: device_alive_after is false"]
    assert robustness.verdict({"fuzz": {"targets": {}, "total_findings": 0}}) == ([], [])
