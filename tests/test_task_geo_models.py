"""geo-tagging models: each method sees exactly the inputs it should (context changes every fusion's output
and never audio-only's), and a fusion learns what only the context can tell."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.tasks.geo_tagging import models
from edgekws.tasks.geo_tagging.config import ModelConfig

CFG = ModelConfig(channels=(4, 4), time_pool=(2, 2), freq_pool=(2, 2), embedding=8, context_units=8, dropout=0.0)
FRAMES, BANDS, CTX, K = 16, 8, 11, 3


def _inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, FRAMES, BANDS, 1)).astype(np.float32)
    c1 = rng.dirichlet(np.ones(CTX), size=6).astype(np.float32)
    c2 = np.roll(c1, 3, axis=1)  # the same audio heard in other places
    return x, c1, c2


@pytest.mark.slow  # builds four small Keras models (~10 s with TensorFlow start-up)
def test_context_reaches_exactly_the_methods_that_use_it() -> None:
    from edgekws.tasks.fit import set_seed

    x, c1, c2 = _inputs()
    outs = {}
    for method in models.KERAS_METHODS:
        set_seed(0)
        model = models.build(method, FRAMES, BANDS, CTX, K, CFG)
        a = model.predict(models.inputs_for(method, x, c1), verbose=0)
        b = model.predict(models.inputs_for(method, x, c2), verbose=0)
        assert a.shape == (6, K) and np.all((a > 0) & (a < 1))
        changed = float(np.abs(a - b).max())
        if method == "audio-only":
            assert changed == 0.0
        else:
            assert changed > 1e-4, (method, changed)
        outs[method] = a
    # the methods are different networks, not one network under four names
    assert not np.allclose(outs["feature-fusion"], outs["representation-fusion"])
    # decision-level: the fused probability moves with the context expert and, with a = b = 1, c = 0,
    # is the product of experts (the odds multiply)
    w = np.tile([1.0, 1.0, 0.0], (K, 1))
    pa, pc = outs["audio-only"], outs["context-only"]
    fused = models.apply_decision(w, pa, pc)
    np.testing.assert_allclose(fused / (1 - fused), pa / (1 - pa) * pc / (1 - pc), rtol=1e-5)
    assert np.abs(models.apply_decision(w, pa, 1 - pc) - fused).max() > 1e-3


def test_decision_fusion_learns_to_trust_the_expert_that_knows() -> None:
    """Audio logits that carry nothing and context logits that carry the label: the fitted rule leans
    on the context (b >> |a|) and ranks the clips by it."""
    rng = np.random.default_rng(0)
    y = (rng.random((300, 2)) < 0.4).astype(int)
    p_audio = rng.uniform(0.2, 0.8, y.shape)
    p_ctx = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.1, y.shape), 0.01, 0.99)
    w = models.fit_decision(p_audio, p_ctx, y)
    assert np.all(w[:, 1] > 5 * np.abs(w[:, 0])), w
    fused = models.apply_decision(w, p_audio, p_ctx)
    assert np.corrcoef(fused[:, 0], p_ctx[:, 0])[0, 1] > 0.95
    # an event never positive on these clips keeps the product-of-experts weights
    y[:, 1] = 0
    np.testing.assert_array_equal(models.fit_decision(p_audio, p_ctx, y)[1], [1.0, 1.0, 0.0])
