"""Distillation: loss properties, teacher-confidence weights, fresh augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.data.speech_commands import LABELS, SILENCE_LABEL


def _np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def logits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    s = rng.normal(0, 2, (8, 12)).astype(np.float32)
    t = rng.normal(0, 2, (8, 12)).astype(np.float32)
    y = np.eye(12, dtype=np.float32)[rng.integers(0, 12, 8)]
    return s, t, y


def test_loss_is_zero_when_student_matches_teacher_and_positive_otherwise(logits) -> None:
    from edgekws.train.distill import distillation_loss

    s, t, y = logits
    w = np.ones(8, np.float32)
    assert abs(float(distillation_loss(t, t, y, w, 1.0, 3.0))) < 1e-5
    assert float(distillation_loss(s, t, y, w, 1.0, 3.0)) > 0.1


def test_alpha_zero_is_plain_cross_entropy(logits) -> None:
    from edgekws.train.distill import distillation_loss

    s, t, y = logits
    w = np.ones(8, np.float32)
    ce = float(np.mean(-np.sum(y * np.log(_np_softmax(s.astype(np.float64))), axis=1)))
    assert float(distillation_loss(s, t, y, w, 0.0, 3.0)) == pytest.approx(ce, rel=1e-5)
    # and it ignores the teacher entirely
    assert float(distillation_loss(s, -t, y, w, 0.0, 3.0)) == pytest.approx(ce, rel=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 5.0])
def test_teacher_gradient_is_t_times_softened_difference(logits, temperature: float) -> None:
    """d/ds [T^2 KL(p_t^T || p_s^T)] = T (p_s^T - p_t^T): the scale Hinton's T^2 factor promises."""
    import tensorflow as tf

    from edgekws.train.distill import distillation_loss

    s, t, y = logits
    w = np.ones(8, np.float32)
    sv = tf.Variable(s)
    with tf.GradientTape() as tape:
        loss = distillation_loss(sv, t, y, w, 1.0, temperature)
    g = tape.gradient(loss, sv).numpy()
    want = temperature * (_np_softmax(s / temperature) - _np_softmax(t / temperature)) / len(s)
    np.testing.assert_allclose(g, want, rtol=1e-3, atol=1e-6)


def test_weights_select_and_zero_weights_are_inert(logits) -> None:
    from edgekws.train.distill import distillation_loss

    s, t, y = logits
    w = np.zeros(8, np.float32)
    w[:3] = 1.0
    sub = float(distillation_loss(s[:3], t[:3], y[:3], np.ones(3, np.float32), 0.5, 2.0))
    assert float(distillation_loss(s, t, y, w, 0.5, 2.0)) == pytest.approx(sub, rel=1e-5)
    assert float(distillation_loss(s, t, y, np.zeros(8, np.float32), 0.5, 2.0)) == 0.0


def test_clip_weights_drop_clips_the_teacher_cannot_recognise() -> None:
    from edgekws.train.distill import clip_weights

    n = len(LABELS)
    yes, no, sil = LABELS.index("yes"), LABELS.index("no"), LABELS.index(SILENCE_LABEL)
    t = np.zeros((4, n), np.float32)
    t[0, yes] = 10.0   # sure it is "yes", labelled "yes": keep, weight 1
    t[1, no] = 10.0    # sure it is "no", labelled "yes": drop
    t[2, no] = 10.0    # same, but a mixup clip: kept (its label is a mixture)
    t[3, no] = 10.0    # silence clip: kept (noise is noise)
    labels = np.eye(n, dtype=np.float32)[[yes, yes, yes, sil]]
    w = clip_weights(t, labels, np.array([False, False, True, False]), 0.05)
    np.testing.assert_array_equal(w, [1.0, 0.0, 1.0, 1.0])


