"""Distil the real-speech teacher into the on-device student (DS-CNN-S on the project's MFCC frontend).

Why more than label distillation: the student only ever hears synthetic voices, so what it can
take from the teacher is the teacher's *judgement of how a sound relates to every class*, on
audio the synthetic labels describe badly. So, per round, every training clip is drawn afresh
(speed/vocal-tract, shift, cheap microphone, room, real noise, loudness; a share mixed with a
second voice), the teacher labels that exact waveform, and the student learns

    loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(label, softmax(s))

weighted per clip: a clean-label clip the teacher finds unrecognisable (probability of its own
label below ``min_confidence``) is dropped, a doubtful one is down-weighted by the teacher's
confidence. The student keeps the frontend (``kws-mfcc-49x10``) and the int8 firmware path, so
the result is an ordinary bundle. ``alpha = 0`` on the same fresh rounds is the no-teacher
baseline of the ablation.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.data.speech_commands import LABELS, SILENCE_LABEL


@dataclass(frozen=True)
class DistillConfig:
    """Distillation knobs (chosen on synthetic data and reasoning, never on the real dev set)."""

    rounds: int = 14
    epochs_per_round: int = 2
    alpha: float = 0.7
    temperature: float = 3.0
    min_confidence: float = 0.05
    p_mix: float = 0.3
    batch_size: int = 64
    learning_rate: float = 2e-3
    seed: int = 0
    #: weight of the embedding term: the student's pooled features, through a linear map used only in
    #: training, regress the teacher's (standardised) embedding of the same audio (0: logits only)
    embed_weight: float = 0.0
    #: share of a second, bundle teacher (``edgekws teacher label-rounds``) in the teacher distribution
    bundle_weight: float = 0.5
    #: each batch's feature maps moved by a random whole number of frames in [-time_shift, time_shift]
    #: (0: off); why: a model valid in time hears a word at the window's edge through few output rows,
    #: so it must see off-centre words; the teachers' targets stay those of the unshifted clip
    time_shift: int = 0

    def __post_init__(self) -> None:
        from edgekws.errors import ConfigError

        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {self.temperature}")
        if not 0.0 <= self.bundle_weight <= 1.0:
            raise ConfigError(f"bundle_weight must be in [0, 1], got {self.bundle_weight}")
        if self.embed_weight < 0:
            raise ConfigError(f"embed_weight must be >= 0, got {self.embed_weight}")
        if self.rounds < 1 or self.epochs_per_round < 1:
            raise ConfigError("rounds and epochs_per_round must be at least 1")
        if self.time_shift < 0:
            raise ConfigError(f"time_shift must be >= 0 frames, got {self.time_shift}")


def shift_in_time(x: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """``x`` [N, frames, feats(, 1)] with each map moved by its own shift in [-max_shift, max_shift] frames.

    The frames moved in are each map's own quietest value per coefficient (its background), not a
    constant that could read as a sound the clip never had.
    """
    if max_shift == 0:
        return x
    out = np.empty_like(x)
    floor = x.min(axis=1, keepdims=True)
    n = x.shape[1]
    for i, s in enumerate(rng.integers(-max_shift, max_shift + 1, len(x))):
        out[i] = floor[i]
        if s >= 0:
            out[i, s:] = x[i, : n - s]
        else:
            out[i, : n + s] = x[i, -s:]
    return out


def distillation_loss(student_logits: Any, teacher_logits: Any, labels: Any, weights: Any,
                      alpha: float, temperature: float) -> Any:
    """Weighted mean of ``alpha T^2 KL(teacher_T || student_T) + (1 - alpha) CE(labels, student)``.

    ``labels`` are (possibly soft, mixup) label distributions; ``weights`` [N] >= 0. The ``T^2``
    factor keeps the teacher term's gradient scale independent of ``T`` (Hinton et al. 2015).
    A batch with all weights zero contributes zero loss (and zero gradient).
    """
    import tensorflow as tf

    s = tf.convert_to_tensor(student_logits, tf.float32)
    t = tf.convert_to_tensor(teacher_logits, tf.float32)
    y = tf.convert_to_tensor(labels, tf.float32)
    w = tf.convert_to_tensor(weights, tf.float32)
    log_ps_t = tf.nn.log_softmax(s / temperature)
    pt_t = tf.nn.softmax(t / temperature)
    kl = tf.reduce_sum(pt_t * (tf.math.log(pt_t + 1e-12) - log_ps_t), axis=-1)
    ce = -tf.reduce_sum(y * tf.nn.log_softmax(s), axis=-1)
    per = alpha * temperature**2 * kl + (1.0 - alpha) * ce
    return tf.reduce_sum(w * per) / tf.maximum(tf.reduce_sum(w), 1e-6)


def clip_weights(teacher_logits: np.ndarray, labels: np.ndarray, mixed: np.ndarray,
                 min_confidence: float) -> np.ndarray:
    """Per-clip weight from the teacher's confidence in the clip's own (hard) label.

    Mixed clips and silence keep weight 1 (their label is a mixture / noise by construction).
    A clean clip gets ``min(1, 2 p)`` where ``p`` is the teacher's probability of its label, and 0
    below ``min_confidence``: a TTS rendering the teacher cannot recognise teaches a wrong sound.
    """
    from edgekws.teacher.head import softmax

    p = softmax(teacher_logits)
    hard = np.argmax(labels, axis=1)
    conf = p[np.arange(len(hard)), hard]
    w = np.minimum(1.0, 2.0 * conf).astype(np.float32)
    w[conf < min_confidence] = 0.0
    sil = LABELS.index(SILENCE_LABEL)
    w[mixed | (hard == sil)] = 1.0
    return w


def round_audio(xt: np.ndarray, yt: np.ndarray, noises: list[np.ndarray], *, seed: int, k: int,
                p_mix: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Round ``k``'s fresh waveforms, soft labels and mix flags: a pure function of its seed, so a
    second teacher can label the same audio later (:mod:`edgekws.teacher.bundle_teacher`)."""
    from edgekws.teacher.fresh import fresh_batch

    rng = np.random.default_rng([seed, k])
    return fresh_batch(xt, yt, LABELS.index(SILENCE_LABEL), noises, rng, p_mix=p_mix, n_classes=len(LABELS))


