"""Scoring detections against ground truth on hand-made cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekws.errors import DatasetError
from edgekws.stream import Detection, load_detections, score_detections
from edgekws.stream.score import write_json_atomic

TRUTH = {
    "format": "edgekws-stream-truth", "version": 1, "duration_s": 60.0,
    "events": [
        {"label": "yes", "keyword": True, "start_ms": 1000, "end_ms": 1500},
        {"label": "no", "keyword": True, "start_ms": 5000, "end_ms": 5400},
        {"label": "cat", "keyword": False, "start_ms": 9000, "end_ms": 9500},
        {"label": "up", "keyword": True, "start_ms": 20000, "end_ms": 20300},
    ],
}


def det(t: int, name: str) -> Detection:
    return Detection(time_ms=t, hop=t // 20, label=0, name=name, score=1)


def test_hits_misses_false_alarms_and_delay() -> None:
    dets = [
        det(1700, "yes"),   # hit, delay 200
        det(1900, "yes"),   # second detection of the same word: false alarm (not a confusion)
        det(5300, "go"),    # wrong label on "no": false alarm and confusion
        det(5800, "no"),    # hit, delay 400
        det(9400, "up"),    # fires on a distractor: false alarm
        det(22000, "up"),   # 1700 ms after "up" ended: outside the 1000 ms tolerance -> miss + false alarm
    ]
    s = score_detections(dets, TRUTH, tolerance_ms=1000)
    assert (s.num_keywords, s.hits, s.misses) == (3, 2, 1)
    assert (s.false_alarms, s.confusions) == (4, 1)
    assert s.hit_rate == pytest.approx(2 / 3)
    assert s.false_alarms_per_hour == pytest.approx(4 * 60)
    assert s.mean_delay_ms == pytest.approx(300) and s.median_delay_ms == pytest.approx(300)
    # a wider tolerance turns the late "up" into a hit
    assert score_detections(dets, TRUTH, tolerance_ms=2000).hits == 3


def test_detection_before_word_end_has_negative_delay_and_order_does_not_matter() -> None:
    s = score_detections([det(5800, "no"), det(1200, "yes")], TRUTH)
    assert s.hits == 2 and s.false_alarms == 0
    assert s.mean_delay_ms == pytest.approx((-300 + 400) / 2)


def test_no_detections() -> None:
    s = score_detections([], TRUTH)
    assert s.hits == 0 and s.hit_rate == 0.0 and s.false_alarms == 0 and s.mean_delay_ms is None


def test_detections_file_round_trip_and_errors(tmp_path: Path) -> None:
    p = write_json_atomic(tmp_path / "d.json", {"detections": [det(1700, "yes").to_dict()]})
    assert load_detections(p) == [det(1700, "yes")]
    (tmp_path / "bad.json").write_text('{"detections": [{"x": 1}]}')
    with pytest.raises(DatasetError):
        load_detections(tmp_path / "bad.json")
    with pytest.raises(DatasetError):
        load_detections(tmp_path / "missing.json")
    with pytest.raises(DatasetError):
        score_detections([], TRUTH, tolerance_ms=-1)
