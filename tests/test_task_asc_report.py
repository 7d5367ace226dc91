"""asc report logic on hand-made metrics: verdicts against the baseline, dips of the subset curve, the seen/unseen gap."""

from __future__ import annotations

from typing import Any

from edgekws.tasks.asc.report import curve_findings, device_findings, method_findings


def _acc(correct: int, n: int) -> dict[str, Any]:
    return {"correct": correct, "n": n, "accuracy": correct / n, "ci_low": 0.0, "ci_high": 1.0}


def _r(cw: float, lo: float, hi: float, p: float | None = None, seen: int = 50, unseen: int = 40) -> dict[str, Any]:
    r = {"classwise_accuracy": cw, "classwise_ci": [lo, hi], "seen": _acc(seen, 100), "unseen": _acc(unseen, 100)}
    if p is not None:
        r["vs_baseline_mcnemar_p"] = p
    return r


METRICS = {"seen_devices": ["a", "b"], "unseen_devices": ["s4"], "subsets": {
    "5": {"baseline": _r(0.50, 0.48, 0.52), "ddsc": _r(0.55, 0.53, 0.57, p=0.001), "entropy": _r(0.49, 0.47, 0.51, p=0.4)},
    "10": {"baseline": _r(0.40, 0.38, 0.42, seen=70, unseen=55), "ddsc": _r(0.56, 0.54, 0.58, p=1e-9),
           "entropy": _r(0.48, 0.46, 0.52, p=0.02)},
}}


def test_method_findings_use_mcnemar_for_the_verdict() -> None:
    text = " ".join(method_findings(METRICS, "D"))
    assert "split5 on D: baseline 50.0 % class-wise; ddsc 55.0 (+5.0 points, McNemar p = 0.001: better than" in text
    assert "entropy 49.0 (-1.0 points, McNemar p = 0.4: not separable from the baseline)" in text
    assert "entropy 48.0 (+8.0 points, McNemar p = 0.02: better than the baseline)" in text


def test_curve_findings_flag_only_separated_dips() -> None:
    found = curve_findings(METRICS)
    assert len(found) == 1 and found[0].startswith("baseline scores lower with more training data (split5 50.0 -> "
                                                   "split10 40.0")  # entropy's 49 -> 48 overlaps: not flagged


def test_device_findings_report_the_gap_at_the_largest_subset() -> None:
    (line,) = device_findings(METRICS)
    assert line.startswith("split10,") and "baseline 70.0 seen vs 55.0 unseen (+15.0 points)" in line
    assert device_findings({**METRICS, "unseen_devices": []})[0].startswith("The test split has no device unseen")
