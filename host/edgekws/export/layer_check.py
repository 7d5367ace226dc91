"""Layer-by-layer reference: what TFLite Micro computes for every firmware layer of one input.

Why: comparing only the final softmax output says little, because a trained
keyword model saturates it (eleven -128s and one 127 for most clips), so an
off-by-one in one channel of an inner layer passes unseen. The firmware runner
(``nn_invoke_checked`` in firmware/src/nn/runner.c) reports a CRC-32 of every
layer's output tensor and the pre-softmax logits; this module computes the
same values from TFLite Micro's intermediate tensors (preserve-all-tensors),
so the self-test, the bench and the autotuner compare layer by layer.

The firmware layer table has one row per TFLite operator, in graph order, and
row i's output is operator i's first output tensor (a RESHAPE aliases its
input in the arena, and its CRC is that of the same bytes). The CRC is
zlib.crc32 of the tensor's int8 bytes, i.e. the project's CRC-32
(firmware/src/protocol/crc32.c).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.errors import ModelError


def crc32(data: np.ndarray | bytes) -> int:
    """CRC-32 of an int8 tensor's bytes, as the firmware computes it (proto_crc32 == zlib.crc32)."""
    raw = data if isinstance(data, bytes) else np.ascontiguousarray(data, dtype=np.int8).tobytes()
    return zlib.crc32(raw) & 0xFFFFFFFF


@dataclass(frozen=True)
class LayerCheck:
    """The reference for one input: final output, logits and one CRC per firmware layer."""

    output: np.ndarray  # int8 [n_out]
    logits: np.ndarray  # int8 [n_logits]
    layer_crc: tuple[int, ...]


@dataclass(frozen=True)
class Mismatch:
    """The first disagreement between a device's check and the reference (layer -1: logits/output only)."""

    layer: int
    what: str  # "layer", "logits" or "output"
    got: int
    want: int


class LayerReference:
    """TFLite Micro (preserve-all-tensors) for one model, mapped onto the firmware's layer table."""

    def __init__(self, model: bytes | str | Path) -> None:
        from edgekws.export.tflite_graph import layer_names, read_graph
        from edgekws.tflm import TflmModel

        data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
        graph = read_graph(data)
        if not graph.operators:
            raise ModelError("the model has no operators")
        self.names = layer_names(graph)
        self.ops = [op.op for op in graph.operators]
        self.out_tensors = [int(op.outputs[0]) for op in graph.operators]
        last = graph.operators[-1]
        self.logits_tensor = int(last.inputs[0]) if last.op == "SOFTMAX" else int(last.outputs[0])
        self._tm = TflmModel(data, preserve_all_tensors=True)

    @property
    def num_layers(self) -> int:
        return len(self.out_tensors)

    def check(self, x: np.ndarray) -> LayerCheck:
        """Run one quantized input and collect the output, the logits and every layer's CRC."""
        out = self._tm.run(x).reshape(-1).astype(np.int8)
        crcs = tuple(crc32(self._tensor(t)) for t in self.out_tensors)
        return LayerCheck(out, self._tensor(self.logits_tensor), crcs)

    def _tensor(self, index: int) -> np.ndarray:
        v = np.asarray(self._tm.tensor(index))
        if v.dtype != np.int8:
            raise ModelError(f"tensor {index} is {v.dtype}; the layer check needs int8 tensors")
        return v.reshape(-1)


def first_mismatch(want: LayerCheck, layer_crc: list[int] | tuple[int, ...], logits: np.ndarray | None = None,
                   output: np.ndarray | None = None) -> Mismatch | None:
    """The first layer whose CRC differs (in layer order), else logits, else output; None when all agree.

    A CRC list of the wrong length is a mismatch at the first missing layer: a device that checks
    fewer layers than the model has must not pass.
    """
    for i, w in enumerate(want.layer_crc):
        got = int(layer_crc[i]) if i < len(layer_crc) else -1
        if got != w:
            return Mismatch(i, "layer", got, w)
    if len(layer_crc) != len(want.layer_crc):
        return Mismatch(len(want.layer_crc), "layer", -1, -1)
    if logits is not None:
        g = np.asarray(logits, dtype=np.int8).reshape(-1)
        if not np.array_equal(g, want.logits):
            k = int(np.flatnonzero(g != want.logits)[0]) if g.size == want.logits.size else 0
            return Mismatch(-1, "logits", int(g[k]) if g.size else 0, int(want.logits[k]))
    if output is not None:
        g = np.asarray(output, dtype=np.int8).reshape(-1)
        if not np.array_equal(g, want.output):
            k = int(np.flatnonzero(g != want.output)[0]) if g.size == want.output.size else 0
            return Mismatch(-1, "output", int(g[k]) if g.size else 0, int(want.output[k]))
    return None
