"""sed-ctc detection on hand-built frames: CTC spikes grown into events by the clustering stage (runs cut
between neighbouring spikes, bursts bridged, runs without a spike given to the nearer prototype), the
spikes-only ablation and the thresholded weak baseline."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.tasks.sed_ctc.detect import (
    Timing,
    activity,
    cluster_events,
    ctc_spikes,
    oracle_spikes,
    runs,
    spike_events,
    two_means_split,
    weak_events,
)
from edgekws.tasks.sed_ctc.metrics import Event

LABELS = ["low", "high", "burst"]
T = Timing(hop_s=0.01, win_s=0.02, ratio=4)  # input frame t starts at t*0.01 + 0.005 s; model frames: 4 input frames
BLANK = 3


def _clip(rng: np.random.Generator) -> np.ndarray:
    """100 input frames x 8 bands: background noise; 'low' (bands 0-3) at 10-30 and 70-80, 'high' (bands 4-7)
    at 30-51 (no gap after 'low': one run of activity holds both), a 'burst' of 2-frame bursts at 85, 90, 95."""
    f = rng.normal(0.0, 0.1, size=(100, 8))
    f[10:30, :4] += 3.0
    f[30:51, 4:] += 3.0
    f[70:80, :4] += 3.0
    for a in (85, 90, 95):
        f[a:a + 2, 2:6] += 3.0
    return f


def _posteriors(spikes: dict[int, int]) -> np.ndarray:
    """25 model frames, blank everywhere except one-frame spikes {model frame: class}."""
    p = np.full((25, 4), 0.02)
    p[:, BLANK] = 0.94
    for frame, c in spikes.items():
        p[frame] = 0.02
        p[frame, c] = 0.94
    return p


def test_runs_and_two_means() -> None:
    assert runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 3), (4, 5)]
    assert runs(np.zeros(3, bool)) == []
    v = np.r_[np.full(30, 1.0), np.full(10, 9.0)]
    assert 1.0 < two_means_split(v) < 9.0
    act = activity(_clip(np.random.default_rng(0)), 0.1)
    assert runs(act) == [(10, 51), (70, 80), (85, 87), (90, 92), (95, 97)]


def test_ctc_spikes_at_highest_posterior() -> None:
    p = _posteriors({4: 0, 10: 1})
    p[5] = [0.6, 0.0, 0.0, 0.4]  # the 'low' run is frames 4-5, its highest posterior at frame 4
    assert [(s.label, s.frame) for s in ctc_spikes(p, BLANK)] == [(0, 4), (1, 10)]


def test_clustering_grows_spikes_into_events() -> None:
    f = _clip(np.random.default_rng(1))
    # spikes inside each event: low @ model frame 4 (input 16-19), high @ 10 (40-43), low @ 18 (72-75),
    # burst @ 22 (88-91: between two bursts, in the background)
    events = cluster_events(_posteriors({4: 0, 10: 1, 18: 0, 22: 2}), f, BLANK, LABELS, T, bridge_s=0.05,
                            quiet_fraction=0.1)
    got = [(e.label, round((e.onset - 0.005) / 0.01), round((e.offset - 0.005) / 0.01)) for e in events]
    # 'low' and 'high' share one run of activity: it is cut where the frames switch prototype (frame 30)
    assert got == [("low", 10, 30), ("high", 30, 51), ("low", 70, 80), ("burst", 85, 97)]
    assert events[0].onset == pytest.approx(0.105) and events[0].offset == pytest.approx(0.305)
    # without bridging the bursts stay apart and the spike keeps only the piece holding it (90-92)
    apart = cluster_events(_posteriors({4: 0, 10: 1, 18: 0, 22: 2}), f, BLANK, LABELS, T, bridge_s=0.0,
                           quiet_fraction=0.1)
    assert [(round((e.onset - 0.005) / 0.01), round((e.offset - 0.005) / 0.01)) for e in apart][-1] == (90, 92)


def test_run_without_a_spike_goes_to_the_nearer_prototype() -> None:
    f = _clip(np.random.default_rng(2))
    # no spike for the event at 70-80; the spikes before and after it are 'high' (model frame 10) and 'burst'
    # (22). As 'low' (bands 0-3) it is nearer the burst's prototype (bands 2-5) than the high one (bands 4-7)
    spikes = {4: 0, 10: 1, 22: 2}
    events = cluster_events(_posteriors(spikes), f, BLANK, LABELS, T, bridge_s=0.04, quiet_fraction=0.1)
    got = [(e.label, round((e.onset - 0.005) / 0.01), round((e.offset - 0.005) / 0.01)) for e in events]
    assert got == [("low", 10, 30), ("high", 30, 51), ("burst", 85, 97)]  # 5-frame gap > bridge: left out
    wide = cluster_events(_posteriors(spikes), f, BLANK, LABELS, T, bridge_s=0.2, quiet_fraction=0.1)
    got = [(e.label, round((e.onset - 0.005) / 0.01), round((e.offset - 0.005) / 0.01)) for e in wide]
    assert got == [("low", 10, 30), ("high", 30, 51), ("burst", 70, 97)]
    # the same run made 'high'-like joins the 'high' spike instead
    f[70:80, :4] -= 3.0
    f[70:80, 4:] += 3.0
    wide = cluster_events(_posteriors(spikes), f, BLANK, LABELS, T, bridge_s=0.2, quiet_fraction=0.1)
    got = [(e.label, round((e.onset - 0.005) / 0.01), round((e.offset - 0.005) / 0.01)) for e in wide]
    assert got == [("low", 10, 30), ("high", 30, 80), ("burst", 85, 97)]
    assert cluster_events(_posteriors({}), f, BLANK, LABELS, T, 0.05, 0.1) == []


def test_spikes_only_ablation_and_weak_baseline() -> None:
    spikes = spike_events(_posteriors({4: 0, 10: 1}), BLANK, LABELS, T)
    assert [(e.label, round((e.onset - 0.005) / 0.01), round((e.offset - 0.005) / 0.01)) for e in spikes] == \
        [("low", 16, 20), ("high", 40, 44)]
    probs = np.zeros((25, 3))
    probs[3:8, 0] = 0.9
    probs[12, 1] = 0.9  # a one-frame blip: the 3-frame median filter removes it
    probs[5, 0] = 0.4  # a one-frame dip inside an event: filled
    weak = weak_events(probs, LABELS, T, threshold=0.5, median_frames=3)
    assert [(e.label, round((e.onset - 0.005) / 0.01), round((e.offset - 0.005) / 0.01)) for e in weak] == \
        [("low", 12, 32)]
    raw = weak_events(probs, LABELS, T, threshold=0.5, median_frames=1)
    assert len(raw) == 3


def test_oracle_spikes_sit_at_true_event_centres() -> None:
    # 'high' 0.305-0.515 s: centre 0.41 s = input frame 40.5 -> model frame 10; 'low' 0.105-0.305 s -> frame 4
    spikes = oracle_spikes([Event("high", 0.305, 0.515), Event("low", 0.105, 0.305)], LABELS, T)
    assert [(s.label, s.frame) for s in spikes] == [(0, 4), (1, 10)]
