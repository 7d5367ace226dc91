"""Table-driven bad-input sweep over the CLI (tests/sweep_world.py holds the table).

Every case must end with ONE line ``error: ...`` on stderr, a non-zero exit, no
traceback, and nothing half-written in its output directory (a partial report
is fine only when it is complete JSON). Inputs accepted by design (an 8 kHz WAV
is resampled) must succeed. Known bugs in other areas' code are strict xfails
naming the fix, so they flip to failures once fixed.

The default run goes through ``edgekws.cli.main`` in-process (one import);
the slow run repeats the whole table as ``.venv/bin/edgekws`` subprocesses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sweep_world as sw
from bench_fixtures import mfcc_bundle, tiny_bundle


@pytest.fixture(scope="module")
def subs(tmp_path_factory: pytest.TempPathFactory, host_cc: str) -> Iterator[dict[str, str]]:
    base = tmp_path_factory.getbasetemp()
    bundle = tiny_bundle(base)
    world = sw.make_world(tmp_path_factory.mktemp("sweep_world"), bundle)
    values = {"w": str(world), "b": str(bundle), "m": str(mfcc_bundle(base))}
    with sw.devices(bundle, tmp_path_factory.mktemp("sweep_devices"), host_cc) as urls:
        yield {**values, **urls}


def _param(case: sw.Case, slow: bool = False) -> object:
    marks = [pytest.mark.slow] if slow else []
    if case.bug:
        marks.append(pytest.mark.xfail(strict=True, reason=case.bug))
    return pytest.param(case, id=case.id, marks=marks)


def _assert_clean(outcome: sw.Outcome) -> None:
    assert outcome.clean, f"{outcome.case}: {outcome.problems}\nstderr: {outcome.stderr[-1500:]}"


@pytest.mark.parametrize("case", [_param(c) for c in sw.cases()])
def test_bad_input_is_handled_cleanly(case: sw.Case, subs: dict[str, str], tmp_path: Path) -> None:
    _assert_clean(sw.run_inprocess(case, subs, tmp_path))


@pytest.mark.parametrize("case", [_param(c, slow=True) for c in sw.cases()])
def test_bad_input_is_handled_cleanly_as_subprocess(case: sw.Case, subs: dict[str, str], tmp_path: Path) -> None:
    _assert_clean(sw.run_subprocess(case, subs, tmp_path))


def test_table_covers_the_issue() -> None:
    """Each kind of bad input the hardening issue names has at least one case."""
    ids = " ".join(c.id for c in sw.cases())
    for kind in ("wav-corrupt", "wav-truncated", "rate", "nan", "dataset-empty", "missing-split", "tflite",
                 "bundle-json", "schema-version", "too-big", "board-unknown", "port-does-not-exist",
                 "device-stops-mid-run"):
        assert kind in ids, kind


def test_sweep_sees_a_broken_command(subs: dict[str, str], tmp_path: Path) -> None:
    """The checker is not vacuous: an accepted input run as if it were bad is reported."""
    fake = sw.Case("accepted-as-bad", "audio", ("frontend", "features", "{w}/good.wav", "-o", "f.npy"))
    out = sw.run_inprocess(fake, subs, tmp_path)
    assert not out.clean and "exit 0" in out.problems and any("left files" in p for p in out.problems)
