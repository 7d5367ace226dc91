"""f0 metrics: mir_eval's melody scores behave as their definitions say on known contours, and contour flatness
catches what RPA cannot (a flickering octave, dropouts inside a note); multi-F0 and the interval helper."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekws.tasks.f0 import metrics as m
from edgekws.tasks.f0.dataset import Track
from edgekws.tasks.f0.features import frame_times

N = 200  # 2 s of 10 ms frames


def _truth() -> tuple[np.ndarray, np.ndarray]:
    """A 2 s melody at 10 ms: 220 Hz, a gap, then 330 Hz with 5.5 Hz vibrato (30 cents)."""
    t = frame_times(N)
    f = np.where(t < 0.8, 220.0, 0.0)
    vib = 330.0 * 2 ** (0.3 / 12 * np.sin(2 * np.pi * 5.5 * t))
    return t, np.where(t >= 1.0, vib, f)


def test_perfect_estimate_scores_one() -> None:
    t, f = _truth()
    s = m.melody_scores(t, f, f.copy())
    assert s["rpa"] == pytest.approx(1.0) and s["rca"] == pytest.approx(1.0) and s["oa"] == pytest.approx(1.0)
    assert s["voicing_false_alarm"] == pytest.approx(0.0) and s["flatness"] == pytest.approx(1.0)


def test_octave_error_is_wrong_pitch_right_chroma() -> None:
    t, f = _truth()
    s = m.melody_scores(t, f, 2.0 * f)  # planted: every voiced frame an octave up
    assert s["rpa"] == pytest.approx(0.0) and s["rca"] == pytest.approx(1.0)
    assert s["flatness"] == pytest.approx(1.0)  # a consistent octave error is still a flat contour


def test_fifty_cent_tolerance() -> None:
    t, f = _truth()
    assert m.melody_scores(t, f, f * 2 ** (40 / 1200))["rpa"] == pytest.approx(1.0)
    assert m.melody_scores(t, f, f * 2 ** (60 / 1200))["rpa"] == pytest.approx(0.0)


def test_flatness_sees_flicker_and_dropouts() -> None:
    t, f = _truth()
    flicker = f.copy()
    flicker[::2] *= 2.0  # every other frame an octave up: RPA 0.5, but the contour jumps at every step
    s = m.melody_scores(t, f, flicker)
    assert s["rpa"] == pytest.approx(0.5, abs=0.02) and s["flatness"] == pytest.approx(0.0)
    drop = f.copy()
    drop[20] = drop[120] = 0.0  # two one-frame dropouts inside notes: two in-note steps broken each
    in_note = np.sum((f[:-1] > 0) & (f[1:] > 0))
    assert m.flatness(t, f, drop) == pytest.approx(1.0 - 4 / in_note)
    # a note change in the truth is not an in-note step: the estimate may jump there
    assert np.isnan(m.flatness(t, np.zeros(N), f))


def test_multipitch_perfect_and_half() -> None:
    t = frame_times(N)
    f0 = np.stack([np.full(N, 220.0), np.full(N, 550.0)], 1)
    tr = Track("mix", None, t, f0)  # type: ignore[arg-type]
    both = [np.array([220.0, 550.0])] * N
    assert m.multipitch_scores(tr, both)["accuracy"] == pytest.approx(1.0)
    one = [np.array([220.0])] * N
    s = m.multipitch_scores(tr, one)
    assert s["precision"] == pytest.approx(1.0) and s["recall"] == pytest.approx(0.5)


def test_mean_ci_brackets_the_mean_and_drops_nan() -> None:
    r = m.mean_ci([0.2, 0.4, 0.6, float("nan")], seed=1)
    assert r["n"] == 3 and r["mean"] == pytest.approx(0.4)
    assert r["ci"][0] <= 0.4 <= r["ci"][1] and r["ci"][0] >= 0.2 and r["ci"][1] <= 0.6
    assert m.mean_ci([])["mean"] is None


def test_undefined_scores_become_none_for_json() -> None:
    t, f = _truth()
    s = m.melody_scores(t, np.zeros(N), f)  # nothing voiced in the truth: flatness undefined
    safe = m.json_safe({"stems": {"a": {"cnn": s}}, "n": [1.0, float("inf")]})
    assert safe["stems"]["a"]["cnn"]["flatness"] is None and safe["n"] == [1.0, None]
    json.dumps(safe, allow_nan=False)  # what write_json requires
    assert m.mean_ci([None, 0.5])["n"] == 1
