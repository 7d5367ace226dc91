"""Structured-sparsity masks (N:M, blocks, whole kxk kernels) kept in place while fine-tuning.

Why not tfmot for these: its block/N:M support targets other runtimes; here the
patterns must line up with what the firmware's sparse SIMD kernels read, i.e. the
TFLite weight layout. Every weight is therefore viewed as a 2-D matrix
``[out, K]`` whose rows follow TFLite's order (CONV_2D ``OHWI`` -> ``K = kh*kw*cin``
with input channels innermost; FULLY_CONNECTED ``[out, in]``):

* ``nm`` (N:M): in every group of M consecutive elements of a row keep the N largest
  (2:4 -> a SIMD loop loads 4 inputs, multiplies 2);
* ``block`` ``RxC``: blocks of R output rows x C consecutive inputs are kept or zeroed
  whole (1x4: one 32-bit load of 4 int8 weights is all-zero or not; 4x1: four output
  channels share the zero pattern, so one input load serves four filters);
* ``kernel``: whole ``kh x kw`` kernels (one input-channel/output-channel pair) are zeroed.

Masks are recomputed by weight magnitude at the start of each fine-tuning epoch with a
rising target (gradual pruning) and re-applied after every optimizer step (projected
gradient descent), so the final weights satisfy the pattern exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekws.errors import ConfigError

PATTERN_LAYERS = ("Conv2D", "Dense", "DepthwiseConv2D")


def to_rows(kernel: np.ndarray, kind: str) -> np.ndarray:
    """Keras kernel -> ``[out, K]`` in TFLite order (a view-free copy)."""
    if kind == "Conv2D":  # [kh, kw, cin, cout] -> [cout, kh, kw, cin]
        return np.transpose(kernel, (3, 0, 1, 2)).reshape(kernel.shape[3], -1)
    if kind == "Dense":  # [in, out] -> [out, in]
        return kernel.T.copy()
    if kind == "DepthwiseConv2D":  # [kh, kw, c, 1] -> [c, kh*kw]
        return np.transpose(kernel[..., 0], (2, 0, 1)).reshape(kernel.shape[2], -1)
    raise ConfigError(f"no row layout for layer type {kind}")


def from_rows(rows: np.ndarray, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """Inverse of :func:`to_rows`."""
    if kind == "Conv2D":
        kh, kw, cin, cout = shape
        return np.transpose(rows.reshape(cout, kh, kw, cin), (1, 2, 3, 0))
    if kind == "Dense":
        return rows.T.copy()
    if kind == "DepthwiseConv2D":
        kh, kw, c, _ = shape
        return np.transpose(rows.reshape(c, kh, kw), (1, 2, 0))[..., None]
    raise ConfigError(f"no row layout for layer type {kind}")


def _prune_lowest(scores: np.ndarray, sparsity: float) -> np.ndarray:
    """Boolean keep-mask zeroing the ``round(sparsity * n)`` lowest scores (stable tie-break)."""
    flat = scores.reshape(-1)
    k = int(round(float(sparsity) * flat.size))
    keep = np.ones(flat.size, dtype=bool)
    if k > 0:
        keep[np.argsort(flat, kind="stable")[:k]] = False
    return keep.reshape(scores.shape)


def element_mask_rows(rows: np.ndarray, sparsity: float) -> np.ndarray:
    """Unstructured magnitude mask."""
    return _prune_lowest(np.abs(rows), sparsity)


def nm_mask_rows(rows: np.ndarray, n: int = 2, m: int = 4) -> np.ndarray:
    """Keep the ``n`` largest of every ``m`` consecutive elements of each row (tail group padded)."""
    if not 0 < n <= m:
        raise ConfigError(f"N:M needs 0 < N <= M, got {n}:{m}")
    out_, k = rows.shape
    pad = (-k) % m
    a = np.abs(np.pad(rows, ((0, 0), (0, pad)), constant_values=0.0)).reshape(out_, -1, m)
    order = np.argsort(-a, axis=-1, kind="stable")
    keep = np.zeros_like(a, dtype=bool)
    np.put_along_axis(keep, order[..., :n], True, axis=-1)
    return keep.reshape(out_, -1)[:, :k]


def block_mask_rows(rows: np.ndarray, sparsity: float, block: tuple[int, int] = (1, 4)) -> np.ndarray:
    """Zero whole ``block = (rows, cols)`` blocks with the lowest L2 norm (edge blocks padded)."""
    br, bc = block
    out_, k = rows.shape
    pr, pc = (-out_) % br, (-k) % bc
    a = np.pad(rows.astype(np.float64) ** 2, ((0, pr), (0, pc)))
    nb_r, nb_c = a.shape[0] // br, a.shape[1] // bc
    norms = np.sqrt(a.reshape(nb_r, br, nb_c, bc).sum(axis=(1, 3)))
    keep_b = _prune_lowest(norms, sparsity)
    keep = np.repeat(np.repeat(keep_b, br, axis=0), bc, axis=1)
    return keep[:out_, :k]


def kernel_mask(kernel: np.ndarray, kind: str, sparsity: float) -> np.ndarray:
    """Zero whole kh x kw kernels (per input/output channel pair; per channel for depthwise) by L2 norm."""
    if kind == "Conv2D":
        norms = np.sqrt((kernel.astype(np.float64) ** 2).sum(axis=(0, 1)))  # [cin, cout]
        keep = _prune_lowest(norms, sparsity)
        return np.broadcast_to(keep[None, None], kernel.shape).copy()
    if kind == "DepthwiseConv2D":
        norms = np.sqrt((kernel.astype(np.float64) ** 2).sum(axis=(0, 1, 3)))  # [c]
        keep = _prune_lowest(norms, sparsity)
        return np.broadcast_to(keep[None, None, :, None], kernel.shape).copy()
    raise ConfigError(f"kernel-level pruning applies to convolutions, not {kind}")


@dataclass(frozen=True)
class Pattern:
    """A sparsity pattern: ``kind`` in element|nm|block|kernel plus its parameters."""

    kind: str
    n: int = 2
    m: int = 4
    block: tuple[int, int] = (1, 4)

    @property
    def fixed_sparsity(self) -> float | None:
        """N:M fixes the sparsity (1 - N/M); the others take it as a target."""
        return 1.0 - self.n / self.m if self.kind == "nm" else None

    def applies_to(self, kind: str) -> bool:
        """Which layer types this pattern prunes (depthwise rows are too short for N:M/blocks)."""
        if self.kind == "kernel":
            return kind in ("Conv2D", "DepthwiseConv2D")
        if self.kind in ("nm", "block"):
            return kind in ("Conv2D", "Dense")
        return kind in PATTERN_LAYERS

    def describe(self) -> str:
        if self.kind == "nm":
            return f"{self.n}:{self.m}"
        if self.kind == "block":
            return f"block {self.block[0]}x{self.block[1]}"
        return self.kind

    def mask(self, kernel: np.ndarray, kind: str, sparsity: float) -> np.ndarray:
        """Boolean keep-mask of a Keras kernel for this pattern at ``sparsity``."""
        if self.kind == "kernel":
            return kernel_mask(kernel, kind, sparsity)
        rows = to_rows(kernel, kind)
        if self.kind == "nm":
            keep = nm_mask_rows(rows, self.n, self.m) if sparsity > 0 else np.ones_like(rows, bool)
        elif self.kind == "block":
            keep = block_mask_rows(rows, sparsity, self.block)
        elif self.kind == "element":
            keep = element_mask_rows(rows, sparsity)
        else:
            raise ConfigError(f"unknown sparsity pattern {self.kind!r}")
        return from_rows(keep, kernel.shape, kind).astype(bool)


def parse_block(text: str) -> tuple[int, int]:
    """``"1x4"`` -> (1, 4)."""
    try:
        r, c = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"block shape must look like 1x4 or 4x1, got {text!r}") from None
    if r <= 0 or c <= 0:
        raise ConfigError(f"block shape must be positive, got {text!r}")
    return r, c


def cubic_schedule(final: float, ramp_epochs: int) -> Callable[[int], float]:
    """Sparsity at the start of epoch ``e``: Zhu & Gupta's cubic ramp to ``final`` over ``ramp_epochs``."""
    def at(epoch: int) -> float:
        if ramp_epochs <= 0 or epoch + 1 >= ramp_epochs:
            return final
        t = (epoch + 1) / ramp_epochs
        return final * (1.0 - (1.0 - t) ** 3)

    return at


