"""Train the teacher's head on synthetic clips and score it (or any predictor) on a labelled folder.

Why: the head is the only trained part of the teacher; it sees synthetic voices only (clean plus
freshly perturbed copies), is chosen on the synthetic validation split, and is then *measured*
on real speech (``real_kws_dev`` or the official test set) with 95 % Wilson intervals.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.data.speech_commands import KEYWORDS, LABELS, SILENCE_LABEL
from edgekws.metrics import Accuracy, accuracy
from edgekws.teacher.fresh import FreshConfig, fresh_batch
from edgekws.teacher.head import HeadConfig, MlpHead

HEAD_FILE = "head.npz"
TEACHER_JSON = "teacher.json"


def score_predictions(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """12-class accuracy, keyword-only accuracy (clips of the 10 keywords), per-class recall, confusion."""
    y = np.asarray(y)
    pred = np.asarray(pred)
    kw = np.isin(y, [LABELS.index(k) for k in KEYWORDS])
    acc12: Accuracy = accuracy(int(np.sum(pred == y)), len(y))
    acckw: Accuracy = accuracy(int(np.sum(pred[kw] == y[kw])), int(kw.sum()))
    cm = np.zeros((len(LABELS), len(LABELS)), np.int64)
    np.add.at(cm, (y, pred), 1)
    recall = {lab: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None) for i, lab in enumerate(LABELS)}
    return {"accuracy_12": acc12.as_dict(), "accuracy_keywords": acckw.as_dict(),
            "text": f"12-class {acc12.format()}, keyword-only {acckw.format()}",
            "per_class_recall": recall, "confusion": cm.tolist(), "labels": list(LABELS)}


class Teacher:
    """Embedding backbone + head: audio -> logits."""

    def __init__(self, model_dir: str | Path, threads: int = 1, teacher_dir: str | Path | None = None) -> None:
        from edgekws.teacher.embedding import SpeechEmbedding

        self.embedding = SpeechEmbedding(teacher_dir, threads=threads)
        self.head, self.labels = MlpHead.load(Path(model_dir) / HEAD_FILE)

    def logits(self, audio: np.ndarray) -> np.ndarray:
        """``[N, 16000]`` float audio -> ``[N, 12]`` logits."""
        return self.head.logits(self.embedding.embed(audio))


def _synthetic_audio(data_dirs: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from edgekws.teacher.data import load_synthetic_splits

    xt, yt, xv, yv = [], [], [], []
    for d in data_dirs:
        s = load_synthetic_splits(d)
        xt.append(s["training"][0])
        yt.append(s["training"][1])
        xv.append(s["validation"][0])
        yv.append(s["validation"][1])
    return np.concatenate(xt), np.concatenate(yt), np.concatenate(xv), np.concatenate(yv)


def train_teacher(data_dirs: list[str | Path], out_dir: str | Path, *, noise_dir: str | Path | None = None,
                  copies: int = 2, head_cfg: HeadConfig = HeadConfig(), seed: int = 0, threads: int = 1,
                  teacher_dir: str | Path | None = None, log: Any = print) -> dict[str, Any]:
    """Embed the clean training clips plus ``copies`` fresh perturbations of each; fit the head.

    Writes ``out_dir/head.npz`` and ``out_dir/teacher.json``. Nothing here reads real speech except
    the optional noise recordings (background noise, allowed for training).
    """
    from edgekws.teacher.data import load_noise_folder
    from edgekws.teacher.embedding import SpeechEmbedding

    t0 = time.perf_counter()
    dirs = [Path(d) for d in data_dirs]
    xt, yt, xv, yv = _synthetic_audio(dirs)
    noises = load_noise_folder(noise_dir)
    emb = SpeechEmbedding(teacher_dir, threads=threads)
    rng = np.random.default_rng(seed)
    sil = LABELS.index(SILENCE_LABEL)
    parts, labels = [emb.embed(xt)], [yt]
    for _ in range(copies):
        aug, _, _ = fresh_batch(xt, yt, sil, noises, rng, FreshConfig())
        parts.append(emb.embed(aug))
        labels.append(yt)
    e_train, y_train = np.concatenate(parts), np.concatenate(labels)
    e_val = emb.embed(xv)
    t_embed = time.perf_counter() - t0
    log(f"teacher: embedded {len(y_train)} training and {len(yv)} validation clips in {t_embed:.0f} s")
    head = MlpHead(int(np.prod(e_train.shape[1:])), len(LABELS), head_cfg)
    hist = head.fit(e_train, y_train, val=(e_val, yv))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = {"data": [str(d) for d in dirs], "noise_dir": str(noise_dir) if noise_dir else None, "copies": copies,
            "seed": seed, "train_clips": int(len(y_train)), "val_clips": int(len(yv)),
            "synthetic_val_accuracy": hist["best_val_accuracy"], "best_epoch": hist["best_epoch"],
            "embed_s": t_embed, "total_s": time.perf_counter() - t0}
    head.save(out / HEAD_FILE, list(LABELS), {"train": info})
    (out / TEACHER_JSON).write_text(json.dumps({"train": info}, indent=2) + "\n")
    log(f"teacher: head trained, synthetic validation accuracy {100 * hist['best_val_accuracy']:.1f} % "
        f"(epoch {hist['best_epoch']})")
    return info


def evaluate_teacher(model_dir: str | Path, data_dir: str | Path, *, threads: int = 1,
                     teacher_dir: str | Path | None = None) -> dict[str, Any]:
    """Score the teacher on every clip of a labelled folder; merges the result into teacher.json."""
    from edgekws.teacher.data import load_labelled_folder

    audio, y, _ = load_labelled_folder(data_dir)
    teacher = Teacher(model_dir, threads=threads, teacher_dir=teacher_dir)
    pred = np.argmax(teacher.logits(audio), axis=1)
    res = score_predictions(y, pred)
    p = Path(model_dir) / TEACHER_JSON
    doc = json.loads(p.read_text()) if p.is_file() else {}
    doc.setdefault("evaluations", {})[Path(data_dir).resolve().name] = {
        k: res[k] for k in ("accuracy_12", "accuracy_keywords", "per_class_recall", "confusion")}
    p.write_text(json.dumps(doc, indent=2) + "\n")
    return res


def train_teacher_from_rounds(rounds_dirs: list[str | Path], out_dir: str | Path, *, rounds: int,
                              head_cfg: HeadConfig = HeadConfig(), log: Any = print) -> dict[str, Any]:
    """Fit the head on embeddings already stored by :func:`edgekws.train.distill.generate_rounds`.

    The clean clips plus the un-mixed clips of the first ``rounds`` fresh rounds of every dataset
    (all engines): the same audio the student hears, without running the backbone again.
    """
    t0 = time.perf_counter()
    dirs = [Path(d) for d in rounds_dirs]
    e_parts, y_parts, ev, yv = [], [], [], []
    for d in dirs:
        c = np.load(d / "clean.npz")
        e_parts.append(c["e_train"])
        y_parts.append(c["y_train"])
        ev.append(c["e_val"])
        yv.append(c["y_val"])
        for k in range(rounds):
            z = np.load(d / f"round_{k}.npz")
            keep = ~z["mixed"]
            e_parts.append(z["emb"][keep])
            y_parts.append(np.argmax(z["soft"][keep], axis=1))
    e_train, y_train = np.concatenate(e_parts), np.concatenate(y_parts)
    e_val, y_val = np.concatenate(ev), np.concatenate(yv)
    head = MlpHead(int(np.prod(e_train.shape[1:])), len(LABELS), head_cfg)
    hist = head.fit(e_train, y_train, val=(e_val, y_val))
    info = {"rounds_dirs": [str(d) for d in dirs], "rounds": rounds, "train_clips": int(len(y_train)),
            "val_clips": int(len(y_val)), "synthetic_val_accuracy": hist["best_val_accuracy"],
            "best_epoch": hist["best_epoch"], "total_s": time.perf_counter() - t0}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    head.save(out / HEAD_FILE, list(LABELS), {"train": info})
    (out / TEACHER_JSON).write_text(json.dumps({"train": info}, indent=2) + "\n")
    log(f"teacher: head trained on {len(y_train)} stored embeddings, synthetic validation accuracy "
        f"{100 * hist['best_val_accuracy']:.1f} % (epoch {hist['best_epoch']})")
    return info
