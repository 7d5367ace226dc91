"""Float Keras model -> ONNX, checked against Keras with onnxruntime.

The ONNX file lets users run the float model outside TensorFlow; the check
guards against a silent converter bug (layout, BN folding) by comparing outputs
on real inputs before the file is written into a bundle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import ModelError

OPSET = 13


def to_onnx(model: Any, opset: int = OPSET) -> bytes:
    """Convert a float tf-keras model (input NHWC ``[1, frames, feats, 1]``) to ONNX bytes."""
    import tensorflow as tf
    import tf2onnx

    shape = (1, *[int(d) for d in model.input_shape[1:]])
    spec = (tf.TensorSpec(shape, tf.float32, name="features"),)
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset)
    except Exception as exc:  # noqa: BLE001 - converter failures have long, varied messages
        raise ModelError(f"ONNX conversion failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    return proto.SerializeToString()


def check_onnx(onnx_bytes: bytes, model: Any, x: np.ndarray, atol: float = 1e-4) -> float:
    """Max |ONNX - Keras| over inputs ``x`` ``[N, frames, feats, 1]``; ModelError above ``atol``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    worst = 0.0
    for xi in np.asarray(x, np.float32):
        got = sess.run(None, {name: xi[None]})[0]
        want = model(xi[None], training=False).numpy()
        worst = max(worst, float(np.max(np.abs(got - want))))
    if worst > atol:
        raise ModelError(f"ONNX model differs from Keras by {worst:.2e} (> {atol:.0e})")
    return worst
