"""sed-ctc metrics: segment-based F1 / error rate on a hand-computed fixture, our per-clip counts equal
sed_eval's totals on random event lists, and the bootstrap interval holds the point figure."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.tasks.sed_ctc.metrics import (
    Event,
    bootstrap,
    evaluate_events,
    scores,
    sed_eval_scores,
    segment_counts,
)

LABELS = ["dog", "bell"]
# Worked by hand, 1 s segments over a 4 s clip:
#   reference: dog 0.5-1.7 s -> segments 0, 1; bell 2.0-2.4 s -> segment 2
#   estimate:  dog 0.2-0.9 s -> segment 0;     dog 2.1-2.3 s -> segment 2
#   segment 0: dog/dog -> TP; segment 1: dog/- -> FN, D; segment 2: bell/dog -> FP + FN, S; segment 3 empty
#   TP 1, FP 1, FN 2, S 1, D 1, I 0, N 3: F1 = 2/(2+1+2) = 0.4, P = 1/2, R = 1/3, ER = (1+1+0)/3 = 2/3
REF = [Event("dog", 0.5, 1.7), Event("bell", 2.0, 2.4)]
EST = [Event("dog", 0.2, 0.9), Event("dog", 2.1, 2.3)]


def test_hand_computed_fixture() -> None:
    counts = segment_counts(REF, EST, LABELS, 1.0, 4.0)
    assert counts.tolist() == [1, 1, 2, 1, 1, 0, 3]
    s = scores(counts)
    assert s["f1"] == pytest.approx(0.4) and s["precision"] == pytest.approx(0.5)
    assert s["recall"] == pytest.approx(1 / 3) and s["error_rate"] == pytest.approx(2 / 3)
    assert s["substitution_rate"] == pytest.approx(1 / 3) and s["insertion_rate"] == 0.0
    # an extra estimate in the empty segment 3 is an insertion: ER = (1 + 1 + 1) / 3 = 1
    s2 = scores(segment_counts(REF, [*EST, Event("bell", 3.2, 3.5)], LABELS, 1.0, 4.0))
    assert s2["error_rate"] == pytest.approx(1.0) and s2["insertion_rate"] == pytest.approx(1 / 3)
    # an event ending exactly on a segment edge does not reach into the next segment
    assert segment_counts([Event("dog", 0.0, 1.0)], [Event("dog", 1.0, 2.0)], LABELS, 1.0, 2.0).tolist() == \
        [0, 1, 1, 0, 1, 1, 1]


def test_sed_eval_agrees_on_fixture() -> None:
    ref = sed_eval_scores([REF], [EST], LABELS, 1.0, 4.0)
    assert ref["f1"] == pytest.approx(0.4) and ref["error_rate"] == pytest.approx(2 / 3)


def _random_events(rng: np.random.Generator, labels: list[str], length: float) -> list[Event]:
    out = []
    for _ in range(int(rng.integers(0, 5))):
        a = float(np.round(rng.uniform(0, length - 0.1), int(rng.integers(1, 4))))
        b = float(min(length, np.round(a + rng.uniform(0.05, 1.2), int(rng.integers(1, 4)))))
        out.append(Event(labels[int(rng.integers(len(labels)))], a, max(b, a + 0.01)))
    return out


@pytest.mark.parametrize("resolution", [1.0, 0.2, 0.1])
def test_counts_equal_sed_eval_on_random_lists(resolution: float) -> None:
    rng = np.random.default_rng(int(resolution * 10))
    labels = ["a", "b", "c"]
    refs = [_random_events(rng, labels, 4.0) or [Event("a", 0.3, 0.8)] for _ in range(40)]
    ests = [_random_events(rng, labels, 4.0) for _ in range(40)]
    res = evaluate_events(refs, ests, labels, resolution, 4.0)  # raises if our counts disagree with sed_eval
    counts = np.sum([segment_counts(r, e, labels, resolution, 4.0) for r, e in zip(refs, ests, strict=True)], axis=0)
    ours = scores(counts)
    for key in ("f1", "precision", "recall", "error_rate", "substitution_rate", "deletion_rate", "insertion_rate"):
        assert ours[key] == pytest.approx(res[key], abs=1e-12), key
    lo, hi = res["f1_ci"]
    assert lo <= res["f1"] <= hi and hi - lo > 0
    lo, hi = res["error_rate_ci"]
    assert lo <= res["error_rate"] <= hi


def test_bootstrap_interval_narrows_with_more_clips() -> None:
    one = segment_counts(REF, EST, LABELS, 1.0, 4.0)
    few, many = bootstrap(np.stack([one, [2, 0, 0, 0, 0, 0, 2]] * 5)), bootstrap(np.stack([one, [2, 0, 0, 0, 0, 0, 2]] * 200))
    assert few["f1"][1] - few["f1"][0] > many["f1"][1] - many["f1"][0] > 0


def test_a_detector_that_fires_nowhere_scores_0_and_no_reference_is_an_error() -> None:
    """CI once trained a tiny model that detected nothing: sed_eval says F1 nan, the run must still report."""
    import json

    from edgekws.errors import DatasetError

    res = evaluate_events([REF, REF], [[], []], LABELS, 1.0, 4.0)
    assert (res["f1"], res["precision"], res["recall"], res["classwise_f1"]) == (0.0, 0.0, 0.0, 0.0)
    assert res["error_rate"] == pytest.approx(1.0)  # every reference segment deleted
    json.dumps(res, allow_nan=False)  # metrics.json is strict JSON
    with pytest.raises(DatasetError, match="no reference events"):
        evaluate_events([[], []], [EST, []], LABELS, 1.0, 4.0)
