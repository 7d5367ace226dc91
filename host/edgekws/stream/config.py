"""Streaming KWS settings: what a user tunes, and the integers the detector runs on.

Two levels on purpose. :class:`StreamConfig` is in user units (a probability
threshold, a refractory period in milliseconds) and round-trips to JSON.
:class:`DetectorParams` is the exact integer configuration the detector uses,
on the host (:mod:`edgekws.stream.detector`) and on the device
(``stream_config_t`` in ``firmware/include/edgekws/stream.h``); it is derived
once, on the host, from a StreamConfig plus the model's facts (labels, output
quantization, frontend hop), and sent to the device as a wire record. Doing the
float-to-integer conversion in one place is what lets host and device make
identical decisions.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from edgekws.errors import ConfigError

#: Capacities of the C detector (STREAM_MAX_* in stream.h); the host enforces them too.
MAX_FRAMES = 64
MAX_FEATURES = 40
MAX_CLASSES = 32
MAX_SMOOTH = 32
MAX_HOP = 1024

DEFAULT_IGNORE = ("_silence_", "_unknown_")


@dataclass(frozen=True)
class StreamConfig:
    """User-facing streaming settings.

    ``k_hops``: run the model every k frontend hops (2 x 20 ms = a classification every
    40 ms, the study's 37 ms pace). ``smooth_window``: number of model outputs averaged.
    ``threshold``: mean smoothed probability (0..1] a keyword needs to fire.
    ``refractory_ms``: after a detection, no other one for this long; a bit over the model's
    1 s window, because a word stays inside the window (and keeps scoring) for about a second
    after it was spoken. ``ignore``: labels that never fire (filler classes).
    """

    k_hops: int = 2
    smooth_window: int = 5
    threshold: float = 0.6
    refractory_ms: float = 1200.0
    ignore: tuple[str, ...] = DEFAULT_IGNORE

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "k_hops", _as_int(self.k_hops, "k_hops"))
            object.__setattr__(self, "smooth_window", _as_int(self.smooth_window, "smooth_window"))
            object.__setattr__(self, "threshold", float(self.threshold))
            object.__setattr__(self, "refractory_ms", float(self.refractory_ms))
            object.__setattr__(self, "ignore", tuple(str(s) for s in self.ignore))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"stream config: {exc}") from None
        if self.k_hops < 1:
            raise ConfigError(f"stream config: k_hops must be >= 1, got {self.k_hops}")
        if not 1 <= self.smooth_window <= MAX_SMOOTH:
            raise ConfigError(f"stream config: smooth_window must be in [1, {MAX_SMOOTH}], got {self.smooth_window}")
        if not (math.isfinite(self.threshold) and 0.0 < self.threshold <= 1.0):
            raise ConfigError(f"stream config: threshold must be in (0, 1], got {self.threshold:g}")
        if not (math.isfinite(self.refractory_ms) and self.refractory_ms >= 0.0):
            raise ConfigError(f"stream config: refractory_ms must be >= 0, got {self.refractory_ms:g}")

    def replace(self, **changes: Any) -> StreamConfig:
        """A copy with some fields changed (``None`` values are ignored, handy for CLI options)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ignore"] = list(self.ignore)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"stream config: unknown field(s) {', '.join(unknown)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


@dataclass(frozen=True)
class DetectorParams:
    """The integer detector configuration; field for field ``stream_config_t``.

    ``threshold`` is on the score = sum over ``smooth_window`` outputs of
    ``q - out_zero_point``; ``refractory_hops`` counts frames; hop/window/rate only
    serve timestamps.
    """

    num_frames: int
    num_features: int
    num_classes: int
    k_hops: int
    smooth_window: int
    hop_samples: int
    win_samples: int
    sample_rate: int
    threshold: int
    refractory_hops: int
    ignore_mask: int
    out_zero_point: int

    def __post_init__(self) -> None:
        checks = (
            (1 <= self.num_frames <= MAX_FRAMES, f"num_frames must be in [1, {MAX_FRAMES}]"),
            (1 <= self.num_features <= MAX_FEATURES, f"num_features must be in [1, {MAX_FEATURES}]"),
            (1 <= self.num_classes <= MAX_CLASSES, f"num_classes must be in [1, {MAX_CLASSES}]"),
            (1 <= self.k_hops <= 0xFFFF, "k_hops must be in [1, 65535]"),
            (1 <= self.smooth_window <= MAX_SMOOTH, f"smooth_window must be in [1, {MAX_SMOOTH}]"),
            (1 <= self.hop_samples <= MAX_HOP, f"hop_samples must be in [1, {MAX_HOP}]"),
            (1 <= self.win_samples <= 0xFFFF, "win_samples must be in [1, 65535]"),
            (1 <= self.sample_rate < 2**32, "sample_rate must be positive"),
            (-2**31 <= self.threshold < 2**31, "threshold must fit int32"),
            (0 <= self.refractory_hops < 2**32, "refractory_hops must fit uint32"),
            (0 <= self.ignore_mask < 2**32, "ignore_mask must fit uint32"),
            (-128 <= self.out_zero_point <= 127, "out_zero_point must be an int8 value"),
        )
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"stream detector: {msg}")

    @classmethod
    def derive(cls, cfg: StreamConfig, *, labels: list[str], num_frames: int, num_features: int,
               out_scale: float, out_zero_point: int, hop_samples: int, win_samples: int,
               sample_rate: int) -> DetectorParams:
        """Turn user settings plus model facts into integers (the only float step).

        ``threshold = ceil(p * W / out_scale)``: a mean probability ``p`` over W outputs of
        ``(q - zp) * scale`` is reached exactly when the integer sum reaches it.
        ``refractory_hops = ceil(refractory_ms * rate / (1000 * hop))``.
        """
        if out_scale <= 0 or not math.isfinite(out_scale):
            raise ConfigError(f"stream detector: model output scale must be positive, got {out_scale!r}")
        unknown = [s for s in cfg.ignore if s not in labels]
        if unknown:
            raise ConfigError(f"stream config: ignore lists {', '.join(unknown)}, not among the model's labels")
        mask = 0
        for i, name in enumerate(labels):
            if name in cfg.ignore:
                if i >= 32:
                    raise ConfigError("stream config: only the first 32 classes can be ignored")
                mask |= 1 << i
        if mask == (1 << len(labels)) - 1:
            raise ConfigError("stream config: every label is ignored; nothing could ever be detected")
        threshold = int(math.ceil(cfg.threshold * cfg.smooth_window / out_scale - 1e-9))
        refractory = int(math.ceil(cfg.refractory_ms * sample_rate / (1000.0 * hop_samples) - 1e-9))
        return cls(num_frames=int(num_frames), num_features=int(num_features), num_classes=len(labels),
                   k_hops=cfg.k_hops, smooth_window=cfg.smooth_window, hop_samples=int(hop_samples),
                   win_samples=int(win_samples), sample_rate=int(sample_rate), threshold=threshold,
                   refractory_hops=max(0, refractory), ignore_mask=mask, out_zero_point=int(out_zero_point))

    def time_ms(self, hop: int) -> int:
        """Stream time (ms, floored) at which frame ``hop`` is complete; the device's formula.

        The sample count is uint32 on the device, so it wraps after 2**32 samples (74 h at
        16 kHz); the twin wraps the same way so the two never disagree.
        """
        samples = (hop * self.hop_samples + self.win_samples) & 0xFFFFFFFF
        return samples * 1000 // self.sample_rate

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def _as_int(v: Any, name: str) -> int:
    if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
        raise ValueError(f"{name} must be an integer, got {v!r}")
    return int(v)
