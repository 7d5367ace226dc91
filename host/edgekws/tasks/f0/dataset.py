"""Loaders for the F0 datasets' on-disk layouts, each giving :class:`Track` objects with their truth.

* MDB-stem-synth: ``audio_stems/<name>.RESYN.wav`` + ``annotation_stems/<name>.RESYN.csv``
  (``time,f0`` rows in Hz, 0 = unvoiced; a header line is tolerated);
* the generator's two-voice ``mixtures/<name>.wav`` + ``<name>.csv`` (``time,f0_1,f0_2``);
* MIR-1K: ``Wavfile/<name>.wav`` (16 kHz stereo: accompaniment left, singing right) +
  ``PitchLabel/<name>.pv`` (one value per 20 ms frame in MIDI semitones, 0 = unvoiced;
  frames are 40 ms long, so frame ``i`` is centred at ``0.02 * (i + 1)`` s).

Why a Track carries times and F0 as written rather than on the analysis grid: the
metrics (mir_eval) resample the *truth* onto the estimate's grid themselves, and
the training targets interpolate it onto the CNN's frames (:func:`truth_on_frames`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.errors import AudioError, DatasetError
from edgekws.tasks.datasets import require_dir

MIR1K_HOP_S = 0.02


@dataclass(frozen=True)
class Track:
    """One recording: ``f0[t, v]`` in Hz (0 = voice ``v`` silent) at ``times[t]`` s; ``channel`` of the file
    (None = mix to mono)."""

    name: str
    audio: Path
    times: np.ndarray
    f0: np.ndarray
    channel: int | None = None

    @property
    def voices(self) -> int:
        return int(self.f0.shape[1])


def _read_table(path: Path, columns: int) -> np.ndarray:
    """Numeric CSV rows of ``columns`` fields (a non-numeric first line is a header); one-line errors."""
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    rows = []
    for no, ln in enumerate(lines, start=1):
        fields = [f.strip() for f in ln.replace("\t", ",").split(",")]
        try:
            vals = [float(f) for f in fields]
        except ValueError:
            if no == 1:
                continue  # header
            raise DatasetError(f"{path}:{no}: not numeric: {ln[:60]!r}") from None
        if len(vals) != columns:
            raise DatasetError(f"{path}:{no}: expected {columns} fields, got {len(vals)}")
        rows.append(vals)
    if not rows:
        raise DatasetError(f"{path}: no annotation rows")
    arr = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(arr).all() or (arr[:, 1:] < 0).any():
        raise DatasetError(f"{path}: F0 values must be finite and >= 0 (0 = unvoiced)")
    if (np.diff(arr[:, 0]) <= 0).any():
        raise DatasetError(f"{path}: times must increase")
    return arr


def load_mdb_stem_synth(root: Path) -> list[Track]:
    """Every ``audio_stems/*.RESYN.wav`` with its ``annotation_stems/*.RESYN.csv`` (a missing one is an error)."""
    root = require_dir(root, "dataset folder")
    stems = require_dir(root / "audio_stems", "MDB-stem-synth audio folder")
    tracks = []
    for wav in sorted(stems.glob("*.RESYN.wav")):
        name = wav.name[: -len(".RESYN.wav")]
        csv = root / "annotation_stems" / f"{name}.RESYN.csv"
        if not csv.is_file():
            raise DatasetError(f"{csv}: annotation of {wav.name} not found")
        arr = _read_table(csv, 2)
        tracks.append(Track(name, wav, arr[:, 0], arr[:, 1:2]))
    if not tracks:
        raise DatasetError(f"{stems}: no *.RESYN.wav files")
    return tracks


def load_mixtures(root: Path) -> list[Track]:
    """The generator's ``mixtures/*.wav`` with their ``time,f0_1,f0_2`` CSVs ([] when the folder is absent)."""
    folder = Path(root) / "mixtures"
    if not folder.is_dir():
        return []
    tracks = []
    for wav in sorted(folder.glob("*.wav")):
        csv = wav.with_suffix(".csv")
        if not csv.is_file():
            raise DatasetError(f"{csv}: annotation of {wav.name} not found")
        arr = _read_table(csv, 3)
        tracks.append(Track(wav.stem, wav, arr[:, 0], arr[:, 1:]))
    return tracks


def load_mir1k(root: Path, channel: str = "voice") -> list[Track]:
    """MIR-1K's ``Wavfile/*.wav`` with ``PitchLabel/*.pv``; ``channel`` "voice" (right) or "mix" (both)."""
    if channel not in ("voice", "mix"):
        raise DatasetError(f"MIR-1K channel must be 'voice' or 'mix', got {channel!r}")
    root = require_dir(root, "dataset folder")
    wavs = require_dir(root / "Wavfile", "MIR-1K Wavfile folder")
    tracks = []
    for wav in sorted(wavs.glob("*.wav")):
        pv = root / "PitchLabel" / f"{wav.stem}.pv"
        if not pv.is_file():
            raise DatasetError(f"{pv}: pitch label of {wav.name} not found")
        try:
            semis = np.loadtxt(pv, dtype=np.float64, ndmin=1)
        except ValueError as exc:
            raise DatasetError(f"{pv}: not one number per line ({exc})") from None
        if semis.size == 0 or not np.isfinite(semis).all() or (semis < 0).any():
            raise DatasetError(f"{pv}: pitch labels must be finite semitones >= 0 (0 = unvoiced)")
        f0 = np.where(semis > 0, 440.0 * 2.0 ** ((semis - 69.0) / 12.0), 0.0)
        times = MIR1K_HOP_S * (np.arange(len(semis)) + 1)
        tracks.append(Track(wav.stem, wav, times, f0[:, None], 1 if channel == "voice" else None))
    if not tracks:
        raise DatasetError(f"{wavs}: no *.wav files")
    return tracks


def load_dataset(root: Path) -> list[Track]:
    """Whichever layout ``root`` holds: MDB-stem-synth (+ mixtures) or MIR-1K."""
    root = require_dir(root, "dataset folder")
    if (root / "audio_stems").is_dir():
        return load_mdb_stem_synth(root) + load_mixtures(root)
    if (root / "Wavfile").is_dir():
        return load_mir1k(root)
    raise DatasetError(f"{root}: neither MDB-stem-synth (audio_stems/) nor MIR-1K (Wavfile/) layout")


def load_track_audio(track: Track, sample_rate: int) -> np.ndarray:
    """The track's audio, float32 mono at ``sample_rate`` (its ``channel`` only, when set)."""
    import librosa
    import soundfile as sf

    try:
        data, sr = sf.read(str(track.audio), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise AudioError(f"{track.audio}: cannot read audio ({exc})") from None
    if data.size == 0 or not np.isfinite(data).all():
        raise AudioError(f"{track.audio}: empty or non-finite audio")
    if track.channel is not None:
        if track.channel >= data.shape[1]:
            raise AudioError(f"{track.audio}: has {data.shape[1]} channel(s), channel {track.channel} wanted")
        x = data[:, track.channel]
    else:
        x = data.mean(axis=1)
    if sr != sample_rate:
        x = librosa.resample(x, orig_sr=sr, target_sr=sample_rate)
    return np.ascontiguousarray(x, dtype=np.float32)


def truth_on_frames(track: Track, frame_times: np.ndarray) -> np.ndarray:
    """``[frames, voices]`` F0 of ``track`` on the analysis grid (:func:`resample_truth`)."""
    return resample_truth(track.times, track.f0, frame_times)


def resample_truth(times: np.ndarray, f0: np.ndarray, frame_times: np.ndarray) -> np.ndarray:
    """``f0[rows, voices]`` at ``times`` onto ``frame_times``: linear in cents between two voiced rows, the
    nearest row's value otherwise (a frame next to an unvoiced row is unvoiced if that row is nearer)."""
    if len(times) == 1:
        return (np.abs(frame_times - times[0]) <= 0.02)[:, None] * f0[0][None, :]
    out = np.zeros((len(frame_times), f0.shape[1]))
    idx = np.clip(np.searchsorted(times, frame_times), 1, len(times) - 1)
    t0, t1 = times[idx - 1], times[idx]
    w = np.clip((frame_times - t0) / np.maximum(t1 - t0, 1e-12), 0.0, 1.0)
    outside = (frame_times < times[0] - 0.02) | (frame_times > times[-1] + 0.02)
    for v in range(f0.shape[1]):
        a, b = f0[idx - 1, v], f0[idx, v]
        both = (a > 0) & (b > 0)
        lin = np.exp((1 - w) * np.log(np.where(both, a, 1.0)) + w * np.log(np.where(both, b, 1.0)))
        out[:, v] = np.where(outside, 0.0, np.where(both, lin, np.where(w < 0.5, a, b)))
    return out