def test_fresh_batches_are_seeded_new_and_labelled() -> None:
    from edgekws.teacher.fresh import fresh_batch

    rng0 = np.random.default_rng(3)
    t = np.arange(16000) / 16000
    audio = np.stack([0.5 * np.sin(2 * np.pi * (200 + 50 * i) * t) * (np.abs(t - 0.5) < 0.2) for i in range(6)])
    y = np.array([2, 3, 4, 5, 0, 1])
    noises = [rng0.normal(0, 0.1, 40000).astype(np.float32)]
    a1, s1, m1 = fresh_batch(audio, y, 0, noises, np.random.default_rng(7), p_mix=0.5)
    a2, s2, _ = fresh_batch(audio, y, 0, noises, np.random.default_rng(7), p_mix=0.5)
    a3, _, _ = fresh_batch(audio, y, 0, noises, np.random.default_rng(8), p_mix=0.5)
    np.testing.assert_array_equal(a1, a2)  # same seed, same audio
    assert np.abs(a1 - a3).max() > 1e-3    # new seed, a new draw of every clip
    assert a1.shape == audio.shape and a1.dtype == np.float32 and np.abs(a1).max() <= 1.0
    np.testing.assert_allclose(s1.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(np.argmax(s1, axis=1)[~m1] == y[~m1])
    assert np.all(s1[m1].max(axis=1) < 1.0)


@pytest.mark.slow
def test_rounds_to_int8_student_end_to_end(tmp_path) -> None:
    """Fresh rounds from a tiny dataset -> distilled student -> int8 bundle scored on TFLite Micro."""
    import json

    import soundfile as sf

    from edgekws.audio import float_to_pcm16
    from edgekws.data.features import load_audio_split
    from edgekws.export.bundle import load_bundle
    from edgekws.teacher import cache
    from edgekws.teacher.head import HeadConfig
    from edgekws.teacher.train import train_teacher_from_rounds
    from edgekws.train.distill import (
        DistillConfig,
        evaluate_bundle_int8,
        generate_dataset_rounds,
        train_student,
    )

    if not cache.is_installed():
        pytest.skip("teacher cache absent (tools/setup.sh runs tools/fetch_teacher.py)")
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    t = np.arange(16000) / 16000
    for i, word in enumerate(["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed", "cat"]):
        (root / word).mkdir(parents=True)
        for k in range(6):
            x = 0.4 * np.sin(2 * np.pi * (150 + 60 * i) * t * (1 + 0.02 * k)) * (np.abs(t - 0.5) < 0.25)
            sf.write(root / word / f"s{k}{i:02d}_nohash_0.wav", (x + rng.normal(0, 0.01, 16000)).astype(np.float32),
                     16000, subtype="PCM_16")
    (root / "_background_noise_").mkdir()
    sf.write(root / "_background_noise_" / "n.wav", rng.normal(0, 0.1, 48000).astype(np.float32), 16000,
             subtype="PCM_16")
    (rdir,) = generate_dataset_rounds([root], tmp_path / "rounds", rounds=1, noise_dir=root / "_background_noise_")
    assert rdir == tmp_path / "rounds" / "0-data"
    z = np.load(rdir / "round_0.npz")
    assert z["x"].shape[1:] == (49, 10) and z["emb"].shape[1:] == (3, 96) and len(z["x"]) == len(z["soft"])
    train_teacher_from_rounds([rdir], tmp_path / "teacher", rounds=1, head_cfg=HeadConfig(epochs=3), log=lambda m: None)
    info = train_student([rdir], tmp_path / "teacher", tmp_path / "student",
                         cfg=DistillConfig(rounds=1, epochs_per_round=1, embed_weight=0.5), log=lambda m: None)
    assert info["params"] < 30000  # the embedding term's training-only map is not part of the student
    assert info["config"]["embed_weight"] == 0.5
    res = evaluate_bundle_int8(tmp_path / "student", root)
    acc = res["accuracy_12"]
    assert acc["n"] == 72 and acc["ci_low"] <= acc["accuracy"] <= acc["ci_high"]
    assert json.loads((tmp_path / "student" / "distill.json").read_text())["config"]["alpha"] == 0.7
    # the bundle is complete like a trained one: ONNX, and test audio for the device's own frontend
    bundle = load_bundle(tmp_path / "student")
    assert (tmp_path / "student" / "model.onnx").is_file()
    ts = np.load(tmp_path / "student" / "testset.npz")
    val = float_to_pcm16(load_audio_split(root, "validation")[0])
    assert ts["audio_int16"].shape == (len(ts["y"]), 16000) and len(ts["y"]) > 0
    assert all(any(np.array_equal(a, v) for v in val) for a in ts["audio_int16"])
    assert bundle.meta["labels"][0] == "_silence_"
    # a second teacher: a bundle (here the student itself) labels the round's exact audio, drawn again
    from edgekws.errors import DatasetError
    from edgekws.teacher.bundle_teacher import BundleScorer, label_file, label_rounds
    from edgekws.train.distill import round_audio

    (lab,) = label_rounds(rdir, tmp_path / "student", rounds=1, log=lambda m: None)
    assert lab == label_file(rdir, 0, tmp_path / "student") and lab.is_file()
    meta = json.loads((rdir / "rounds.json").read_text())
    from edgekws.teacher.data import load_noise_folder
    from edgekws.teacher.train import _synthetic_audio

    xt, yt, _, _ = _synthetic_audio([root])
    audio, _, _ = round_audio(xt, yt, load_noise_folder(meta["noise_dir"]), seed=meta["seed"], k=0,
                              p_mix=meta["p_mix"])
    probs = np.load(lab)
    np.testing.assert_array_equal(probs, BundleScorer(tmp_path / "student").probabilities(audio))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    from edgekws.teacher.head import MlpHead
    from edgekws.train.distill import teacher_logits

    head = MlpHead.load(tmp_path / "teacher" / "head.npz")[0]
    emb = np.load(rdir / "round_0.npz")["emb"]
    np.testing.assert_allclose(np.exp(teacher_logits(head, emb, [rdir], 0, tmp_path / "student", 1.0)), probs,
                               atol=1e-6)  # weight 1: the bundle's distribution is what the student is taught
    np.testing.assert_array_equal(teacher_logits(head, emb, [rdir], 0, None, 1.0), head.logits(emb))
    both = train_student([rdir], tmp_path / "teacher", tmp_path / "student2", cfg=DistillConfig(rounds=1, epochs_per_round=1),
                         bundle_teacher=tmp_path / "student", log=lambda m: None)
    assert both["bundle_teacher"] == str(tmp_path / "student") and both["config"]["bundle_weight"] == 0.5
    # the bundle's own features of the same audio, for a student that starts from the bundle
    from edgekws.teacher.bundle_teacher import feature_file

    feats = np.load(feature_file(rdir, 0, tmp_path / "student"))
    np.testing.assert_array_equal(feats, BundleScorer(tmp_path / "student").features(audio))
    init = train_student([rdir], tmp_path / "teacher", tmp_path / "init", bundle_teacher=tmp_path / "student",
                         cfg=DistillConfig(rounds=1, epochs_per_round=1, learning_rate=1e-7),
                         init_bundle=tmp_path / "student", log=lambda m: None)
    assert init["init_bundle"] == str(tmp_path / "student")
    from edgekws.errors import BundleError

    with pytest.raises(BundleError, match="not a directory"):  # one clear line, before any work
        train_student([rdir], tmp_path / "teacher", tmp_path / "init2", init_bundle=tmp_path / "no-such-bundle",
                      cfg=DistillConfig(rounds=1, epochs_per_round=1), log=lambda m: None)
    assert not (tmp_path / "init2").exists()
    # a learning rate too small to move it: the new student decides as the bundle it started from
    before = BundleScorer(tmp_path / "student").probabilities(audio)
    after = BundleScorer(tmp_path / "init").probabilities(audio)
    assert np.mean(np.argmax(before, 1) == np.argmax(after, 1)) >= 0.9
    assert np.abs(before - after).mean() < 0.03
    assert load_bundle(tmp_path / "init").meta["frontend_hash"] == bundle.meta["frontend_hash"]
    start = load_bundle(tmp_path / "init").meta["recipe"]["derived_from"]  # the start's record travels along
    assert start["bundle_hash"] == bundle.bundle_hash and start["bundle_name"] == bundle.meta["name"]
    lab.unlink()  # labels missing: one clear error, not a silent embedding-only teacher
    with pytest.raises(DatasetError, match="label-rounds"):
        train_student([rdir], tmp_path / "teacher", tmp_path / "student3", cfg=DistillConfig(rounds=1, epochs_per_round=1),
                      bundle_teacher=tmp_path / "student", log=lambda m: None)
    z = dict(np.load(rdir / "round_0.npz"))
    z["x"] = z["x"] + 1.0  # a round whose audio can no longer be drawn again is refused
    np.savez(rdir / "round_0.npz", **z)
    with pytest.raises(DatasetError, match="cannot be drawn again"):
        label_rounds(rdir, tmp_path / "student", rounds=1, log=lambda m: None)


def test_mixed_teacher_is_the_weighted_average_of_the_two_distributions() -> None:
    from edgekws.teacher.bundle_teacher import mix_teachers
    from edgekws.teacher.head import softmax

    rng = np.random.default_rng(3)
    head = rng.normal(0, 2, (5, 12)).astype(np.float32)
    other = softmax(rng.normal(0, 2, (5, 12))).astype(np.float32)
    np.testing.assert_allclose(np.exp(mix_teachers(head, other, 0.0)), softmax(head), atol=1e-6)
    np.testing.assert_allclose(np.exp(mix_teachers(head, other, 1.0)), other, atol=1e-6)
    np.testing.assert_allclose(np.exp(mix_teachers(head, other, 0.25)), 0.75 * softmax(head) + 0.25 * other,
                               atol=1e-6)


def test_shift_in_time_moves_each_map_and_fills_with_its_background() -> None:
    """--time-shift: every map moved by its own whole number of frames within the bound, the frames
    moved in are the map's per-coefficient minimum, nothing else changes; 0 leaves the batch alone."""
    from edgekws.errors import ConfigError
    from edgekws.train.distill import DistillConfig, shift_in_time

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 50, 10)).astype(np.float32)
    assert shift_in_time(x, 0, rng) is x
    y = shift_in_time(x, 8, np.random.default_rng(1))
    shifts = np.random.default_rng(1).integers(-8, 9, len(x))
    assert len(set(shifts.tolist())) > 5
    for xi, yi, s in zip(x, y, shifts, strict=True):
        floor = xi.min(axis=0)
        if s >= 0:
            np.testing.assert_array_equal(yi[s:], xi[: 50 - s])
            np.testing.assert_array_equal(yi[:s], np.broadcast_to(floor, (s, 10)))
        else:
            np.testing.assert_array_equal(yi[: 50 + s], xi[-s:])
            np.testing.assert_array_equal(yi[50 + s:], np.broadcast_to(floor, (-s, 10)))
    with pytest.raises(ConfigError, match="time_shift"):
        DistillConfig(time_shift=-1)
