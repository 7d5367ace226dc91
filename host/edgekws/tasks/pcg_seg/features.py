"""Per-frame inputs of the segmenter: multi-scale envelopes, their topological summaries, or the log-mel.

All three share the ``pcg-logmel-16`` frontend's frames (hop 20 ms; frame ``t``
covers samples ``[t*hop, t*hop + win)``), so every input type is labelled by the
same per-frame states and decoded by the same decoder; a difference in F1 is the
input's.

The envelope follows Springer et al. (2016): band-pass 25-400 Hz (where S1/S2
energy lies), the Hilbert amplitude envelope, then *homomorphic* smoothing
(low-pass of the log envelope, exponentiated) which keeps the bumps' shape but
drops fine ripple; ``cutoffs_hz`` are the scales. Each envelope is averaged over
the frontend's frame windows and z-scored per record, so gain differences between
stethoscopes vanish.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from edgekws.frontend import FrontendConfig, compute_features
from edgekws.tasks.pcg_seg import topo

INPUTS = ("topo", "envelope", "logmel", "topo+envelope")


def frame_times(n_frames: int, frontend: FrontendConfig) -> np.ndarray:
    """Centre time (s) of each frontend frame."""
    return (np.arange(n_frames) * frontend.hop_length + frontend.win_length / 2) / frontend.sample_rate


def envelopes(x: np.ndarray, frontend: FrontendConfig, cutoffs_hz: tuple[float, ...]) -> np.ndarray:
    """``[scales, frames]`` homomorphic envelopes of ``x`` (at the frontend's rate), frame-averaged, z-scored."""
    fs = frontend.sample_rate
    x = np.asarray(x, dtype=np.float64)
    n_frames = frontend.num_frames(len(x))
    hi = min(400.0, 0.45 * fs)
    sos = signal.butter(4, [25.0, hi], btype="bandpass", fs=fs, output="sos")
    band = signal.sosfiltfilt(sos, x)
    env = np.abs(signal.hilbert(band))
    log_env = np.log(env + 1e-8 * (env.max() + 1e-12))
    out = np.empty((len(cutoffs_hz), n_frames))
    csum_starts = np.arange(n_frames) * frontend.hop_length
    for i, fc in enumerate(cutoffs_hz):
        lp = signal.butter(1, fc, btype="lowpass", fs=fs, output="sos")
        h = np.exp(signal.sosfiltfilt(lp, log_env))
        c = np.concatenate([[0.0], np.cumsum(h)])
        framed = (c[csum_starts + frontend.win_length] - c[csum_starts]) / frontend.win_length
        out[i] = (framed - framed.mean()) / (framed.std() + 1e-9)
    return out.astype(np.float32)


def logmel(x: np.ndarray, frontend: FrontendConfig) -> np.ndarray:
    """``[frames, bands]`` log-mel of the one frontend, z-scored per record and band."""
    f = compute_features(np.asarray(x, dtype=np.float32)[None], frontend)[0]
    return ((f - f.mean(0)) / (f.std(0) + 1e-6)).astype(np.float32)


def record_inputs(x: np.ndarray, frontend: FrontendConfig, kinds: tuple[str, ...], cutoffs_hz: tuple[float, ...],
                  topo_cfg: topo.TopoConfig) -> dict[str, np.ndarray]:
    """Every requested input type of one record, each ``[frames, features]`` on the same frames."""
    env = envelopes(x, frontend, cutoffs_hz)
    out: dict[str, np.ndarray] = {}
    tf = topo.frame_features(env, topo_cfg) if {"topo", "topo+envelope"} & set(kinds) else None
    for k in kinds:
        if k == "topo":
            out[k] = tf
        elif k == "envelope":
            out[k] = env.T.copy()
        elif k == "logmel":
            out[k] = logmel(x, frontend)
        elif k == "topo+envelope":
            out[k] = np.concatenate([tf, env.T], axis=1)
        else:
            raise ValueError(f"unknown input {k!r}; valid: {', '.join(INPUTS)}")
    return out
