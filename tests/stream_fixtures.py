"""Small tone-coded "speech" datasets for the streaming tests.

Each word is a tone burst of its own frequency (with a second harmonic)
inside a 1 s clip, at a random offset and length: trivially learnable by a
tiny CNN in seconds, yet laid out exactly like Speech Commands, so the stream
generator, the host streaming mode and scoring run on it unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekws.audio import write_wav

WORD_HZ = {"yes": 500.0, "no": 900.0, "up": 1500.0, "cat": 2400.0}
SR = 16000


def tone_clip(word: str, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """1 s float32 clip: low noise plus a 0.3-0.5 s burst of the word's tone."""
    x = rng.normal(0, 0.002, sr).astype(np.float32)
    length = int(rng.uniform(0.3, 0.5) * sr)
    start = int(rng.uniform(0.1, 0.9 - length / sr) * sr)
    t = np.arange(length) / sr
    f = WORD_HZ[word] * rng.uniform(0.97, 1.03)
    env = np.hanning(length)
    burst = 0.3 * env * (np.sin(2 * np.pi * f * t) + 0.4 * np.sin(4 * np.pi * f * t))
    x[start:start + length] += burst.astype(np.float32)
    return x


def make_tone_dataset(root: Path, per_word: int = 12, seed: int = 0) -> Path:
    """Speech Commands-style folder of tone words (no list files: the hash split decides)."""
    rng = np.random.default_rng(seed)
    for word in WORD_HZ:
        for i in range(per_word):
            write_wav(root / word / f"spk{i:02d}_nohash_0.wav", tone_clip(word, rng))
    return root


def make_tone_bundle(out: Path, seed: int = 0, per_class: int = 60, epochs: int = 25) -> Path:
    """Train a tiny int8 KWS model on tone words (labels _silence_, _unknown_=cat, yes, no, up) as a bundle.

    Clips get pink noise at random levels (like the stream generator's background)
    and silence examples are noise only, so the model behaves sensibly on a
    generated stream. A few seconds of CPU with tf_keras.
    """
    import tf_keras as keras

    import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS)
    from edgekws.compress.quantize import quantize_int8, to_float_tflite
    from edgekws.export.bundle import write_bundle
    from edgekws.frontend import FrontendConfig, compute_features
    from edgekws.stream.generate import pink_noise

    labels = ["_silence_", "_unknown_", "yes", "no", "up"]
    words = {1: "cat", 2: "yes", 3: "no", 4: "up"}
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label in range(len(labels)):
        for _ in range(per_class):
            clip = tone_clip(words[label], rng) * rng.uniform(0.05, 1.5) if label else np.zeros(SR, np.float32)
            clip = clip + pink_noise(SR, rng) * 10 ** rng.uniform(-4, -2)
            xs.append(clip.astype(np.float32))
            ys.append(label)
    cfg = FrontendConfig()
    feats = compute_features(np.stack(xs), cfg)
    mean, std = feats.mean(axis=(0, 1)), feats.std(axis=(0, 1)) + 1e-6
    xn = ((feats - mean) / std).astype(np.float32)[..., None]
    y = np.array(ys)
    keras.utils.set_random_seed(seed)
    inp = keras.Input(xn.shape[1:])
    h = keras.layers.Conv2D(8, (5, 3), strides=(2, 1), padding="same", activation="relu")(inp)
    h = keras.layers.Conv2D(16, (3, 3), strides=(2, 2), padding="same", activation="relu")(h)
    h = keras.layers.AveragePooling2D((int(h.shape[1]), int(h.shape[2])))(h)  # a MEAN op has no C kernel
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(len(labels))(h)
    model = keras.Model(inp, keras.layers.Softmax()(h))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(xn, y, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    tfl = quantize_int8(model, xn[::3])
    write_bundle(out, name="tone_kws", labels=labels, frontend=cfg.to_dict(), frontend_hash=cfg.hash(),
                 input_norm={"mean": [float(v) for v in mean], "std": [float(v) for v in std]},
                 tflite_int8=tfl, tflite_float=to_float_tflite(model),
                 report={"train_accuracy": float(model.evaluate(xn, y, verbose=0)[1])}, compression={},
                 recipe={"name": "tone_kws"})
    return out


def tone_bundle(base: Path) -> Path:
    """The tone bundle under ``base`` (pytest's session temp dir), trained once per session."""
    out = base / "tone_kws_bundle"
    if not (out / "bundle.json").is_file():
        make_tone_bundle(out)
    return out
