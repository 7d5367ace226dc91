"""The TFLite Micro Python runtime: the bit-exact reference for every int8 kernel.

tf.lite.Interpreter (XNNPACK) is *not* bit-exact with TFLite Micro, so every
accuracy figure of an int8 model and every firmware comparison goes through
this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from edgekws.errors import ModelError


class TflmModel:
    """A TFLite Micro interpreter for one int8 model, reused across inputs."""

    def __init__(self, model: bytes | str | Path, arena_size: int | None = None,
                 preserve_all_tensors: bool = False) -> None:
        from tflite_micro.python.tflite_micro import runtime

        data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
        if arena_size is None:
            arena_size = max(10 * len(data), 512 * 1024)
        _check_runtime_limits(data)
        config = (runtime.InterpreterConfig.kPreserveAllTensors if preserve_all_tensors
                  else runtime.InterpreterConfig.kAllocationRecording)
        try:
            self._interp = runtime.Interpreter.from_bytes(
                data, arena_size=arena_size, intrepreter_config=config)
        except Exception as exc:  # the runtime raises RuntimeError/ValueError with long text
            raise ModelError(f"TFLite Micro cannot load the model: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        self.input_details = self._interp.get_input_details(0)
        self.output_details = self._interp.get_output_details(0)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.input_details["shape"])

    @property
    def output_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.output_details["shape"])

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run one input (already quantized, shape = model input shape or without batch)."""
        x = np.asarray(x, dtype=self.input_details["dtype"]).reshape(self.input_shape)
        self._interp.set_input(x, 0)
        self._interp.invoke()
        return np.array(self._interp.get_output(0)).copy()

    def run_batch(self, xs: Iterable[np.ndarray]) -> np.ndarray:
        """Run many inputs one by one (TFLite Micro has batch 1); stacks outputs without the batch axis."""
        outs = [self.run(x).reshape(-1) for x in xs]
        return np.stack(outs) if outs else np.zeros((0,) + self.output_shape[1:], dtype=np.int8)

    def tensor(self, index: int) -> np.ndarray:
        """An intermediate tensor (needs preserve_all_tensors=True)."""
        raw = self._interp.GetTensor(index, 0)
        if isinstance(raw, (list, tuple)) and raw and isinstance(raw[0], dict):
            raw = raw[0]
        if isinstance(raw, dict):  # the runtime answers {'dtype', 'shape', 'tensor_data'}
            raw = raw["tensor_data"]
        return np.asarray(raw).copy()


def _check_runtime_limits(data: bytes) -> None:
    """Refuse models on which the TFLite Micro runtime would abort the whole process.

    TFLM's int8 softmax asserts (SIGABRT, nothing Python can catch) when
    beta * input_scale * 2^26 <= 1, which an untrained or degenerate model can
    produce; a one-line ModelError is the user-facing answer instead.
    """
    from edgekws.export.tflite_graph import read_graph

    try:
        graph = read_graph(data)
    except Exception:  # not parseable here: let the runtime report it
        return
    for op in graph.operators:
        if op.op != "SOFTMAX" or not op.inputs:
            continue
        t = graph.tensors[op.inputs[0]]
        if t.quant is None or t.dtype != "int8":
            continue
        scale = float(t.quant.scale[0])
        if float(op.options.get("beta", 1.0)) * scale * float(1 << 26) <= 1.0:
            raise ModelError(f"softmax input scale {scale:.3g} is too small for TFLite Micro "
                             "(degenerate or untrained model)")


def run_tflm(model: bytes | str | Path, inputs: np.ndarray) -> np.ndarray:
    """Convenience: outputs of TFLite Micro for a batch of quantized inputs, shape [N, n_out]."""
    return TflmModel(model).run_batch(list(inputs))
