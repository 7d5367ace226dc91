"""Synthetic acoustic scenes written in the DCASE 2024 Task 1 layout, with exact ground truth.

What makes a clip, in order (every random draw seeded by the config's seed and the
clip's place in the dataset, so the same config writes the same files):

1. **Scene**: a mixture of scene-typical sources (:data:`SCENE_MIX`: traffic rumble,
   engine harmonics, speech-like babble, bird chirps, footsteps, chimes, rail squeal and
   clacks, wind, ventilation hum, music, water), each at the scene's level plus a
   per-location offset and a per-clip jitter, sometimes absent; indoor scenes get a
   room reverberation of their own length. Scenes share sources (metro and tram both
   have rails, public square and pedestrian street both have steps and voices), so
   they are confusable the way real ones are.
2. **City**: each city colours all its recordings (a spectral tilt, a resonance,
   a faint city-typical tone), slightly varied per location. This is what the
   City2Scene teacher can learn from city labels.
3. **Device**: each device has a smooth frequency response (a few bumps on a log
   frequency axis, band limits for the phones), a gain and a noise floor. A is
   nearly flat; S4-S6 are drawn from the same family but occur only in test.

The scene audio of a segment is rendered once and then "recorded" by each of its
devices, so parallel recordings differ only by the device (test segments are
recorded by all nine). ``synth_truth.json`` holds every file's scene, city,
location, device, source levels and the device and city parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.audio import write_wav
from edgekws.tasks.asc.config import CITIES, DEVICES, SCENES, SEEN_DEVICES, SUBSETS, SynthConfig
from edgekws.tasks.asc.dataset import META, SPLIT_DIR, TEST_CSV, split_csv
from edgekws.tasks.base import ProgressFn, no_progress

TRUTH = "synth_truth.json"
LOCATION_BASE = 1000  # TAU location ids are numbers like 1000, 1001, ...

Source = Callable[[int, int, np.random.Generator], np.ndarray]


def _unit(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x * x)))
    return x / rms if rms > 0 else x


def _band_noise(n: int, sr: int, rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sr)
    spec[(f < lo) | (f > min(hi, sr / 2))] = 0.0
    return _unit(np.fft.irfft(spec, n))


def _envelope(n: int, sr: int, rng: np.random.Generator, rate: float, depth: float) -> np.ndarray:
    t = np.arange(n) / sr
    return 1.0 - depth * 0.5 * (1.0 + np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)))


def _rumble(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return _band_noise(n, sr, rng, 20, 250) * _envelope(n, sr, rng, rng.uniform(0.2, 0.6), 0.5)


def _engine(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    f0 = rng.uniform(35, 90) * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    return _unit(sum(np.cos(h * phase) / h for h in range(1, 9)))


def _babble(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    for _ in range(4):
        lo = rng.uniform(250, 600)
        v = _band_noise(n, sr, rng, lo, lo * rng.uniform(3, 6))
        syll = _envelope(n, sr, rng, rng.uniform(3, 6), 1.0) ** 2
        out += v * syll
    return _unit(out)


def _birds(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    hi = min(7000.0, 0.45 * sr)
    for _ in range(rng.integers(2, 6)):
        length = int(rng.uniform(0.05, 0.15) * sr)
        start = int(rng.integers(0, max(1, n - length)))
        f = np.linspace(rng.uniform(2500, hi), rng.uniform(2500, hi), length)
        seg = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.hanning(length)
        out[start:start + length] += seg[: n - start]
    return _unit(out + 1e-3 * rng.standard_normal(n))


def _clicks(n: int, sr: int, rng: np.random.Generator, lo: float, hi: float, period: tuple[float, float],
            decay_s: float) -> np.ndarray:
    out = np.zeros(n)
    burst = int(0.03 * sr)
    shape = np.exp(-np.arange(burst) / (decay_s * sr))
    pos = int(rng.uniform(0, period[1]) * sr)
    while pos < n:
        seg = _band_noise(burst, sr, rng, lo, hi) * shape
        out[pos:pos + burst] += seg[: n - pos]
        pos += int(rng.uniform(*period) * sr)
    return _unit(out + 1e-3 * rng.standard_normal(n))


def _steps(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return _clicks(n, sr, rng, 60, 1500, (0.35, 0.7), 0.006)


def _chime(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    f = rng.choice([523.0, 587.0, 659.0, 784.0, 880.0, 988.0], size=2, replace=False)
    start = rng.uniform(0, max(0.01, n / sr - 0.4))
    env = np.where(t >= start, np.exp(-(t - start) / 0.25), 0.0)
    return _unit((np.sin(2 * np.pi * f[0] * t) + np.sin(2 * np.pi * f[1] * t)) * env + 1e-3 * rng.standard_normal(n))


def _rail(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    f = rng.uniform(2000, min(4000, 0.4 * sr)) * (1 + 0.02 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    squeal = np.sin(2 * np.pi * np.cumsum(f) / sr) * _envelope(n, sr, rng, rng.uniform(0.3, 1.0), 0.8)
    clack = _clicks(n, sr, rng, 100, 3000, (0.5, 0.9), 0.01)
    return _unit(0.5 * _unit(squeal) + clack + 0.7 * _band_noise(n, sr, rng, 300, 3000))


def _wind(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return _band_noise(n, sr, rng, 80, 1500) * _envelope(n, sr, rng, rng.uniform(0.1, 0.4), 0.9)


def _hvac(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    mains = rng.choice([50.0, 60.0])
    hum = sum(np.sin(2 * np.pi * mains * h * t) / h for h in (1, 2, 3))
    return _unit(_band_noise(n, sr, rng, 100, 600) + 0.5 * hum)


def _music(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    root = rng.uniform(110, 330)
    out = sum(np.sin(2 * np.pi * root * r * h * t) / h for r in (1.0, 1.26, 1.5) for h in (1, 2, 3))
    return _unit(out * _envelope(n, sr, rng, rng.uniform(1.5, 3.0), 0.6))


def _water(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return _band_noise(n, sr, rng, 1000, 7500)


SOURCES: dict[str, Source] = {
    "rumble": _rumble, "engine": _engine, "babble": _babble, "birds": _birds, "steps": _steps, "chime": _chime,
    "rail": _rail, "wind": _wind, "hvac": _hvac, "music": _music, "water": _water,
}

#: Each scene's sources and their levels in dB (relative; the clip is normalised afterwards).
SCENE_MIX: dict[str, dict[str, float]] = {
    "airport": {"babble": 0, "chime": -6, "hvac": -3, "steps": -8, "rumble": -10},
    "bus": {"engine": 0, "rumble": -3, "babble": -10, "chime": -16},
    "metro": {"rail": 0, "rumble": -2, "engine": -8, "babble": -12},
    "metro_station": {"rail": -6, "babble": -3, "chime": -6, "steps": -6, "hvac": -8},
    "park": {"birds": 0, "wind": -3, "babble": -14, "water": -10},
    "public_square": {"babble": -2, "steps": -6, "rumble": -10, "birds": -10, "water": -8},
    "shopping_mall": {"music": -3, "babble": 0, "hvac": -6, "steps": -8},
    "street_pedestrian": {"steps": -2, "babble": -3, "rumble": -8, "engine": -14},
    "street_traffic": {"rumble": 0, "engine": -2, "wind": -8, "steps": -16},
    "tram": {"rail": -3, "engine": -4, "babble": -8, "rumble": -4},
}
#: Reverberation time (s) of each scene's room; outdoor scenes get almost none.
REVERB_S: dict[str, float] = {"airport": 0.8, "bus": 0.2, "metro": 0.3, "metro_station": 1.0, "park": 0.02,
                              "public_square": 0.1, "shopping_mall": 0.7, "street_pedestrian": 0.05,
                              "street_traffic": 0.05, "tram": 0.3}
JITTER_DB = 3.0  # per-clip level jitter of each source
DROP_PROB = 0.15  # chance that a source of the scene is silent in a segment
LOCATION_DB = 3.0  # per-location level offset of each source


def _smooth_response_db(freqs: np.ndarray, bumps: list[tuple[float, float, float]], hp: float, lp: float) -> np.ndarray:
    """dB gain at ``freqs``: Gaussian bumps on a log2 axis (gain dB, centre Hz, width octaves) and 2nd-order
    high-/low-pass magnitudes at ``hp``/``lp`` Hz (0 = none)."""
    f = np.maximum(freqs, 1.0)
    db = np.zeros_like(f)
    for gain, centre, width in bumps:
        db += gain * np.exp(-0.5 * (np.log2(f / centre) / width) ** 2)
    if hp > 0:
        db += 10 * np.log10((f / hp) ** 4 / (1 + (f / hp) ** 4))
    if lp > 0:
        db += 10 * np.log10(1 / (1 + (f / lp) ** 4))
    return db


def device_params(device: str, seed: int) -> dict[str, Any]:
    """A device's response (bumps, band limits), gain and noise floor. A is the reference: nearly flat."""
    rng = np.random.default_rng([seed, 7, DEVICES.index(device)])
    if device == "a":
        bumps = [(float(rng.uniform(-1, 1)), float(rng.uniform(300, 3000)), 1.0)]
        return {"bumps": bumps, "hp": 30.0, "lp": 0.0, "gain_db": 0.0, "snr_db": 50.0}
    phone = device.startswith("s")
    bumps = [(float(rng.uniform(-10, 10)), float(np.exp(rng.uniform(np.log(150), np.log(6000)))),
              float(rng.uniform(0.4, 1.2))) for _ in range(3)]
    return {"bumps": bumps, "hp": float(rng.uniform(150, 500) if phone else rng.uniform(60, 200)),
            "lp": float(rng.uniform(3500, 7000)) if phone else 0.0,
            "gain_db": float(rng.uniform(-6, 0)), "snr_db": float(rng.uniform(22, 35) if phone else rng.uniform(30, 42))}


