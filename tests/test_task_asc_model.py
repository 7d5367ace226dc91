"""asc model parts: complexity counted the challenge's way, the augmentations, the curricula, the metrics, the loss."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgekws.tasks.asc import augment, curriculum, metrics, models
from edgekws.tasks.asc.config import ModelConfig, task_frontend


def test_complexity_counts_params_and_macs_by_hand() -> None:
    m = models.build_cnn(8, 6, 3, (4, 5), name="tiny")
    cx = models.complexity(m)
    # b0: 3x3x1x4 conv (no bias) on 8x6 + BN(4: scale, shift) -> pool 4x3; b1: 3x3x4x5 on 4x3 + BN(5) -> pool 2x1;
    # head 1x1 conv 5->3 with bias on 2x1
    assert cx.params == 36 + 8 + 180 + 10 + 15 + 3
    assert cx.conv_macs == {"b0_conv0": 8 * 6 * 4 * 9, "b1_conv0": 4 * 3 * 5 * 9 * 4, "classes": 2 * 1 * 3 * 5}
    assert cx.macs == sum(cx.conv_macs.values())
    assert cx.param_bytes(8) == cx.params and cx.param_bytes(16) == 2 * cx.params


def test_default_scene_cnn_is_within_the_challenge_limits() -> None:
    fe = task_frontend()
    frames = fe.num_frames(fe.sample_rate)  # one second, the challenge's clip
    cfg = ModelConfig()
    cx = models.complexity(models.build_cnn(frames, fe.n_mels, 10, cfg.channels, cfg.convs_per_block))
    assert cx.within_limits(8) and cx.macs <= models.MAX_MACS and cx.params <= models.MAX_PARAM_BYTES
    too_big = models.complexity(models.build_cnn(frames, fe.n_mels, 10, (64, 128, 256), 2))
    assert not too_big.within_limits(8)


def test_freq_mixstyle_mixes_band_statistics() -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((6, 50, 4)) * [1, 2, 3, 4] + [10, 0, -5, 3]).astype(np.float32)
    assert augment.freq_mixstyle(x, 0.0, 0.4, np.random.default_rng(1)) is x
    out = augment.freq_mixstyle(x, 1.0, 0.4, np.random.default_rng(1))
    # replay the draws: every clip's band means become lam * own + (1 - lam) * partner's
    r = np.random.default_rng(1)
    perm = r.permutation(6)
    lam = r.beta(0.4, 0.4, size=6)
    mu = x.mean(axis=1)
    np.testing.assert_allclose(out.mean(axis=1), lam[:, None] * mu + (1 - lam[:, None]) * mu[perm], rtol=1e-4,
                               atol=1e-4)


def test_dir_gains_of_known_filters() -> None:
    fe = task_frontend()
    delay = np.zeros(16)
    delay[3] = 1.0
    np.testing.assert_allclose(augment.ir_band_gains([delay], fe), 0.0, atol=1e-4)  # a pure delay colours nothing
    half = np.array([0.5])
    np.testing.assert_allclose(augment.ir_band_gains([half], fe), 20 * math.log10(0.5), atol=1e-4)
    lowpass = np.ones(8) / math.sqrt(8)  # a moving average: loud at low, quiet at high frequencies
    g = augment.ir_band_gains([lowpass], fe)[0]
    assert g[0] > 8.0 and g[-1] < -10.0
    x = np.zeros((4, 5, fe.n_mels), np.float32)
    out = augment.apply_dir(x, augment.ir_band_gains([half], fe), 1.0, np.random.default_rng(0))
    np.testing.assert_allclose(out, 20 * math.log10(0.5), atol=1e-4)
    bank = augment.ir_bank(5, 1, fe.sample_rate)
    assert len(bank) == 5 and all(abs(np.sum(h * h) - 1) < 1e-9 for h in bank)


def test_entropy_schedule_starts_device_ambiguous_and_grows() -> None:
    uniform, sure = np.full(4, 0.25), np.array([0.97, 0.01, 0.01, 0.01])
    assert curriculum.entropy(np.array([uniform]))[0] == pytest.approx(math.log(4))
    assert curriculum.entropy(np.array([sure]))[0] < 0.2
    ent = np.array([0.1, 1.3, 0.5, 1.0, 0.2, 0.9, 1.1, 0.3, 0.8, 0.7])
    first = curriculum.entropy_schedule(ent, 0, 10, 0.3, 0.5)
    assert sorted(first.tolist()) == [1, 3, 6]  # the three highest entropies
    sizes = [len(curriculum.entropy_schedule(ent, e, 10, 0.3, 0.5)) for e in range(10)]
    assert sizes == sorted(sizes) and sizes[-1] == 10 and sizes[5] == 10  # all clips from pace * epochs on


def test_ddsc_weights_fuse_invariance_and_progress_over_time() -> None:
    inv = np.array([0.0, 0.5, 1.0, 1.0])
    w0 = curriculum.ddsc_weights(inv, None, None, 0, 10, 0.2)
    assert w0.mean() == pytest.approx(1.0) and np.all(np.diff(w0) >= 0)  # invariance alone at first
    prev, now = np.array([2.0, 2.0, 2.0, 2.0]), np.array([0.5, 1.5, 1.9, 2.1])  # clip 0 progresses most
    late = curriculum.ddsc_weights(inv, prev, now, 9, 10, 0.2)
    assert curriculum.ddsc_lambda(0, 10) == 1.0 and curriculum.ddsc_lambda(9, 10) == pytest.approx(0.0)
    assert np.argmax(late) == 0 and np.argmin(late) == 3  # progress alone at the end
    assert late.min() > 0 and late.mean() == pytest.approx(1.0)


def test_classwise_accuracy_and_mcnemar() -> None:
    y = np.array([0, 0, 0, 0, 1, 1])
    pred = np.array([0, 0, 0, 0, 0, 1])
    assert metrics.classwise_accuracy(pred, y, 3) == pytest.approx(0.75)  # (4/4 + 1/2) / 2; class 2 absent
    assert metrics.per_class_accuracy(pred, y, 3) == [1.0, 0.5, None]
    lo, hi = metrics.bootstrap_classwise(pred, y, 3)
    assert 0.0 <= lo <= 0.75 <= hi <= 1.0
    a = np.array([True] * 10 + [False] * 10)
    b = np.array([False] * 10 + [False] * 10)
    assert metrics.mcnemar_p(a, b) == pytest.approx(2 / 2 ** 10)  # 10 discordant, all one way
    assert metrics.mcnemar_p(a, a) == 1.0


def test_distill_loss_is_ce_plus_scaled_kl() -> None:
    import tensorflow as tf

    from edgekws.tasks.asc.trainer import distill_loss, softmax

    logits = np.array([[2.0, 0.0, -1.0]], np.float32)
    teacher = softmax(np.array([[0.0, 1.0, 0.0]]), 2.0)
    y = np.concatenate([[[1.0, 0.0, 0.0]], teacher], axis=1).astype(np.float32)
    ce = -np.log(softmax(logits)[0, 0])
    ps = softmax(logits, 2.0)[0]
    kl = float(np.sum(teacher[0] * (np.log(teacher[0]) - np.log(ps))))
    assert float(distill_loss(3, 0.0, 2.0)(tf.constant(y), tf.constant(logits))[0]) == pytest.approx(ce, rel=1e-5)
    got = float(distill_loss(3, 0.5, 2.0)(tf.constant(y), tf.constant(logits))[0])
    assert got == pytest.approx(0.5 * ce + 0.5 * 4.0 * kl, rel=1e-5)


def test_cosine_learning_rate_settles_by_the_last_epoch() -> None:
    from edgekws.tasks.asc.trainer import cosine_lr

    lrs = [cosine_lr(1e-2, e, 10) for e in range(10)]
    assert lrs[0] == pytest.approx(1e-2) and lrs[-1] == pytest.approx(2e-4)
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False)) and cosine_lr(1e-2, 0, 1) == 1e-2
