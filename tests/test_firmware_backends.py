"""Every kernel backend in the emulated Cortex-M7: outputs identical to TFLite Micro, instructions per backend.

The DSP kernels (SMLAD, SXTB16) only take their real path on Arm, so QEMU is
where they meet the reference. The model is the same small DS-CNN shape as in
test_firmware_qemu.py but 70 % of its weights are zero (unstructured magnitude
pruning before int8 conversion), so the sparse backends really skip work.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgekws.device.build import build_firmware
from edgekws.device.emulator import run_selftest

pytestmark = [pytest.mark.slow, pytest.mark.emulator]

WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
# backend -> ops it has a kernel for (the others stay on ref)
BACKENDS = {
    "ref": WEIGHT_OPS,
    "simd": WEIGHT_OPS,
    "skipzero": WEIGHT_OPS,
    "wp": ("CONV_2D", "FULLY_CONNECTED"),
    "block": ("CONV_2D", "FULLY_CONNECTED"),
}


def _pruned_kws_tflite(sparsity: float = 0.7, seed: int = 1) -> bytes:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    inp = layers.Input((49, 10, 1))
    x = layers.Conv2D(16, (10, 4), strides=(2, 2), padding="same", activation="relu")(inp)
    x = layers.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
    x = layers.Conv2D(16, 1, activation="relu")(x)
    x = layers.AveragePooling2D(pool_size=(25, 5))(x)
    x = layers.Flatten()(x)
    out = layers.Softmax()(layers.Dense(12)(x))
    model = tf.keras.Model(inp, out)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights and weights[0].ndim >= 2:
            w = weights[0]
            cut = np.quantile(np.abs(w), sparsity)
            weights[0] = np.where(np.abs(w) <= cut, 0.0, w).astype(w.dtype)
            layer.set_weights(weights)
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(16):
            yield [rng.standard_normal((1, 49, 10, 1)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


@pytest.fixture(scope="module")
def pruned_tflite(arm_gcc: str, qemu_arm: str) -> bytes:
    del arm_gcc, qemu_arm
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    return _pruned_kws_tflite()


def _bundle(path: Path, tflite: bytes, backend: str) -> Path:
    from edgekws.export.tflite_graph import read_graph

    ops = [op.op for op in read_graph(tflite).operators]
    layers = [{"backend": backend if op in BACKENDS[backend] else "ref"} for op in ops]
    path.mkdir(parents=True)
    (path / "model.tflite").write_bytes(tflite)
    (path / "bundle.json").write_text(json.dumps({"schema_version": 1, "name": f"kws_{backend}",
                                                  "labels": [f"l{i}" for i in range(12)], "layers": layers}))
    return path


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_backend_identical_to_tflite_micro_in_qemu(backend: str, pruned_tflite: bytes, tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "bundle", pruned_tflite, backend)
    elf = build_firmware("mps2_an500", bundle, tmp_path / "fw", selftest_only=True)
    report = run_selftest(elf, timeout=120)
    assert report["passed"], report["output"][-2000:]
    used = {layer["backend"] for layer in report["layers"] if layer["op"] in BACKENDS[backend]}
    assert used == {backend}, f"the image ran {used}, not {backend}"
    per_layer = ", ".join(f"{x['op']}={x['count']}" for x in report["layers"])
    print(f"\n{backend}: {report['count']} instructions per inference ({per_layer})")