def city_params(city_index: int, seed: int) -> dict[str, Any]:
    """A city's colouring: tilt (dB per octave above 500 Hz), one resonance bump and a faint tone."""
    rng = np.random.default_rng([seed, 11, city_index])
    return {"tilt_db_per_octave": float(rng.uniform(-2.5, 2.5)),
            "bump": (float(rng.uniform(-6, 6)), float(np.exp(rng.uniform(np.log(200), np.log(4000)))), 0.5),
            "tone_hz": float(rng.uniform(90, 700)), "tone_db": float(rng.uniform(-24, -16))}


def location_params(city_index: int, location: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng([seed, 13, city_index, location])
    return {"tilt_offset": float(rng.uniform(-0.5, 0.5)),
            "source_offsets_db": {s: float(rng.uniform(-LOCATION_DB, LOCATION_DB)) for s in SOURCES}}


def apply_response(x: np.ndarray, sr: int, db: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Zero-phase filtering by a magnitude response given in dB as a function of frequency (FFT domain)."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1.0 / sr)
    return np.fft.irfft(spec * 10 ** (db(f) / 20), len(x))


def _reverb(x: np.ndarray, sr: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import fftconvolve

    length = max(1, int(rt60 * sr))
    ir = rng.standard_normal(length) * np.exp(-6.9 * np.arange(length) / length)
    ir[0] = 1.0 / math.sqrt(length)  # the direct sound
    return fftconvolve(x, _unit(ir) / math.sqrt(length), mode="full")[: len(x)]


def render_scene(scene: str, city_index: int, location: int, n: int, sr: int, seed: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """The clean (device-free) scene audio at ``sr``, normalised to an RMS of about -26 dBFS, and its source levels."""
    loc = location_params(city_index, location, seed)
    mix = SCENE_MIX[scene]
    names = list(mix)
    keep = [s for s in names if rng.random() >= DROP_PROB] or [names[int(rng.integers(len(names)))]]
    levels = {s: float(mix[s] + loc["source_offsets_db"][s] + rng.normal(0, JITTER_DB)) for s in keep}
    x = sum(SOURCES[s](n, sr, rng) * 10 ** (levels[s] / 20) for s in keep)
    x = _reverb(np.asarray(x, np.float64), sr, REVERB_S[scene], rng)
    city = city_params(city_index, seed)
    tilt = city["tilt_db_per_octave"] + loc["tilt_offset"]
    g, c, w = city["bump"]
    x = apply_response(x, sr, lambda f: tilt * np.log2(np.maximum(f, 500.0) / 500.0)
                       + g * np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / c) / w) ** 2))
    x = _unit(x)
    t = np.arange(n) / sr
    x = x + 10 ** (city["tone_db"] / 20) * math.sqrt(2) * np.sin(2 * np.pi * city["tone_hz"] * t)
    level = rng.uniform(-30, -22)
    return _unit(x) * 10 ** (level / 20), levels


def record(x: np.ndarray, sr: int, device: str, seed: int, rng: np.random.Generator) -> np.ndarray:
    """``x`` as the device hears it: its response, gain and noise floor; clipped to [-1, 1]."""
    p = device_params(device, seed)
    y = apply_response(x, sr, lambda f: _smooth_response_db(f, p["bumps"], p["hp"], p["lp"]))
    y = y * 10 ** (p["gain_db"] / 20)
    rms = float(np.sqrt(np.mean(y * y)))
    noise = _band_noise(len(y), sr, rng, 20, sr / 2) * rms * 10 ** (-p["snr_db"] / 20)
    return np.clip(y + noise, -1.0, 1.0)


def _nested_subsets(train: list[tuple[str, str]], seed: int) -> dict[int, list[str]]:
    """split5 c split10 c ... c split100, each stratified by scene (at least one clip per scene)."""
    rng = np.random.default_rng([seed, 17])
    by_scene: dict[str, list[str]] = {}
    for f, s in train:
        by_scene.setdefault(s, []).append(f)
    order = {s: [fs[i] for i in rng.permutation(len(fs))] for s, fs in by_scene.items()}
    out = {}
    for p in SUBSETS:
        chosen = {f for fs in order.values() for f in fs[: max(1, math.ceil(p / 100 * len(fs)))]}
        out[p] = [f for f, _ in train if f in chosen]
    return out


def generate(out: Path, cfg: SynthConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Write meta.csv, audio/*.wav, split_setup/split{5..100}.csv + test.csv and synth_truth.json into ``out``."""
    from edgekws.tasks.runner import write_json

    sr = cfg.sample_rate
    n_seg = int(round(cfg.clip_seconds * sr))
    cities = CITIES[: cfg.cities]
    jobs: list[tuple[str, int, str, int, int]] = []  # (split, scene index, city, location, segment)
    for split, per_scene, locs in (("train", cfg.train_segments_per_scene, range(cfg.train_locations)),
                                   ("test", cfg.test_segments_per_scene,
                                    range(cfg.train_locations, cfg.train_locations + cfg.test_locations))):
        places = [(ci, LOCATION_BASE + li) for ci in range(len(cities)) for li in locs]
        for si in range(len(SCENES)):
            rng = np.random.default_rng([cfg.seed, 19, si, split == "test"])
            for k in range(per_scene):
                ci, loc = places[k % len(places)] if k < len(places) else places[int(rng.integers(len(places)))]
                jobs.append((split, si, cities[ci], loc, k))
    meta = ["filename\tscene_label\tidentifier\tsource_label"]
    files: dict[str, dict[str, Any]] = {}
    train_rows: list[tuple[str, str]] = []
    test_rows: list[tuple[str, str]] = []
    for j, (split, si, city, loc, k) in enumerate(jobs):
        scene = SCENES[si]
        ci = CITIES.index(city)
        rng = np.random.default_rng([cfg.seed, 23, si, ci, loc, k])
        audio, levels = render_scene(scene, ci, loc, n_seg * cfg.clips_per_segment, sr, cfg.seed, rng)
        if split == "test":
            devices = list(DEVICES)
        else:
            devices = ["a"] + ([SEEN_DEVICES[1 + int(rng.integers(len(SEEN_DEVICES) - 1))]]
                               if rng.random() < cfg.parallel_prob else [])
        segment_id = 10 * k + (0 if split == "train" else 5)
        for d in devices:
            rec = record(audio, sr, d, cfg.seed, rng)
            for c in range(cfg.clips_per_segment):
                name = f"audio/{scene}-{city}-{loc}-{segment_id}-{c}-{d}.wav"
                write_wav(out / name, rec[c * n_seg:(c + 1) * n_seg], sr)
                meta.append(f"{name}\t{scene}\t{city}-{loc}\t{d}")
                files[name] = {"scene": scene, "city": city, "location": loc, "device": d, "split": split,
                               "segment": segment_id, "clip": c, "source_levels_db": levels}
                (train_rows if split == "train" else test_rows).append((name, scene))
        progress("rendering scenes", j + 1, len(jobs))
    (out / META).write_text("\n".join(meta) + "\n", encoding="utf-8")
    split_dir = out / SPLIT_DIR
    split_dir.mkdir(parents=True, exist_ok=True)
    scene_of = dict(train_rows + test_rows)
    for p, names in _nested_subsets(train_rows, cfg.seed).items():
        (split_dir / split_csv(p)).write_text("filename\tscene_label\n" + "".join(f"{f}\t{scene_of[f]}\n" for f in names),
                                              encoding="utf-8")
    (split_dir / TEST_CSV).write_text("filename\tscene_label\n" + "".join(f"{f}\t{s}\n" for f, s in test_rows),
                                      encoding="utf-8")
    write_json(out / TRUTH, {
        "sample_rate": sr, "scenes": list(SCENES), "cities": list(cities),
        "devices": {d: {**device_params(d, cfg.seed), "seen": d in SEEN_DEVICES} for d in DEVICES},
        "city_params": {c: city_params(CITIES.index(c), cfg.seed) for c in cities},
        "scene_mix_db": SCENE_MIX, "reverb_s": REVERB_S, "files": files})
    return {"scenes": len(SCENES), "cities": len(cities), "train_clips": len(train_rows),
            "test_clips": len(test_rows), "devices": list(DEVICES)}
