"""The ``mlperf-tiny-kws`` preset (the MLPerf Tiny KWS dataset features) against TensorFlow's own ops.

The reference is the MLPerf Tiny KWS recipe written with ``tf.signal`` (TensorFlow from the
project's venv): ``stft`` (480-sample frames every 320, ``fft_length`` None = 512, periodic Hann),
``abs``, ``tensordot`` with ``linear_to_mel_weight_matrix(40, 257, 16000, 20, 4000)``,
``log(mel + 1e-6)``, ``mfccs_from_log_mel_spectrograms`` and the first 10 coefficients.

Tolerances (natural-log units; MFCC values span about -100 to 20), measured on these signals for
the host frontend and the device twin (which the C equals bit for bit, tests/test_frontend_device.py):

* broadband (noise at three levels, a clipped square wave, silence, espeak-ng speech):
  ``TOL_BROADBAND = 1e-3``; measured at most 3.1e-5 on the synthetic signals and 8.8e-5 on
  speech ("seven");
  the differences are float32 rounding in the FFT (TF's vs ours) and in the mel matrix (TF builds
  it in float32, we in float64; 5.9e-6 apart);
* narrowband (a pure tone, a chirp): ``TOL_NARROWBAND = 0.1``; measured 1.6e-3 (tone) and
  1.7e-2 (chirp): mel bands 100 dB and more under the peak hold little but the FFT's float32
  rounding noise, which differs between any two FFTs, and ``ln(mel + 1e-6)`` magnifies it there.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from edgekws.audio import load_audio, pad_or_trim
from edgekws.frontend import compute_features, dct_matrix, get_preset, log_mel_spectrogram, mel_filterbank

SR = 16000
PRESET = get_preset("mlperf-tiny-kws")
TOL_BROADBAND = 1e-3
TOL_NARROWBAND = 0.1


def tf_mfcc(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The MLPerf Tiny KWS features of float32 audio with tf.signal: (log-mel [T, 40], MFCC [T, 10])."""
    import tensorflow as tf

    stfts = tf.signal.stft(tf.constant(x), frame_length=480, frame_step=320, fft_length=None,
                           window_fn=tf.signal.hann_window)
    spectrograms = tf.abs(stfts)
    matrix = tf.signal.linear_to_mel_weight_matrix(40, stfts.shape[-1], SR, 20.0, 4000.0)
    log_mel = tf.math.log(tf.tensordot(spectrograms, matrix, 1) + 1e-6)
    return log_mel.numpy(), tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :10].numpy()


def signals() -> dict[str, tuple[np.ndarray, float]]:
    rng = np.random.default_rng(3)
    t = np.arange(SR) / SR
    bb, nb = TOL_BROADBAND, TOL_NARROWBAND
    return {
        "noise": (0.1 * rng.standard_normal(SR), bb),
        "loud-noise": (np.clip(0.7 * rng.standard_normal(SR), -1, 1), bb),
        "quiet-noise": (rng.integers(-2, 3, SR) / 32768.0, bb),
        "silence": (np.zeros(SR), bb),
        "square": (0.99 * np.sign(np.sin(2 * np.pi * 330 * t)), bb),
        "tone": (0.5 * np.sin(2 * np.pi * 1000 * t), nb),
        "chirp": (0.4 * np.sin(2 * np.pi * (50 + 3000 * t) * t), nb),
    }


@pytest.mark.parametrize("exact", ["host", "device"])
@pytest.mark.parametrize("name", list(signals()))
def test_matches_tensorflow_signal_ops(name, exact):
    x, tol = signals()[name]
    x = (np.round(x * 32768.0).clip(-32768, 32767) / 32768.0).astype(np.float32)  # int16-representable
    cfg = PRESET.replace(exact=exact)
    ref_lm, ref = tf_mfcc(x)
    ours = compute_features(x, cfg)
    assert ours.shape == ref.shape == (49, 10)
    assert np.abs(ours - ref).max() <= tol, f"{name}: {np.abs(ours - ref).max():.3g}"
    assert np.abs(log_mel_spectrogram(x, cfg) - ref_lm).max() <= tol


@pytest.mark.espeak
def test_speech_matches_tensorflow(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    for i, word in enumerate(["yes", "left", "seven"]):
        wav = tmp_path / f"{i}.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), word], check=True, capture_output=True)
        x = pad_or_trim(load_audio(wav), SR).astype(np.float32)
        ref = tf_mfcc(x)[1]
        for exact in ("host", "device"):
            assert np.abs(compute_features(x, PRESET.replace(exact=exact)) - ref).max() <= TOL_BROADBAND, word


def test_tables_match_tensorflow():
    import tensorflow as tf

    ref_mel = tf.signal.linear_to_mel_weight_matrix(40, 257, SR, 20.0, 4000.0).numpy()
    np.testing.assert_allclose(mel_filterbank(PRESET).T, ref_mel, atol=2e-5)
    assert not mel_filterbank(PRESET)[:, 0].any()  # the DC bin carries no weight
    ref_dct = tf.signal.mfccs_from_log_mel_spectrograms(tf.eye(40)).numpy()[:, :10].T
    np.testing.assert_allclose(dct_matrix(PRESET), ref_dct, atol=1e-6)


def test_variant_fields_keep_earlier_hashes_and_differ_when_set():
    base = get_preset("kws-mfcc-49x10")
    assert base.hash() == "5ec97173389beb7a"
    assert not {"spectrum", "log", "mel_weights"} & set(json.loads(base.canonical_json()))
    variants = {base.replace(spectrum="magnitude"), base.replace(log="ln"), base.replace(mel_weights="mel"),
                base.replace(dct_norm="tf")}
    assert len({v.hash() for v in variants} | {base.hash()}) == 5
    assert PRESET.device_supported and PRESET.replace(exact="device").hash() != PRESET.hash()
    with pytest.raises(Exception, match="spectrum must be"):
        base.replace(spectrum="complex")
    with pytest.raises(Exception, match="log must be"):
        base.replace(log="log2")


def test_committed_default_bundle_keeps_hash_and_device_tables():
    """The new fields change nothing for an existing bundle: same hash, byte-identical frontend C."""
    from pathlib import Path

    from edgekws.frontend import FrontendConfig
    from edgekws.frontend.ctables import TABLES_HEADER, TABLES_SOURCE, frontend_c_source

    bundle = Path(__file__).resolve().parents[1] / "models" / "default"
    meta = json.loads((bundle / "bundle.json").read_text())
    cfg = FrontendConfig.from_dict(meta["frontend"])
    assert cfg.hash() == meta["frontend_hash"]
    header, source = frontend_c_source(cfg, meta["input_norm"], meta["input"]["scale"], meta["input"]["zero_point"])
    assert header == (bundle / "c" / TABLES_HEADER).read_text()
    assert source == (bundle / "c" / TABLES_SOURCE).read_text()
