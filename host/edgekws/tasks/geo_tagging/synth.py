"""Synthetic geo-tagged clips written in the metadata layout :mod:`.dataset` reads, with exact ground truth.

What makes the context matter: the catalogue holds four *confusable pairs*, two
events rendered by the same renderer over the same parameter range (a car horn and a
boat horn are the same harmonic tone; a church bell and a school bell the same
inharmonic decay; an ambulance and a factory siren the same rising sweep; cutlery and
a shopping trolley the same click train), so no audio model can tell the two apart
from the sound. What tells them apart is where the clip was recorded: each pair
member is frequent only where its home category (road / water, worship / education,
healthcare / industrial, food_drink / commercial) dominates the place. The other
six events have distinct sounds and depend on the place only weakly, so the context
alone cannot tag them. The place's context vector (POI counts per category) is drawn
noisily from the place: a ``context_noise`` fraction of the POIs are of random
categories, and the count of POIs itself varies.

Event renderers are the tagging-ctc catalogue's (:mod:`edgekws.tasks.tagging_ctc.synth`),
plus a bell written here. Every random draw is seeded by the config's seed and the
clip's index, so the same config writes the same files. ``synth_truth.json`` holds
per clip: the place (dominant, secondary category), the true context mixture, and each
event's name, onset/offset (samples) and gain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.audio import write_wav
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.geo_tagging.config import CONTEXT_CATEGORIES, SynthConfig
from edgekws.tasks.geo_tagging.dataset import AUDIO_DIR, METADATA, metadata_header
from edgekws.tasks.tagging_ctc.synth import (
    PEAK,
    event_envelope,
    render_am_tone,
    render_chirp,
    render_clicks,
    render_knock,
    render_noise_band,
    render_tone,
)

TRUTH = "synth_truth.json"
#: P(event) when its home category is the place's dominant / secondary / neither (pair members).
PAIR_RATE = (0.5, 0.15, 0.01)
#: P(event) for the distinct-sounding events when one of their homes is dominant / not: weak dependence.
SINGLE_RATE = (0.3, 0.15)
#: The true context mixture of a place: this share on its dominant category, the rest on its secondary.
DOMINANT_SHARE = 0.7


def _bell(n: int, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """A struck bell: inharmonic partials (ratios of a church bell's hum, prime, tierce, quint, nominal)
    decaying exponentially, higher partials faster."""
    f = float(rng.uniform(400.0, 650.0))
    decay = float(rng.uniform(0.25, 0.5))
    t = np.arange(n) / rate
    ratios = (0.5, 1.0, 1.2, 1.5, 2.0)
    x = sum(np.cos(2 * np.pi * f * r * t) * np.exp(-t * r / decay) / (1 + k) for k, r in enumerate(ratios))
    return np.asarray(x, np.float64), {"f_nominal": f, "decay_s": decay}


@dataclass(frozen=True)
class GeoEvent:
    """An event class: its label, its renderer (shared with its pair partner), and its home categories."""

    label: str
    render: Any  # (n, rate, rng) -> (audio, params)
    homes: tuple[str, ...]
    pair: str | None = None  # the label of the event that sounds the same


_HORN = render_tone(280.0, 420.0, 5)
_SIREN = render_chirp(True)

CATALOGUE: tuple[GeoEvent, ...] = (
    GeoEvent("car_horn", _HORN, ("road",), "boat_horn"),
    GeoEvent("boat_horn", _HORN, ("water",), "car_horn"),
    GeoEvent("church_bell", _bell, ("worship",), "school_bell"),
    GeoEvent("school_bell", _bell, ("education",), "church_bell"),
    GeoEvent("ambulance_siren", _SIREN, ("healthcare",), "factory_siren"),
    GeoEvent("factory_siren", _SIREN, ("industrial",), "ambulance_siren"),
    GeoEvent("cutlery", render_clicks, ("food_drink",), "shopping_trolley"),
    GeoEvent("shopping_trolley", render_clicks, ("commercial",), "cutlery"),
    GeoEvent("traffic_rumble", render_noise_band(100.0, 700.0), ("road", "transport")),
    GeoEvent("fountain", render_noise_band(3000.0, 6500.0), ("park", "water")),
    GeoEvent("birdsong", render_chirp(False), ("park", "residential")),
    GeoEvent("door_knock", render_knock, ("residential",)),
    GeoEvent("doorbell", render_tone(1800.0, 2600.0, 1), ("residential", "commercial")),
    GeoEvent("ticket_beep", render_am_tone, ("transport",)),
)
LABELS: tuple[str, ...] = tuple(e.label for e in CATALOGUE)


def confusable_pairs() -> list[tuple[str, str]]:
    """The pairs of events that sound the same, each once: ``[(car_horn, boat_horn), ...]``."""
    return [(e.label, e.pair) for e in CATALOGUE if e.pair is not None and LABELS.index(e.label) < LABELS.index(e.pair)]


def event_rates(dominant: str, secondary: str) -> np.ndarray:
    """P(each catalogue event occurs) in a place with this dominant and secondary category."""
    rates = []
    for e in CATALOGUE:
        if e.pair is not None:
            rates.append(PAIR_RATE[0] if dominant in e.homes else PAIR_RATE[1] if secondary in e.homes
                         else PAIR_RATE[2])
        else:
            rates.append(SINGLE_RATE[0] if dominant in e.homes else SINGLE_RATE[1])
    return np.asarray(rates)


def draw_place(cfg: SynthConfig, rng: np.random.Generator) -> dict[str, Any]:
    """A place: dominant and secondary categories, its true mixture, its noisy POI counts, a location."""
    k = len(CONTEXT_CATEGORIES)
    d, s = (int(i) for i in rng.choice(k, size=2, replace=False))
    mix = np.zeros(k)
    mix[d], mix[s] = DOMINANT_SHARE, 1.0 - DOMINANT_SHARE
    seen = (1.0 - cfg.context_noise) * mix + cfg.context_noise * rng.dirichlet(np.ones(k))
    counts = rng.multinomial(1 + int(rng.poisson(cfg.mean_pois - 1.0)), seen / seen.sum())
    return {"dominant": CONTEXT_CATEGORIES[d], "secondary": CONTEXT_CATEGORIES[s], "mixture": mix.tolist(),
            "poi_counts": [int(c) for c in counts], "latitude": float(rng.uniform(50.0, 54.0)),
            "longitude": float(rng.uniform(0.0, 10.0))}


def draw_events(place: dict[str, Any], cfg: SynthConfig, rng: np.random.Generator) -> list[int]:
    """Indices of the events heard in the place: each by its rate, then cut/filled to the allowed count
    (a fill draws by the same rates, so the context dependence holds for every clip)."""
    p = event_rates(place["dominant"], place["secondary"])
    chosen = [i for i in range(len(CATALOGUE)) if rng.random() < p[i]]
    if len(chosen) > cfg.max_events:
        chosen = sorted(int(i) for i in rng.choice(chosen, size=cfg.max_events, replace=False))
    while len(chosen) < cfg.min_events:
        rest = [i for i in range(len(CATALOGUE)) if i not in chosen]
        chosen = sorted([*chosen, int(rng.choice(rest, p=p[rest] / p[rest].sum()))])
    return chosen


def render_clip(events: list[int], cfg: SynthConfig, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """The clip's audio (background noise plus each event at a random place and gain) and each event's truth."""
    rate = cfg.sample_rate
    n = int(round(cfg.clip_seconds * rate))
    x = rng.standard_normal(n) * 10 ** (cfg.noise_dbfs / 20)
    truth = []
    for i in events:
        e = CATALOGUE[i]
        m = int(round(rng.uniform(cfg.min_event_s, cfg.max_event_s) * rate))
        y, params = e.render(m, rate, rng)
        y = y[:m] * event_envelope(len(y[:m]), rate)
        gain = float(10 ** (-rng.uniform(0.0, 6.0) / 20))
        y = gain * PEAK * y / max(float(np.abs(y).max()), 1e-12)
        onset = int(rng.integers(0, n - len(y) + 1))
        x[onset: onset + len(y)] += y
        truth.append({"event": e.label, "onset": onset, "offset": onset + len(y), "gain": gain, "params": params})
    return np.clip(x, -1.0, 1.0), truth


def generate(out: Path, cfg: SynthConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Write ``metadata.csv``, ``audio/<clip_id>.wav`` and ``synth_truth.json`` into ``out``."""
    out = Path(out)
    rows = [",".join(metadata_header(LABELS))]
    truth: dict[str, Any] = {}
    jobs = [("train", i) for i in range(cfg.n_train)] + [("test", i) for i in range(cfg.n_test)]
    for done, (split, i) in enumerate(jobs, start=1):
        rng = np.random.default_rng([cfg.seed, 0 if split == "train" else 1, i])
        place = draw_place(cfg, rng)
        events = draw_events(place, cfg, rng)
        audio, placed = render_clip(events, cfg, rng)
        clip_id = f"{split}_{i:05d}"
        write_wav(out / AUDIO_DIR / f"{clip_id}.wav", audio.astype(np.float32), cfg.sample_rate)
        hot = ["1" if k in events else "0" for k in range(len(CATALOGUE))]
        rows.append(",".join([clip_id, split, f"{place['latitude']:.5f}", f"{place['longitude']:.5f}", *hot,
                              *(str(c) for c in place["poi_counts"])]))
        truth[clip_id] = {**place, "events": placed}
        progress("generating clips", done, len(jobs))
    (out / METADATA).write_text("\n".join(rows) + "\n")
    (out / TRUTH).write_text(json.dumps(truth, indent=1) + "\n")
    return {"events": list(LABELS), "context_categories": list(CONTEXT_CATEGORIES), "train_clips": cfg.n_train,
            "test_clips": cfg.n_test, "confusable_pairs": [list(p) for p in confusable_pairs()]}