def generate_rounds(data_dirs: list[str | Path], out_dir: str | Path, *, rounds: int,
                    frontend: str = "kws-mfcc-49x10", noise_dir: str | Path | None = None, p_mix: float = 0.3,
                    seed: int = 0, threads: int = 1, teacher_files: str | Path | None = None,
                    log: Any = print) -> list[Path]:
    """Write ``round_<k>.npz`` (student features, labels, mix flags, teacher embeddings) for k < rounds.

    Each round is a fresh perturbation of every training clip (seeded by ``(seed, k)``). The
    teacher's *embeddings* are stored, not its logits: the expensive backbone runs once, and any
    head (retrained, or on more engines) labels the same audio in milliseconds. Rounds already on
    disk are kept, so a longer run extends a shorter one, and the no-teacher baseline trains on
    exactly the audio the distilled student heard.
    """
    from edgekws.frontend import get_preset
    from edgekws.frontend.features import compute_features
    from edgekws.teacher.data import load_noise_folder
    from edgekws.teacher.embedding import SpeechEmbedding
    from edgekws.teacher.train import _synthetic_audio

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"round_{k}.npz" for k in range(rounds)]
    todo = [k for k, p in enumerate(paths) if not p.is_file()]
    if not todo:
        return paths
    cfg = get_preset(frontend)
    xt, yt, xv, yv = _synthetic_audio([Path(d) for d in data_dirs])
    noises = load_noise_folder(noise_dir)
    emb = SpeechEmbedding(teacher_files, threads=threads)
    (out / "rounds.json").write_text(json.dumps({"data": [str(d) for d in data_dirs], "frontend": frontend,
                                                 "noise_dir": str(noise_dir) if noise_dir else None,
                                                 "p_mix": p_mix, "seed": seed}, indent=2))
    base = out / "clean.npz"
    if not base.is_file():
        tmp = out / ".clean.tmp.npz"
        np.savez(tmp, x_train=compute_features(xt, cfg), y_train=yt, x_val=compute_features(xv, cfg), y_val=yv,
                 e_train=emb.embed(xt), e_val=emb.embed(xv))
        tmp.replace(base)
    for k in todo:
        t0 = time.perf_counter()
        audio, soft, mixed = round_audio(xt, yt, noises, seed=seed, k=k, p_mix=p_mix)
        e = emb.embed(audio)
        feats = compute_features(audio, cfg)
        tmp = out / f".round_{k}.tmp.npz"
        np.savez(tmp, x=feats.astype(np.float32), soft=soft, mixed=mixed, emb=e.astype(np.float32))
        tmp.replace(paths[k])
        log(f"distill: round {k}: {len(yt)} fresh clips, {time.perf_counter() - t0:.0f} s")
    return paths


