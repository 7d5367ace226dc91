"""A small numpy MLP on the speech embeddings: the teacher's classifier head.

Why numpy: the head is ~40 k parameters on 288 inputs; training it takes seconds on one core,
and running it needs no TensorFlow (the teacher must be cheap to call while generating
millions of labels for the student). Saved as one ``.npz`` with its input standardisation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgekws.errors import BundleError


@dataclass(frozen=True)
class HeadConfig:
    """Training hyper-parameters of the head (chosen on the synthetic validation split only)."""

    hidden: int = 128
    dropout: float = 0.3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 0


def softmax(z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``z / temperature`` (max-subtracted, so large logits do not overflow)."""
    z = np.asarray(z, np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


class MlpHead:
    """``flatten -> standardise -> dense(hidden, relu) -> dropout -> dense(classes)`` logits."""

    def __init__(self, n_in: int, n_classes: int, cfg: HeadConfig = HeadConfig()) -> None:
        rng = np.random.default_rng(cfg.seed)
        self.cfg = cfg
        self.w1 = (rng.normal(0, np.sqrt(2.0 / n_in), (n_in, cfg.hidden))).astype(np.float32)
        self.b1 = np.zeros(cfg.hidden, np.float32)
        self.w2 = (rng.normal(0, np.sqrt(1.0 / cfg.hidden), (cfg.hidden, n_classes))).astype(np.float32)
        self.b2 = np.zeros(n_classes, np.float32)
        self.mean = np.zeros(n_in, np.float32)
        self.std = np.ones(n_in, np.float32)

    @property
    def params(self) -> list[np.ndarray]:
        return [self.w1, self.b1, self.w2, self.b2]

    def logits(self, emb: np.ndarray) -> np.ndarray:
        """Logits ``[N, classes]`` for embeddings ``[N, windows, 96]`` (or already flat)."""
        x = (np.asarray(emb, np.float32).reshape(len(emb), -1) - self.mean) / self.std
        h = np.maximum(x @ self.w1 + self.b1, 0.0)
        return h @ self.w2 + self.b2

    def fit(self, emb: np.ndarray, y: np.ndarray, val: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
        """Adam with cosine learning rate, label smoothing, dropout; keeps the best validation epoch."""
        cfg = self.cfg
        x = np.asarray(emb, np.float32).reshape(len(emb), -1)
        self.mean = x.mean(axis=0)
        self.std = np.maximum(x.std(axis=0), 1e-3)
        xs = (x - self.mean) / self.std
        n_cls = self.b2.shape[0]
        target = np.full((len(y), n_cls), cfg.label_smoothing / n_cls, np.float32)
        target[np.arange(len(y)), y] += 1.0 - cfg.label_smoothing
        rng = np.random.default_rng(cfg.seed + 1)
        m = [np.zeros_like(p) for p in self.params]
        v = [np.zeros_like(p) for p in self.params]
        step = 0
        steps_total = cfg.epochs * int(np.ceil(len(y) / cfg.batch_size))
        best = (-1.0, [p.copy() for p in self.params], 0)
        history = []
        for epoch in range(cfg.epochs):
            perm = rng.permutation(len(y))
            for s in range(0, len(y), cfg.batch_size):
                idx = perm[s : s + cfg.batch_size]
                xb, tb = xs[idx], target[idx]
                pre = xb @ self.w1 + self.b1
                h = np.maximum(pre, 0.0)
                keep = (rng.uniform(size=h.shape) >= cfg.dropout).astype(np.float32) / (1.0 - cfg.dropout)
                hd = h * keep
                p = softmax(hd @ self.w2 + self.b2)
                g = (p - tb) / len(idx)
                gw2 = hd.T @ g + cfg.weight_decay * self.w2
                gb2 = g.sum(axis=0)
                gh = (g @ self.w2.T) * keep * (pre > 0)
                gw1 = xb.T @ gh + cfg.weight_decay * self.w1
                gb1 = gh.sum(axis=0)
                step += 1
                lr = cfg.learning_rate * 0.5 * (1 + np.cos(np.pi * step / steps_total))
                for i, (param, grad) in enumerate(zip(self.params, [gw1, gb1, gw2, gb2], strict=True)):
                    m[i] = 0.9 * m[i] + 0.1 * grad
                    v[i] = 0.999 * v[i] + 0.001 * grad**2
                    mh = m[i] / (1 - 0.9**step)
                    vh = v[i] / (1 - 0.999**step)
                    param -= (lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
            if val is not None:
                acc = float(np.mean(np.argmax(self.logits(val[0]), axis=1) == val[1]))
                history.append(acc)
                if acc >= best[0]:
                    best = (acc, [p.copy() for p in self.params], epoch + 1)
        if val is not None:
            self.w1, self.b1, self.w2, self.b2 = best[1]
        return {"val_accuracy": history, "best_epoch": best[2], "best_val_accuracy": best[0]}

    def save(self, path: str | Path, labels: list[str], extra: dict | None = None) -> None:
        """One ``.npz``: weights, standardisation, labels and the config."""
        import json

        np.savez(path, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2, mean=self.mean, std=self.std,
                 labels=np.array(labels), meta=np.array(json.dumps({"config": asdict(self.cfg), **(extra or {})})))

    @classmethod
    def load(cls, path: str | Path) -> tuple[MlpHead, list[str]]:
        """Read a head saved by :meth:`save` (one-line error when it is not one)."""
        import json

        try:
            z = np.load(path, allow_pickle=False)
            meta = json.loads(str(z["meta"]))
            head = cls(int(z["w1"].shape[0]), int(z["w2"].shape[1]), HeadConfig(**meta["config"]))
            head.w1, head.b1, head.w2, head.b2 = z["w1"], z["b1"], z["w2"], z["b2"]
            head.mean, head.std = z["mean"], z["std"]
            return head, [str(s) for s in z["labels"]]
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise BundleError(f"cannot read teacher head {path}: {exc}") from None