def pattern_callback(layers: list[Any], pattern: Pattern, schedule: Callable[[int], float]) -> Any:
    """Keras callback: recompute masks at each epoch start, re-apply them after every batch."""
    import tf_keras as keras

    class MaskCallback(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.masks: dict[str, np.ndarray] = {}
            self.sparsity_log: list[float] = []

        def _recompute(self, sparsity: float) -> None:
            for layer in layers:
                w = layer.get_weights()
                m = pattern.mask(w[0], type(layer).__name__, sparsity)
                self.masks[layer.name] = m.astype(np.float32)
                w[0] = w[0] * self.masks[layer.name]
                layer.set_weights(w)

        def apply(self) -> None:
            for layer in layers:
                kvar = layer.weights[0]
                kvar.assign(kvar.numpy() * self.masks[layer.name])

        def on_train_begin(self, logs=None) -> None:
            self._recompute(schedule(0))

        def on_epoch_begin(self, epoch, logs=None) -> None:
            s = schedule(epoch)
            self.sparsity_log.append(float(s))
            self._recompute(s)

        def on_train_batch_end(self, batch, logs=None) -> None:
            self.apply()

    return MaskCallback()


def apply_pattern_once(layers: list[Any], pattern: Pattern, sparsity: float) -> None:
    """Impose the pattern on the current weights without training (one-shot pruning)."""
    for layer in layers:
        w = layer.get_weights()
        w[0] = w[0] * pattern.mask(w[0], type(layer).__name__, sparsity)
        layer.set_weights(w)
