"""pcg-seg pieces on hand-made arrays: persistent homology, the constrained decoder, the S1/S2 F1."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from edgekws.tasks.pcg_seg import decode, metrics, topo


def _ripser_h0(x: np.ndarray) -> np.ndarray:
    """ripser's lower-star H0 of x on a path graph (sparse distance matrix: vertex values on the diagonal)."""
    from ripser import ripser

    n = len(x)
    i = np.arange(n - 1)
    d = sparse.coo_matrix((np.concatenate([np.maximum(x[i], x[i + 1]), x]),
                           (np.concatenate([i, np.arange(n)]), np.concatenate([i + 1, np.arange(n)]))),
                          shape=(n, n)).tocsr()
    dgm = ripser(d, maxdim=0, distance_matrix=True)["dgms"][0]
    return dgm[np.isfinite(dgm[:, 1]) & (dgm[:, 1] > dgm[:, 0])]


def _sorted(b: np.ndarray) -> np.ndarray:
    b = np.round(b, 9)
    return b[np.lexsort((b[:, 1], b[:, 0]))]


def test_h0_two_minima_has_one_bar_of_known_persistence() -> None:
    # Two valleys (0.0 and 0.3) separated by a ridge at 1.0: the shallower valley is born at 0.3 and
    # dies at 1.0 when it meets the deeper one (elder rule); the deeper one never dies.
    x = np.array([2.0, 1.0, 0.0, 0.5, 1.0, 0.6, 0.3, 0.8, 2.0])
    bars = topo.h0_line(x)
    assert bars.shape == (1, 2) and np.allclose(bars[0], [0.3, 1.0])
    # Superlevel filtration (peaks, i.e. sublevel of -x): the ridge (1.0) merges with the right end at the
    # lower of its two saddles' heights, 0.3 -> lifetime 0.7; the two ends (2.0) meet at 0.0 -> lifetime 2.0.
    life = np.sort(np.diff(topo.h0_line(-x), axis=1).ravel())
    assert np.allclose(life, [0.7, 2.0])
    s = topo.summarise(bars, float(np.ptp(x)))
    assert s[0] == pytest.approx(0.7 / 2.0) and s[1] == pytest.approx(0.35)


def test_h0_matches_ripser_on_random_signals() -> None:
    rng = np.random.default_rng(3)
    for trial in range(150):
        x = rng.standard_normal(int(rng.integers(2, 40)))
        if trial % 3 == 0:
            x = np.round(x * 2) / 2  # ties
        ours, lib = topo.h0_line(x), _ripser_h0(x)
        assert ours.shape == lib.shape and np.allclose(_sorted(ours), _sorted(lib)), x


def test_h1_of_a_delay_embedded_sine_has_one_long_bar() -> None:
    t = np.arange(80)
    ring = topo.h1_delay(np.sin(2 * np.pi * t / 20), dim=2, delay=5)  # quarter-period delay: a circle
    noise = topo.h1_delay(np.random.default_rng(0).standard_normal(80) * 0.05, dim=2, delay=5)
    life = np.sort(ring[:, 1] - ring[:, 0])[::-1]
    assert life[0] > 1.0 and (len(life) == 1 or life[1] < 0.3 * life[0])
    assert (noise[:, 1] - noise[:, 0]).max(initial=0) < 0.1


def test_frame_features_scale_invariant_and_shaped() -> None:
    e = np.random.default_rng(1).standard_normal((2, 60))
    cfg = topo.TopoConfig(half_windows=(4,), h1_half_window=8, h1_hop=2)
    f = topo.frame_features(e, cfg)
    assert f.shape == (60, cfg.n_features(2))
    assert np.allclose(topo.frame_features(3.0 * e + 1.0, cfg), f, atol=1e-4)


DUR = decode.Durations(dmin=(3, 5, 3, 8), dmax=(6, 10, 6, 20))


def _cycle_states(n_cycles: int, lengths: tuple[int, int, int, int] = (4, 7, 4, 12)) -> np.ndarray:
    return np.concatenate([np.full(n, code) for _ in range(n_cycles) for code, n in zip(decode.CYCLE, lengths,
                                                                                         strict=True)])


