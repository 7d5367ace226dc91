"""A second teacher: an int8 bundle (e.g. a model trained on real speech, `edgekws import`) labels the rounds.

Why: the embedding teacher learned its head on synthetic voices only; a model trained on real
recordings makes different mistakes (on `real_kws_dev` their averaged probabilities beat both:
benchmarks/ensemble_probe.py). Rounds store features and embeddings, not audio, but every round is
a seeded draw, so its exact waveforms are drawn again here, checked against the stored round
(labels, mix flags and student features must match bit for bit), and the bundle's probabilities
on them (its own frontend, int8 on TFLite Micro) go beside the round as
``round_<k>.bundle-<id>.npy``. ``edgekws distill --bundle-teacher B`` then mixes them into the
teacher's distribution. The bundle's own (un-normalised) features of the same audio go beside them
(``round_<k>.bundle-<id>.features.npy``) for a student that starts from the bundle's weights and
so hears through its frontend (``edgekws distill --init-bundle B``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.data.speech_commands import LABELS
from edgekws.errors import BundleError, DatasetError
from edgekws.fsutil import save_npy_atomic


def bundle_id(bundle: str | Path) -> str:
    """Short content id of a bundle's int8 model: the label files are tied to the model, not its path."""
    tfl = Path(bundle) / "model.tflite"
    if not tfl.is_file():
        raise BundleError(f"{bundle}: no model.tflite (not a bundle)")
    return hashlib.sha256(tfl.read_bytes()).hexdigest()[:12]


def label_file(rounds_dir: str | Path, k: int, bundle: str | Path) -> Path:
    """Where round ``k``'s probabilities from ``bundle`` live."""
    return Path(rounds_dir) / f"round_{k}.bundle-{bundle_id(bundle)}.npy"


def feature_file(rounds_dir: str | Path, k: int, bundle: str | Path) -> Path:
    """Where round ``k``'s features through ``bundle``'s frontend (before its input_norm) live."""
    return Path(rounds_dir) / f"round_{k}.bundle-{bundle_id(bundle)}.features.npy"


class BundleScorer:
    """A bundle's dequantised int8 outputs for float audio, through its own frontend and clip length."""

    def __init__(self, bundle: str | Path) -> None:
        from edgekws.evaluate.runner import bundle_task
        from edgekws.tflm import TflmModel

        self.path = Path(bundle)
        self.meta = json.loads((self.path / "bundle.json").read_text())
        self.frontend, labels, self.samples = bundle_task(self.meta, self.path)
        if list(labels) != list(LABELS):
            raise BundleError(f"{bundle}: labels {labels} are not the student's {list(LABELS)}")
        if self.frontend.sample_rate != 16000:
            raise BundleError(f"{bundle}: its frontend takes {self.frontend.sample_rate} Hz, the rounds are 16 kHz")
        self.model = TflmModel(self.path / "model.tflite")

    def features(self, audio: np.ndarray) -> np.ndarray:
        """``[N, frames, feats]`` through the bundle's frontend, before its input_norm; clips are
        zero-padded or cut to the model's clip length."""
        from edgekws.data.features import compute_split_features

        a = np.zeros((len(audio), self.samples), np.float32)
        n = min(self.samples, audio.shape[1])
        a[:, :n] = audio[:, :n]
        return compute_split_features(a, self.frontend)

    def probabilities(self, audio: np.ndarray, feats: np.ndarray | None = None) -> np.ndarray:
        """``[N, 12]`` probabilities (``feats``: :meth:`features` of ``audio`` when already computed)."""
        from edgekws.evaluate.runner import bundle_int8_inputs

        x = bundle_int8_inputs(self.meta, self.features(audio) if feats is None else feats)
        out = self.model.run_batch(list(x)).reshape(len(x), -1).astype(np.float32)
        q = self.meta["output"]
        p = np.clip((out - float(q["zero_point"])) * float(q["scale"]), 0.0, None)
        return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)


def label_rounds(rounds_dir: str | Path, bundle: str | Path, *, rounds: int,
                 log: Any = print) -> list[Path]:
    """Write ``round_<k>.bundle-<id>.npy`` and ``.features.npy`` for k < rounds (kept when already there)."""
    from edgekws.frontend import get_preset
    from edgekws.frontend.features import compute_features
    from edgekws.teacher.data import load_noise_folder
    from edgekws.teacher.train import _synthetic_audio
    from edgekws.train.distill import round_audio

    rd = Path(rounds_dir)
    meta_path = rd / "rounds.json"
    if not meta_path.is_file():
        raise DatasetError(f"{rd}: no rounds.json (write rounds with 'edgekws teacher rounds' first)")
    meta = json.loads(meta_path.read_text())
    files = [label_file(rd, k, bundle) for k in range(rounds)]
    feat_files = [feature_file(rd, k, bundle) for k in range(rounds)]
    todo = [k for k in range(rounds) if not (files[k].is_file() and feat_files[k].is_file())]
    if not todo:
        return files
    for k in todo:
        if not (rd / f"round_{k}.npz").is_file():
            raise DatasetError(f"{rd / f'round_{k}.npz'} is missing: generate {rounds} rounds first")
    scorer = BundleScorer(bundle)
    xt, yt, _, _ = _synthetic_audio([Path(d) for d in meta["data"]])
    noises = load_noise_folder(meta["noise_dir"])
    fcfg = get_preset(meta["frontend"])
    for k in todo:
        z = np.load(rd / f"round_{k}.npz")
        audio, soft, mixed = round_audio(xt, yt, noises, seed=int(meta["seed"]), k=k, p_mix=float(meta["p_mix"]))
        same = (soft.shape == z["soft"].shape and np.array_equal(soft, z["soft"]) and np.array_equal(mixed, z["mixed"])
                and np.array_equal(compute_features(audio, fcfg).astype(np.float32), z["x"]))
        if not same:
            raise DatasetError(f"{rd / f'round_{k}.npz'}: its audio cannot be drawn again (the synthetic data, "
                               "noise or code changed since it was written); write the rounds anew")
        feats = scorer.features(audio).astype(np.float32)
        p = scorer.probabilities(audio, feats).astype(np.float32)
        save_npy_atomic(feat_files[k], feats)  # atomic: an interrupted run leaves no half file that looks done
        save_npy_atomic(files[k], p)
        agree = float(np.mean(np.argmax(p, 1)[~mixed] == np.argmax(soft, 1)[~mixed])) if (~mixed).any() else 0.0
        log(f"bundle teacher: round {k}: {len(p)} clips, agrees with the synthetic label on {100 * agree:.1f} %")
    return files


def mix_teachers(head_logits: np.ndarray, bundle_probs: np.ndarray, weight: float) -> np.ndarray:
    """Logits of ``(1 - weight) softmax(head) + weight * bundle``: the averaged teacher distribution."""
    from edgekws.teacher.head import softmax

    if head_logits.shape != bundle_probs.shape:
        raise DatasetError(f"bundle-teacher labels {bundle_probs.shape} do not match the round {head_logits.shape}")
    p = (1.0 - weight) * softmax(head_logits) + weight * bundle_probs
    return np.log(p + 1e-8).astype(np.float32)
