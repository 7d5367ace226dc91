"""The streaming detector: host twin of firmware/src/stream/stream.c.

Same integer rules, same order of operations (see the header comment of
``firmware/include/edgekws/stream.h``): a ring of the last ``num_frames`` int8
feature frames, the model every ``k_hops`` frames once the window is full,
the sum of ``q - zero_point`` over the last ``smooth_window`` outputs, the best
non-ignored class over an integer threshold, a refractory period in frames.
Nothing here is floating point, so given the same posteriors the host and the
device report the same detections at the same frame and millisecond.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgekws.errors import ConfigError
from edgekws.stream.config import DetectorParams

#: ``infer(window int8 [num_frames, num_features]) -> int8 [num_classes]``
InferFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Detection:
    """One detection, in the form the device reports it (plus the label's name)."""

    time_ms: int
    hop: int
    label: int
    name: str
    score: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Detection:
        return cls(time_ms=int(d["time_ms"]), hop=int(d["hop"]), label=int(d["label"]),
                   name=str(d.get("name", d["label"])), score=int(d["score"]))


class StreamDetector:
    """Feed int8 feature frames one by one; get a :class:`Detection` when one fires."""

    def __init__(self, params: DetectorParams, labels: list[str] | None = None) -> None:
        if labels is not None and len(labels) != params.num_classes:
            raise ConfigError(f"stream detector: {len(labels)} labels for {params.num_classes} classes")
        self.params = params
        self.labels = list(labels) if labels is not None else [str(i) for i in range(params.num_classes)]
        self.reset()

    def reset(self) -> None:
        """Forget frames, outputs and detections (``stream_reset``)."""
        p = self.params
        self._frames = np.zeros((p.num_frames, p.num_features), np.int8)
        self._history = np.zeros((p.smooth_window, p.num_classes), np.int64)
        self._score = np.zeros(p.num_classes, np.int64)
        self._keep = np.array([not (p.ignore_mask >> c) & 1 for c in range(p.num_classes)])
        self.last_output = np.zeros(p.num_classes, np.int8)
        self.frames_seen = 0
        self.inferences = 0
        self.detections = 0
        self.ran_inference = False
        self._slot = 0
        self._history_pos = 0
        self._last_detection_hop: int | None = None

    @property
    def score(self) -> np.ndarray:
        """Current smoothed scores (int64 copy), one per class."""
        return self._score.copy()

    def window(self) -> np.ndarray:
        """The model input window ``[num_frames, num_features]`` int8, oldest frame first."""
        return np.roll(self._frames, -self._slot, axis=0)

    def push_frame(self, frame: np.ndarray, infer: InferFn) -> Detection | None:
        """Take one feature frame; run ``infer`` on the window when scheduled; maybe detect."""
        p = self.params
        f = np.asarray(frame)
        if f.dtype != np.int8 or f.shape != (p.num_features,):
            raise ConfigError(f"stream detector: frame must be int8 [{p.num_features}], got {f.dtype} {list(f.shape)}")
        self._frames[self._slot] = f
        self._slot = (self._slot + 1) % p.num_frames
        hop = self.frames_seen
        self.frames_seen += 1
        self.ran_inference = False
        n = self.frames_seen
        if n < p.num_frames or (n - p.num_frames) % p.k_hops:
            return None
        out = np.asarray(infer(self.window()))
        if out.dtype != np.int8 or out.size != p.num_classes:
            raise ConfigError(f"stream detector: model gave {out.dtype} x{out.size}, expected int8 x{p.num_classes}")
        self.ran_inference = True
        self.inferences += 1
        return self.push_output(out.reshape(-1), hop)

    def push_output(self, out: np.ndarray, hop: int) -> Detection | None:
        """Smoothing and detection for one model output computed at frame ``hop``."""
        p = self.params
        v = out.astype(np.int64) - p.out_zero_point
        self._score += v - self._history[self._history_pos]
        self._history[self._history_pos] = v
        self._history_pos = (self._history_pos + 1) % p.smooth_window
        self.last_output = out.astype(np.int8).copy()
        cand = np.flatnonzero(self._keep)
        if cand.size == 0:
            return None
        best = int(cand[np.argmax(self._score[cand])])  # argmax: first (lowest index) on ties
        score = int(self._score[best])
        if score < p.threshold:
            return None
        if self._last_detection_hop is not None and hop - self._last_detection_hop < p.refractory_hops:
            return None
        self._last_detection_hop = hop
        self.detections += 1
        return Detection(time_ms=p.time_ms(hop), hop=hop, label=best, name=self.labels[best], score=score)

    def run(self, frames: np.ndarray, infer: InferFn,
            on_detection: Callable[[Detection], None] | None = None) -> list[Detection]:
        """Push every frame of ``frames [T, num_features]``; all detections in order."""
        found = []
        for frame in np.asarray(frames):
            det = self.push_frame(frame, infer)
            if det is not None:
                found.append(det)
                if on_detection is not None:
                    on_detection(det)
        return found
