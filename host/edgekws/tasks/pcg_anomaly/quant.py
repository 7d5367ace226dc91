"""The trained beta-VAEs as int8 TFLite models scored with TFLite Micro: does int8 keep the anomaly AUC?

Why this much and not the KWS bundle path: the bundle, its C export and the firmware
self-test are built around a classifier (labels, softmax, accuracy); an anomaly
detector outputs a reconstruction and latent statistics instead. What is checked
here is the part that decides whether a microcontroller could run it: the
deterministic scoring networks (encoder -> latent mean -> decoder, and encoder ->
[mean | log-variance]) quantised by the project's one int8 quantiser
(:func:`edgekws.compress.quantize.quantize_int8`: per-channel weights, int8 I/O,
calibrated on training windows only) and run in TFLite Micro, the runtime the
firmware matches bit for bit. Every record's scores are then computed from the
dequantised outputs exactly as the float ones are, and the AUCs compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.configs import from_dict
from edgekws.tasks.norm import Norm
from edgekws.tasks.pcg.physionet import index_physionet
from edgekws.tasks.pcg_anomaly import metrics, model
from edgekws.tasks.pcg_anomaly.config import SCORES, TrainConfig
from edgekws.tasks.pcg_anomaly.features import standardise
from edgekws.tasks.pcg_anomaly.pipeline import FRONTEND, TRAIN, _paths, _windows
from edgekws.tasks.runner import RUN_INFO, read_json


def scoring_models(encoder: Any, decoder: Any, latent: int) -> tuple[Any, Any]:
    """``(stats, recon)``: the encoder as is, and x -> latent mean -> x_hat as one plain dense stack.

    The mean is the first ``latent`` columns of the encoder's last layer, copied into a
    Dense of its own: a slice op in the graph would be one more op to quantise and run.
    """
    import tf_keras as keras

    x = keras.Input(encoder.input_shape[1:], name="window")
    h = keras.layers.Dense(encoder.get_layer("enc_hidden").units, activation="relu", name="enc_hidden")(x)
    mu = keras.layers.Dense(latent, name="enc_mean")(h)
    g = keras.layers.Dense(decoder.get_layer("dec_hidden").units, activation="relu", name="dec_hidden")(mu)
    out = keras.layers.Dense(decoder.output_shape[-1], name="dec_out")(g)
    recon = keras.Model(x, out, name="vae_recon")
    recon.get_layer("enc_hidden").set_weights(encoder.get_layer("enc_hidden").get_weights())
    k, b = encoder.get_layer("enc_stats").get_weights()
    recon.get_layer("enc_mean").set_weights([k[:, :latent], b[:latent]])
    for name in ("dec_hidden", "dec_out"):
        recon.get_layer(name).set_weights(decoder.get_layer(name).get_weights())
    return encoder, recon


def run_int8(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """Quantise ``x`` with the model's input scale, run TFLite Micro window by window, dequantise the output."""
    from edgekws.compress.quantize import io_quant, quantize_input
    from edgekws.tflm import TflmModel

    inp, out = io_quant(tflite)
    q = TflmModel(tflite).run_batch(list(quantize_input(x, inp["scale"], inp["zero_point"])))
    return (q.astype(np.float32) - out["zero_point"]) * np.float32(out["scale"])


def _record_means(ws: dict[str, np.ndarray], bounds: np.ndarray) -> dict[str, np.ndarray]:
    return {s: np.array([v[a:z].mean() for a, z in zip(bounds[:-1], bounds[1:], strict=True)]) for s, v in ws.items()}


def int8_scores(run: Path, data: Path | None = None, betas: tuple[str, ...] = (), calibration: int = 256,
                progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Float vs int8 (TFLite Micro) AUC of every score for the run's models (``betas``: names; all if empty)."""
    from edgekws.compress.quantize import quantize_int8
    from edgekws.frontend import FrontendConfig

    info = read_json(run / RUN_INFO, "run info")
    cfg = from_dict(TrainConfig, info["config"])
    data = Path(data) if data is not None else Path(info["data"])
    frontend = FrontendConfig.from_dict(read_json(run / FRONTEND, "frontend config"))
    trained = read_json(run / TRAIN, "training summary")
    by_id = {r.record_id: r for r in index_physionet(data)}
    norm = Norm.from_dict(trained["norm"])
    train_recs = [by_id[r] for r in trained["split"]["train"]]
    test = [by_id[r] for r in trained["split"]["test"]]
    x_cal = standardise(norm, np.concatenate(_windows(train_recs, frontend, cfg, "calibration", progress)))
    x_cal = x_cal[np.random.default_rng([cfg.seed, 23]).permutation(len(x_cal))[:calibration]]
    wins = [standardise(norm, w) for w in _windows(test, frontend, cfg, "test", progress)]
    bounds = np.cumsum([0] + [len(w) for w in wins])
    x = np.concatenate(wins)
    labels = np.array([int(r.abnormal) for r in test])
    out: dict[str, Any] = {"data": str(data), "n_normal": int((labels == 0).sum()), "n_abnormal": int(labels.sum()),
                           "calibration_windows": len(x_cal), "betas": {}}
    names = [n for n in trained["betas"] if not betas or n in betas]
    for i, name in enumerate(names):
        b = trained["betas"][name]
        enc, dec = model.build_vae(x.shape[1], cfg.hidden, cfg.latent_dim)
        for m, p in zip((enc, dec), _paths(run, b["beta"]), strict=True):
            m.load_weights(str(p))
        stats, recon = scoring_models(enc, dec, cfg.latent_dim)
        mean, cov = np.asarray(b["latent_mean"]), np.asarray(b["latent_cov"])
        res: dict[str, Any] = {"beta": b["beta"]}
        tfl_recon, tfl_stats = quantize_int8(recon, x_cal), quantize_int8(stats, x_cal)
        for kind, (st, rc) in (("float", (stats.predict(x, batch_size=512, verbose=0),
                                          recon.predict(x, batch_size=512, verbose=0))),
                               ("int8", (run_int8(tfl_stats, x), run_int8(tfl_recon, x)))):
            mu, lv = st[:, :cfg.latent_dim], np.clip(st[:, cfg.latent_dim:], -model.LOGVAR_CLIP, model.LOGVAR_CLIP)
            per = _record_means(metrics.window_scores(x, mu, lv, rc, mean, cov), bounds)
            res[kind] = {s: metrics.auc(labels, per[s]) for s in SCORES}
            res[f"{kind}_per_record"] = {s: {r.record_id: float(v) for r, v in zip(test, per[s], strict=True)}
                                         for s in SCORES}
            res[f"{kind}_recon_mse"] = float(np.mean((x - rc) ** 2))
        res["tflite_bytes"] = {"recon": len(tfl_recon), "encoder": len(tfl_stats)}
        out["betas"][name] = res
        progress("int8 models", i + 1, len(names))
    return out