def test_viterbi_recovers_clean_cycle_and_never_breaks_order() -> None:
    truth = _cycle_states(5)
    em = np.log(np.full((len(truth), 4), 0.05))
    em[np.arange(len(truth)), truth - 1] = np.log(0.85)
    assert np.array_equal(decode.viterbi(em, DUR), truth)
    rng = np.random.default_rng(0)
    for _ in range(20):  # random emissions: whatever the scores, the path obeys the cycle and the durations
        path = decode.viterbi(rng.standard_normal((int(rng.integers(1, 150)), 4)) * 3, DUR)
        assert decode.violations(path, DUR) == []


def test_viterbi_overrules_a_skipped_state() -> None:
    truth = _cycle_states(4)
    em = np.log(np.full((len(truth), 4), 0.05))
    em[np.arange(len(truth)), truth - 1] = np.log(0.85)
    s2 = np.flatnonzero(truth == 3)[4:8]  # the second S2 scored as diastole: argmax skips S2
    em[s2] = np.log([0.05, 0.05, 0.1, 0.8])
    argmax = em.argmax(1) + 1
    assert decode.violations(argmax, DUR)
    assert decode.violations(decode.viterbi(em, DUR), DUR) == []


def test_violations_catch_planted_order_and_duration_errors() -> None:
    good = _cycle_states(3)
    assert decode.violations(good, DUR) == []
    bad = good.copy()
    bad[bad == 3] = 4  # S2 removed: systole -> diastole
    assert any("systole -> diastole" in v for v in decode.violations(bad, DUR))
    short = np.concatenate([np.full(4, 1), np.full(2, 2), np.full(4, 3), np.full(12, 4), np.full(4, 1)])
    assert any("systole lasts 2" in v for v in decode.violations(short, DUR))


def test_durations_from_annotations_span_the_complete_segments() -> None:
    seqs = [np.concatenate([np.zeros(5, int), _cycle_states(3, (4, 7, 4, 12)), _cycle_states(2, (5, 8, 5, 14))])]
    d = decode.durations_from_annotations(seqs, margin=0.0, q=0.0)
    assert d.dmin == (4, 7, 4, 12) and d.dmax == (5, 8, 5, 14)


def test_f1_within_tolerance() -> None:
    times = np.arange(100) * 0.02 + 0.025
    true = _cycle_states(3)[:100]
    true = np.pad(true, (0, 100 - len(true)), constant_values=0)
    c = metrics.record_counts(true, true, times, 0.06)
    n_sounds = len(metrics.sound_centres(true, 1, times)) + len(metrics.sound_centres(true, 3, times))
    assert (c.tp, c.fp, c.fn) == (n_sounds, 0, 0) and c.f1 == 1.0 and c.accuracy == 1.0
    shifted = np.roll(true, 2)  # 40 ms late: inside +-60 ms
    assert metrics.record_counts(shifted, true, times, 0.06).tp == n_sounds
    late = np.roll(true, 4)  # 80 ms late: every sound missed and falsely detected
    c = metrics.record_counts(late, true, times, 0.06)
    assert c.tp == 0 and c.f1 == 0.0
    # Swapping S1 and S2 labels: centres are right, sounds are wrong.
    swapped = np.where(true == 1, 3, np.where(true == 3, 1, true))
    assert metrics.record_counts(swapped, true, times, 0.06).tp == 0


def test_match_is_one_to_one() -> None:
    assert metrics.match(np.array([1.0, 1.01, 1.02]), np.array([1.0]), 0.06) == 1
    assert metrics.match(np.array([1.0, 2.0]), np.array([1.03, 2.05]), 0.06) == 2


def test_bootstrap_interval_contains_the_point() -> None:
    per = [metrics.Counts(tp=int(t), fp=1, fn=1, frames_correct=9, frames=10) for t in range(5, 15)]
    total = metrics.Counts()
    for c in per:
        total.add(c)
    lo, hi = metrics.bootstrap_ci(per, "f1")
    assert lo <= total.f1 <= hi and hi - lo > 0


def test_configs_refuse_what_cannot_run() -> None:
    from edgekws.errors import ConfigError
    from edgekws.tasks.pcg_seg.config import TrainConfig

    with pytest.raises(ConfigError, match="h1_dim"):
        topo.TopoConfig(h1_dim=1)
    with pytest.raises(ConfigError, match="inputs must be"):
        TrainConfig(inputs=("mfcc",))
    with pytest.raises(ConfigError, match="fractions"):
        TrainConfig(fractions=(0, 100))
