"""A tiny but complete model bundle for the bench tests (real Keras -> int8 TFLite -> bundle).

Untrained random weights are enough: the bench checks that the device computes
exactly what TFLite Micro computes, not that the model is good. Shapes are
small so an inference takes milliseconds even in QEMU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FRAMES, FEATS, N_LABELS, N_TEST, SAMPLES = 12, 8, 12, 24, 1600


def make_tiny_bundle(out: Path, seed: int = 0, n_test: int = N_TEST, frames: int = FRAMES, feats: int = FEATS,
                     samples: int = SAMPLES, features_from_audio: bool = False) -> Path:
    """Write a valid bundle (bundle.json, model.tflite, testset.npz, report.json) into ``out``."""
    import tf_keras as keras

    import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS)
    from edgekws.compress.quantize import io_quant, quantize_int8, to_float_tflite
    from edgekws.export.bundle import write_bundle
    from edgekws.frontend.config import FrontendConfig

    keras.utils.set_random_seed(seed)
    inp = keras.Input((frames, feats, 1))
    h = keras.layers.Conv2D(8, (3, 3), padding="same", activation="relu")(inp)
    h = keras.layers.DepthwiseConv2D((3, 3), padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(8, (1, 1), activation="relu")(h)
    h = keras.layers.AveragePooling2D((frames, feats))(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(N_LABELS)(h)
    model = keras.Model(inp, keras.layers.Softmax()(h))
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000.0
    tones = rng.uniform(200, 3000, (n_test, 1))
    audio = (2000 * np.sin(2 * np.pi * tones * t) + rng.normal(0, 300, (n_test, samples))).astype(np.int16)
    cfg = FrontendConfig()
    mean, std = np.zeros(feats, np.float32), np.ones(feats, np.float32)
    if features_from_audio:
        # a real bundle: the test inputs are the (device-exact) features of the test audio
        from edgekws.frontend.device import pcm16_features, quantize_features

        feats_f = np.stack([pcm16_features(a, cfg) for a in audio])
        assert feats_f.shape[1:] == (frames, feats), feats_f.shape
        mean, std = feats_f.mean(axis=(0, 1)), feats_f.std(axis=(0, 1)) + 1e-3
        calib = ((feats_f - mean) / std)[..., None].astype(np.float32)
    else:
        calib = rng.normal(size=(32, frames, feats, 1)).astype(np.float32)
    tfl = quantize_int8(model, calib)
    in_q, _ = io_quant(tfl)
    if features_from_audio:
        x = quantize_features(feats_f, mean, std, in_q["scale"], in_q["zero_point"])[..., None]
    else:
        x = np.clip(np.round(rng.normal(size=(n_test, frames, feats, 1)) / in_q["scale"]) + in_q["zero_point"],
                    -128, 127).astype(np.int8)
    y = rng.integers(0, N_LABELS, n_test)
    labels = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
    write_bundle(out, name="tiny_bench", labels=labels, frontend=cfg.to_dict(), frontend_hash=cfg.hash(),
                 input_norm={"mean": [float(v) for v in mean], "std": [float(v) for v in std]}, tflite_int8=tfl,
                 tflite_float=to_float_tflite(model), report={"int8_accuracy": 0.0}, compression={},
                 recipe={"name": "tiny_bench"}, testset={"x_int8": x, "y": y, "audio_int16": audio})
    return out


def tiny_bundle(base: Path, n_test: int = N_TEST) -> Path:
    """The tiny bundle under ``base`` (pytest's session temp dir), built once per session."""
    out = base / f"tiny_bundle_{n_test}"
    if not (out / "bundle.json").is_file():
        make_tiny_bundle(out, n_test=n_test)
    return out


def mfcc_bundle(base: Path, n_test: int = 8) -> Path:
    """A bundle on the default 49x10 MFCC frontend whose test inputs are the features of its
    test audio: what audio mode and the device frontend need."""
    out = base / f"mfcc_bundle_{n_test}"
    if not (out / "bundle.json").is_file():
        make_tiny_bundle(out, n_test=n_test, frames=49, feats=10, samples=16000, features_from_audio=True)
    return out