def _round_files(rounds_dirs: list[Path], rounds: int) -> list[list[Path]]:
    """Per round index k < rounds, the ``round_<k>.npz`` of every rounds folder (one per dataset)."""
    from edgekws.errors import DatasetError

    out = []
    for k in range(rounds):
        files = [d / f"round_{k}.npz" for d in rounds_dirs]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise DatasetError(f"{missing[0]} is missing: generate {rounds} rounds first")
        out.append(files)
    return out


def _load_round(files: list[Path]) -> dict[str, np.ndarray]:
    parts = [np.load(f) for f in files]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("x", "soft", "mixed", "emb")}


def _validation_audio(rounds_dirs: list[Path], sizes: list[int]) -> np.ndarray | None:
    """The clean validation waveforms behind ``clean.npz`` (the bundle's test split), if still on disk.

    The bundle carries them so that the device can be tested from audio through its own frontend;
    when a synthetic folder has moved, the bundle is still written, with features only.
    """
    from edgekws.data.features import load_audio_split

    parts = []
    for d, n in zip(rounds_dirs, sizes, strict=True):
        meta = d / "rounds.json"
        data = json.loads(meta.read_text()).get("data", []) if meta.is_file() else []
        audio = [load_audio_split(Path(p), "validation")[0] for p in data if Path(p).is_dir()]
        if len(audio) != len(data) or not audio or sum(len(a) for a in audio) != n:
            return None
        parts.extend(audio)
    return np.concatenate(parts)


def _bundle_features(rounds_dirs: list[Path], k: int, bundle: str | Path) -> np.ndarray:
    """Round ``k``'s features through ``bundle``'s frontend, as ``label-rounds`` stored them."""
    from edgekws.errors import DatasetError
    from edgekws.teacher.bundle_teacher import feature_file

    files = [feature_file(d, k, bundle) for d in rounds_dirs]
    if not all(f.is_file() for f in files):
        raise DatasetError(f"{next(f for f in files if not f.is_file())} is missing: run 'edgekws teacher "
                           f"label-rounds --bundle {bundle}' on the rounds first")
    return np.concatenate([np.load(f) for f in files]).astype(np.float32)


def _bundle_feature_data(bundle: str | Path, dirs: list[Path], clean: dict[str, np.ndarray],
                         test_audio: np.ndarray | None) -> Any:
    """Splits in ``bundle``'s frontend and with its input normalisation (the weights expect both)."""
    from edgekws.errors import DatasetError
    from edgekws.teacher.bundle_teacher import BundleScorer
    from edgekws.train.data import FeatureData

    if test_audio is None:
        raise DatasetError("starting from a bundle needs the synthetic validation audio behind the rounds "
                           "(its folders have moved): the validation features are computed through its frontend")
    scorer = BundleScorer(bundle)
    meta = scorer.meta
    x_val = scorer.features(test_audio).astype(np.float32)
    x0 = _bundle_features(dirs, 0, bundle)
    norm = meta["input_norm"]
    return FeatureData(x0, np.zeros(len(x0), np.int64), x_val, clean["y_val"], x_val, clean["y_val"], list(LABELS),
                       dict(meta["frontend"]), str(meta["frontend_hash"]), root=None,
                       mean=np.asarray(norm["mean"], np.float32), std=np.asarray(norm["std"], np.float32))


def teacher_logits(head: Any, emb: np.ndarray, rounds_dirs: list[Path], k: int,
                   bundle_teacher: str | Path | None, bundle_weight: float) -> np.ndarray:
    """Round ``k``'s teacher logits: the head on the stored embeddings, mixed with the bundle
    teacher's stored probabilities (``edgekws teacher label-rounds``) when one is given."""
    from edgekws.errors import DatasetError
    from edgekws.teacher.bundle_teacher import label_file, mix_teachers

    t = head.logits(emb).astype(np.float32)
    if bundle_teacher is None:
        return t
    lab = [label_file(d, k, bundle_teacher) for d in rounds_dirs]
    if not all(f.is_file() for f in lab):
        raise DatasetError(f"{next(f for f in lab if not f.is_file())} is missing: run 'edgekws teacher "
                           f"label-rounds --bundle {bundle_teacher}' on the rounds first")
    return mix_teachers(t, np.concatenate([np.load(f) for f in lab]), bundle_weight)


