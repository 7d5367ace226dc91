"""geo-tagging metrics: AP equals sklearn's (ties included), mAP skips events without positives, the
bootstrap intervals bracket the point and the paired difference sees a real gap."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score

from edgekws.tasks.geo_tagging import metrics as m


def test_average_precision_equals_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(2, 80))
        y = rng.random(n) < rng.uniform(0.05, 0.6)
        y[int(rng.integers(n))] = True
        score = np.round(rng.random(n), int(rng.integers(1, 3)))  # rounding makes ties
        assert abs(m.average_precision(y, score) - average_precision_score(y, score)) < 1e-12


def test_map_sanity() -> None:
    truth = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    assert m.mean_ap(truth, truth + 0.0) == 1.0  # perfect ranking
    # the third event has no positive clip: its AP is undefined and not averaged in as 0
    per = m.class_ap(truth, truth + 0.0)
    assert np.isnan(per[2]) and m.mean_ap(truth, truth[:, ::-1] * 0.5 + 0.1) == np.nanmean(
        m.class_ap(truth, truth[:, ::-1] * 0.5 + 0.1))
    # both negatives ranked above both positives: AP of event 0 = mean precision at ranks 3 and 4
    worst = np.array([[0.2, 0, 0], [0.9, 0, 0], [0.1, 0, 0], [0.8, 0, 0]])
    assert np.isclose(m.class_ap(truth, worst)[0], np.mean([1 / 3, 2 / 4]))
    # constant scores: AP is the positive rate
    assert np.isclose(m.class_ap(truth, np.zeros((4, 3)))[1], 0.5)


def test_bootstrap_intervals() -> None:
    rng = np.random.default_rng(1)
    truth = (rng.random((200, 5)) < 0.3).astype(int)
    good = truth + rng.normal(0, 0.4, truth.shape)
    bad = truth + rng.normal(0, 1.5, truth.shape)
    point = m.mean_ap(truth, good)
    lo, hi = m.bootstrap_map(truth, good, n_boot=100)
    assert lo < point < hi and hi - lo < 0.2
    # the interval of a subset of events (the confusable pairs) is that of those columns alone
    mixed = np.c_[good[:, :2], bad[:, 2:]]
    sub = m.bootstrap_map(truth, mixed, n_boot=100, columns=[0, 1])
    assert sub == m.bootstrap_map(truth[:, :2], good[:, :2], n_boot=100)
    assert sub[0] > m.bootstrap_map(truth, mixed, n_boot=100)[1]  # the well-scored events alone
    d, dlo, dhi = m.bootstrap_map_difference(truth, good, bad, n_boot=100)
    assert np.isclose(d, point - m.mean_ap(truth, bad)) and 0 < dlo < d < dhi
    d0, lo0, hi0 = m.bootstrap_map_difference(truth, good, good, n_boot=20)
    assert d0 == lo0 == hi0 == 0.0  # the same scores on the same resampled clips: no difference at all
