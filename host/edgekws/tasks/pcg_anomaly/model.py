"""The beta-VAE: a small dense encoder/decoder and its seeded training loop (best epoch on validation).

Why a custom loop rather than :func:`edgekws.tasks.fit.fit`: the loss needs the
encoder's two outputs (mean, log-variance) and a reparameterised sample, and the
model is two networks (the encoder alone gives the latent scores). The loop keeps
the weights of the epoch with the lowest validation beta-ELBO, computed at the
latent mean (no sampling noise in model selection).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.fit import set_seed

#: Log-variance is clipped to this range: exp(+-10) keeps the KL and the sample finite early in training.
LOGVAR_CLIP = 10.0


def build_vae(input_dim: int, hidden: int, latent: int) -> tuple[Any, Any]:
    """``(encoder, decoder)``: encoder ``x -> [mu | logvar]`` (``2 * latent``), decoder ``z -> x_hat``."""
    import tf_keras as keras

    x = keras.Input((input_dim,), name="window")
    h = keras.layers.Dense(hidden, activation="relu", name="enc_hidden")(x)
    stats = keras.layers.Dense(2 * latent, name="enc_stats")(h)
    encoder = keras.Model(x, stats, name="encoder")
    z = keras.Input((latent,), name="z")
    g = keras.layers.Dense(hidden, activation="relu", name="dec_hidden")(z)
    out = keras.layers.Dense(input_dim, name="dec_out")(g)
    decoder = keras.Model(z, out, name="decoder")
    return encoder, decoder


def split_stats(stats: Any, latent: int) -> tuple[Any, Any]:
    import tensorflow as tf

    return stats[:, :latent], tf.clip_by_value(stats[:, latent:], -LOGVAR_CLIP, LOGVAR_CLIP)


def latent_and_recon(encoder: Any, decoder: Any, x: np.ndarray, latent: int,
                     batch: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mu, logvar, x_hat)`` of every window, decoding the latent mean (the deterministic reconstruction)."""
    mus, lvs, recs = [], [], []
    for s in range(0, len(x), batch):
        st = encoder(x[s:s + batch], training=False)
        mu, lv = split_stats(st, latent)
        mus.append(mu.numpy())
        lvs.append(lv.numpy())
        recs.append(decoder(mu, training=False).numpy())
    return np.concatenate(mus), np.concatenate(lvs), np.concatenate(recs)


def elbo_terms(x: np.ndarray, mu: np.ndarray, logvar: np.ndarray, x_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per window: ``0.5 * sum (x - x_hat)^2`` and ``KL(N(mu, exp(logvar)) || N(0, I))``."""
    rec = 0.5 * np.sum((x - x_hat) ** 2, axis=1)
    kl = 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1.0 - logvar, axis=1)
    return rec, kl


def train_vae(x: np.ndarray, x_val: np.ndarray, beta: float, *, hidden: int, latent: int, epochs: int,
              batch_size: int, learning_rate: float, seed: int, title: str,
              progress: ProgressFn = no_progress) -> tuple[Any, Any, dict[str, list[float]]]:
    """Train one beta-VAE on ``x`` (``[n, dim]`` standardised windows); restore its best validation epoch."""
    import tensorflow as tf
    import tf_keras as keras

    set_seed(seed)
    encoder, decoder = build_vae(x.shape[1], hidden, latent)
    opt = keras.optimizers.Adam(learning_rate)
    variables = encoder.trainable_variables + decoder.trainable_variables
    b = tf.constant(float(beta), tf.float32)

    @tf.function(reduce_retracing=True)
    def step(xb: Any, eps: Any) -> Any:
        with tf.GradientTape() as tape:
            mu, lv = split_stats(encoder(xb, training=True), latent)
            z = mu + tf.exp(0.5 * lv) * eps
            x_hat = decoder(z, training=True)
            rec = 0.5 * tf.reduce_sum(tf.square(xb - x_hat), axis=1)
            kl = 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(lv) - 1.0 - lv, axis=1)
            loss = tf.reduce_mean(rec + b * kl)
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    rng = np.random.default_rng([seed, 5])
    steps = max(1, int(np.ceil(len(x) / batch_size)))
    history: dict[str, list[float]] = {"loss": [], "val_loss": [], "val_reconstruction": [], "val_kl": []}
    best, best_w = np.inf, None
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for s in range(steps):
            idx = order[s * batch_size:(s + 1) * batch_size]
            eps = rng.standard_normal((len(idx), latent)).astype(np.float32)
            total += float(step(tf.constant(x[idx]), tf.constant(eps))) * len(idx)
            progress(title, epoch * steps + s + 1, epochs * steps)
        mu, lv, x_hat = latent_and_recon(encoder, decoder, x_val, latent)
        rec, kl = elbo_terms(x_val, mu, lv, x_hat)
        val = float(np.mean(rec + beta * kl))
        history["loss"].append(total / len(x))
        history["val_loss"].append(val)
        history["val_reconstruction"].append(float(rec.mean()))
        history["val_kl"].append(float(kl.mean()))
        if np.isfinite(val) and val < best:
            best, best_w = val, (encoder.get_weights(), decoder.get_weights())
    if best_w is not None:
        encoder.set_weights(best_w[0])
        decoder.set_weights(best_w[1])
    history["best_epoch"] = [float(int(np.nanargmin(history["val_loss"])) + 1)]
    return encoder, decoder, history


def count_params(*models: Any) -> int:
    return int(sum(int(np.sum([np.prod(w.shape) for w in m.trainable_weights])) for m in models))