def train_student(rounds_dirs: list[str | Path], teacher_dir: str | Path | None, out_dir: str | Path, *,
                  recipe: str = "ds-cnn-s", cfg: DistillConfig = DistillConfig(),
                  bundle_teacher: str | Path | None = None, init_bundle: str | Path | None = None,
                  log: Any = print) -> dict[str, Any]:
    """Train the student on the stored rounds with :func:`distillation_loss`; write an int8 bundle.

    ``teacher_dir``: the teacher head that turns the stored embeddings into logits (None only with
    ``alpha == 0``, the no-teacher baseline). ``bundle_teacher``: a bundle whose probabilities on the
    same rounds (``edgekws teacher label-rounds``) make up ``cfg.bundle_weight`` of the teacher.
    ``init_bundle``: start from that bundle's weights (:mod:`edgekws.train.init_weights`) and hear
    through its frontend and input normalisation (the rounds' features through it, written by
    ``label-rounds`` with the same bundle), instead of the recipe's frontend and random weights.
    The bundle's ``test`` split is the clean synthetic validation split, a sanity figure only:
    real-speech accuracy is measured on a real folder.
    """
    import tensorflow as tf
    import tf_keras as keras

    from edgekws.compress.finalize import finalize_bundle
    from edgekws.errors import ConfigError
    from edgekws.export.bundle import load_bundle
    from edgekws.frontend import get_preset
    from edgekws.teacher.head import MlpHead
    from edgekws.train.data import FeatureData
    from edgekws.train.models import build_model, count_params
    from edgekws.train.recipe import load_recipe
    from edgekws.train.trainer import set_seed

    t0 = time.perf_counter()
    dirs = [Path(d) for d in rounds_dirs]
    rec = load_recipe(recipe)
    fcfg = get_preset(rec.frontend)
    if cfg.alpha > 0 and teacher_dir is None:
        raise ConfigError("alpha > 0 needs a teacher")
    if bundle_teacher is not None and teacher_dir is None:
        raise ConfigError("a bundle teacher is mixed into the embedding teacher: give both")
    # a missing or damaged start bundle is one clear error before any work
    start = load_bundle(init_bundle).meta if init_bundle is not None else None
    head = MlpHead.load(Path(teacher_dir) / "head.npz")[0] if teacher_dir is not None else None
    cleans = [np.load(d / "clean.npz") for d in dirs]
    clean = {k: np.concatenate([c[k] for c in cleans]) for k in ("x_train", "y_train", "x_val", "y_val")}
    test_audio = _validation_audio(dirs, [len(c["y_val"]) for c in cleans])
    if init_bundle is None:
        # normalisation from the clean synthetic training clips, as the project's trainer does
        data = FeatureData(clean["x_train"], clean["y_train"], clean["x_val"], clean["y_val"], clean["x_val"],
                           clean["y_val"], list(LABELS), fcfg.to_dict(), fcfg.hash(), root=None)
    else:
        data = _bundle_feature_data(init_bundle, dirs, clean, test_audio)
    set_seed(cfg.seed)
    model = build_model(rec.model, data.input_shape, len(LABELS), name=rec.name.replace("-", "_"))
    if init_bundle is not None:
        from edgekws.train.init_weights import load_bundle_weights

        load_bundle_weights(model, init_bundle, list(LABELS), time_padding=rec.model.time_padding, log=log)
    logits_model = keras.Model(model.input, model.get_layer("fc").output)
    # embedding term: a training-only linear map from the pooled features (never exported)
    pooled = model.get_layer("flatten").output
    emb_dim = int(np.prod(cleans[0]["e_train"].shape[1:])) if cfg.embed_weight > 0 else 0
    proj = keras.layers.Dense(emb_dim, name="embed_proj") if emb_dim else None
    both_model = keras.Model(model.input, [model.get_layer("fc").output, proj(pooled)]) if proj else None
    e_mean = e_std = None
    if proj is not None:
        e0 = np.concatenate([c["e_train"] for c in cleans]).reshape(-1, emb_dim)
        e_mean, e_std = e0.mean(axis=0), e0.std(axis=0) + 1e-3  # from synthetic training clips only
    rounds = _round_files(dirs, cfg.rounds)
    n_per_round = sum(int(np.load(f)["x"].shape[0]) for f in rounds[0])
    steps_total = cfg.rounds * cfg.epochs_per_round * int(np.ceil(n_per_round / cfg.batch_size))
    opt = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps_total, alpha=0.02))

    trained = both_model if both_model is not None else logits_model
    # a model started from a bundle trains in inference mode: batch statistics in its BatchNormalization
    # layers (set to the identity) would replace the function it starts from (gamma/beta still learn)
    train_mode = init_bundle is None

    @tf.function
    def step(x: Any, t: Any, y: Any, w: Any, e: Any) -> Any:
        with tf.GradientTape() as tape:
            if both_model is not None:
                s, pe = both_model(x, training=train_mode)
                ew = w / tf.maximum(tf.reduce_sum(w), 1e-6)
                extra = cfg.embed_weight * tf.reduce_sum(ew * tf.reduce_mean(tf.square(pe - e), axis=-1))
            else:
                s, extra = logits_model(x, training=train_mode), 0.0
            loss = distillation_loss(s, t, y, w, cfg.alpha, cfg.temperature) + extra
        grads = tape.gradient(loss, trained.trainable_variables)
        opt.apply_gradients(zip(grads, trained.trainable_variables, strict=True))
        return loss

    rng = np.random.default_rng(cfg.seed)
    history: list[dict[str, float]] = []
    kept_total = seen_total = 0
    agree_total = 0.0
    for k, files in enumerate(rounds):
        z = _load_round(files)
        x = data.norm(z["x"] if init_bundle is None else _bundle_features(dirs, k, init_bundle))
        soft, mixed = z["soft"], z["mixed"]
        if head is not None:
            t = teacher_logits(head, z["emb"], dirs, k, bundle_teacher, cfg.bundle_weight)
            w = clip_weights(t, soft, mixed, cfg.min_confidence)
            agree_total += float(np.mean(np.argmax(t, 1)[~mixed] == np.argmax(soft, 1)[~mixed]))
        else:
            t = np.zeros_like(soft)
            w = np.ones(len(soft), np.float32)
        if cfg.alpha == 0:
            w = np.ones(len(soft), np.float32)  # the baseline uses every clip, as plain training would
        kept_total += int(np.sum(w > 0))
        seen_total += len(w)
        if proj is not None:
            e = ((z["emb"].reshape(len(x), -1) - e_mean) / e_std).astype(np.float32)
        else:
            e = np.zeros((len(x), 1), np.float32)
        losses = []
        for _ in range(cfg.epochs_per_round):
            perm = rng.permutation(len(x))
            for s in range(0, len(x), cfg.batch_size):
                idx = perm[s : s + cfg.batch_size]
                xb = shift_in_time(x[idx], cfg.time_shift, rng)
                losses.append(float(step(xb, t[idx], soft[idx], w[idx], e[idx])))
        val_pred = np.argmax(logits_model.predict(data.norm(data.x_val), verbose=0, batch_size=256), axis=1)
        val_acc = float(np.mean(val_pred == data.y_val))
        history.append({"round": k, "loss": float(np.mean(losses)), "synthetic_val_accuracy": val_acc,
                        "kept": float(np.mean(w > 0))})
        log(f"distill[alpha={cfg.alpha}]: round {k} loss {np.mean(losses):.3f}, synthetic val {100 * val_acc:.1f} %, "
            f"kept {100 * np.mean(w > 0):.1f} %, {time.perf_counter() - t0:.0f} s")
    # calibrate on fresh (perturbed) training clips: the int8 ranges must cover perturbed input too
    # (from a bundle, data.x_train already holds round 0's features through its frontend)
    x0 = _load_round(rounds[0])["x"] if init_bundle is None else data.x_train
    pick = np.random.default_rng(cfg.seed).choice(len(x0), size=min(300, len(x0)), replace=False)
    cal = FeatureData(x0[pick], np.zeros(len(pick), np.int64), data.x_val, data.y_val, data.x_val, data.y_val,
                      list(LABELS), data.frontend, data.frontend_hash, root=None, mean=data.mean, std=data.std)
    train_s = time.perf_counter() - t0
    recipe_doc = rec.to_dict()
    recipe_doc["distill"] = {**asdict(cfg), "teacher": str(teacher_dir) if teacher_dir else None,
                             "bundle_teacher": str(bundle_teacher) if bundle_teacher else None,
                             "init_bundle": str(init_bundle) if init_bundle else None,
                             "rounds_dirs": [str(d) for d in dirs]}
    if start is not None:
        recipe_doc["frontend"] = start["recipe"].get("frontend", recipe_doc.get("frontend"))
        # the weights derive from the start's: its licence and credit travel with them (edgekws report)
        recipe_doc["derived_from"] = {**start["recipe"], "bundle_name": start.get("name"),
                                      "bundle_hash": start.get("bundle_hash")}
        name = f"{start.get('name', 'bundle')}-distilled"
    else:
        name = f"{rec.name}-distilled" if cfg.alpha > 0 else f"{rec.name}-fresh"
    bundle = finalize_bundle(model, cal, out_dir, name=name, recipe=recipe_doc, history={"distill": history},
                             timings={"train_s": train_s}, calibration_samples=len(pick), seed=cfg.seed,
                             progress=False, test_audio=test_audio)
    info = {"config": asdict(cfg), "recipe": rec.name, "teacher": str(teacher_dir) if teacher_dir else None,
            "bundle_teacher": str(bundle_teacher) if bundle_teacher else None,
            "init_bundle": str(init_bundle) if init_bundle else None,
            "rounds_dirs": [str(d) for d in dirs], "params": count_params(model), "history": history,
            "kept_fraction": kept_total / max(seen_total, 1),
            "teacher_agreement_unmixed": agree_total / len(rounds) if head is not None else None,
            "train_s": train_s, "synthetic_test_int8": float(bundle.report["accuracy"]["int8"])}
    (Path(out_dir) / "distill.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def evaluate_bundle_int8(bundle_dir: str | Path, data_dir: str | Path) -> dict[str, Any]:
    """Every clip of a labelled folder through the bundle's frontend, clip length and int8 model on
    TFLite Micro (a bundle started from an imported one hears 1.01 s through its frontend)."""
    from edgekws.export.bundle import load_bundle
    from edgekws.teacher.bundle_teacher import BundleScorer
    from edgekws.teacher.data import load_labelled_folder
    from edgekws.teacher.train import score_predictions

    load_bundle(bundle_dir)  # checks the bundle whole (hash, files) before scoring
    audio, y, _ = load_labelled_folder(data_dir)
    pred = np.argmax(BundleScorer(bundle_dir).probabilities(audio), axis=1)
    return score_predictions(y, pred)


def generate_dataset_rounds(data_dirs: list[str | Path], out_root: str | Path, *, rounds: int,
                            frontend: str = "kws-mfcc-49x10", noise_dir: str | Path | None = None,
                            p_mix: float = 0.3, seed: int = 0, threads: int = 1) -> list[Path]:
    """Fresh rounds for each synthetic dataset in ``out_root/<i>-<name>`` (seed ``seed + 1000 i``).

    One rounds folder per dataset, so a dataset added later (another engine) gets its own rounds
    and the existing ones are reused as they are; returns the folders in ``data_dirs`` order.
    """
    dirs = []
    for i, d in enumerate(data_dirs):
        rd = Path(out_root) / f"{i}-{Path(d).name}"
        generate_rounds([d], rd, rounds=rounds, frontend=frontend, noise_dir=noise_dir, p_mix=p_mix,
                        seed=seed + 1000 * i, threads=threads)
        dirs.append(rd)
    return dirs


def distill_to_bundle(teacher_dir: str | Path | None, data_dirs: list[str | Path], out_dir: str | Path, *,
                      recipe: str = "ds-cnn-s", noise_dir: str | Path | None = None,
                      cfg: DistillConfig = DistillConfig(), threads: int = 1) -> dict[str, Any]:
    """``edgekws distill``: fresh rounds per dataset (cached under ``out_dir/rounds/<i>``), train, bundle."""
    from edgekws.train.recipe import load_recipe

    rec = load_recipe(recipe)
    dirs = generate_dataset_rounds(data_dirs, Path(out_dir) / "rounds", rounds=cfg.rounds, frontend=rec.frontend,
                                   noise_dir=noise_dir, p_mix=cfg.p_mix, seed=cfg.seed, threads=threads)
    return train_student(dirs, teacher_dir if cfg.alpha > 0 else None, out_dir, recipe=recipe, cfg=cfg)
