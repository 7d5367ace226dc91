"""Host twin pieces that need no C: config derivation, wire records, chunked features."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.errors import ConfigError
from edgekws.frontend import FrontendConfig, compute_features
from edgekws.stream import (
    Detection,
    DetectorParams,
    FeatureStreamer,
    StreamConfig,
    StreamDetector,
    pack_config,
    pack_event,
    unpack_config,
    unpack_events,
)

LABELS = ["_silence_", "_unknown_", "yes", "no"]


def derive(cfg: StreamConfig, **kw) -> DetectorParams:
    args = dict(labels=LABELS, num_frames=49, num_features=10, out_scale=1 / 256, out_zero_point=-128,
                hop_samples=320, win_samples=640, sample_rate=16000)
    args.update(kw)
    return DetectorParams.derive(cfg, **args)


def test_derive_integers() -> None:
    p = derive(StreamConfig(k_hops=2, smooth_window=5, threshold=0.6, refractory_ms=1000))
    assert p.threshold == 768  # 0.6 * 5 * 256
    assert p.refractory_hops == 50  # 1000 ms / 20 ms
    assert p.ignore_mask == 0b11
    assert derive(StreamConfig(refractory_ms=30)).refractory_hops == 2  # rounded up
    assert p.time_ms(0) == 40 and p.time_ms(49) == 1020


@pytest.mark.parametrize("bad", [dict(k_hops=0), dict(smooth_window=0), dict(smooth_window=33),
                                 dict(threshold=0), dict(threshold=1.5), dict(refractory_ms=-1),
                                 dict(threshold=float("nan"))])
def test_stream_config_rejects(bad: dict) -> None:
    with pytest.raises(ConfigError):
        StreamConfig(**bad)


def test_derive_rejects_unknown_ignore_and_all_ignored() -> None:
    with pytest.raises(ConfigError, match="not among"):
        derive(StreamConfig(ignore=("stop",)))
    with pytest.raises(ConfigError, match="every label"):
        derive(StreamConfig(ignore=tuple(LABELS)))
    with pytest.raises(ConfigError):
        derive(StreamConfig(), num_frames=65)


def test_config_json_round_trip() -> None:
    cfg = StreamConfig(k_hops=3, threshold=0.7, ignore=("_silence_",))
    assert StreamConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown"):
        StreamConfig.from_dict({"nope": 1})


def test_wire_round_trip() -> None:
    p = derive(StreamConfig(), out_zero_point=-5)
    raw = pack_config(p)
    assert len(raw) == 38 and unpack_config(raw) == p
    d = Detection(time_ms=123456, hop=6171, label=3, name="no", score=-7)
    assert unpack_events(pack_event(d) * 2, LABELS) == [d, d]


def test_frame_shape_checked() -> None:
    det = StreamDetector(derive(StreamConfig()), LABELS)
    with pytest.raises(ConfigError):
        det.push_frame(np.zeros(9, np.int8), lambda w: np.zeros(4, np.int8))


@pytest.mark.parametrize("chunk", [1, 160, 320, 333, 5000])
def test_chunked_features_equal_whole_clip(chunk: int) -> None:
    """Streaming frames (any chunk size) are exactly the frames of the whole clip, quantized."""
    from edgekws.compress.quantize import quantize_input

    cfg = FrontendConfig()
    rng = np.random.default_rng(chunk)
    x = (0.1 * rng.standard_normal(16000 + 777)).astype(np.float32)
    mean, std = rng.normal(0, 5, 10).astype(np.float32), rng.uniform(1, 10, 10).astype(np.float32)
    fs = FeatureStreamer(cfg, mean, std, 0.05, 3)
    got = np.concatenate([fs.push(x[i:i + chunk]) for i in range(0, len(x), chunk)])
    want = quantize_input((compute_features(x, cfg) - mean) / std, 0.05, 3)
    assert got.shape == want.shape == (cfg.num_frames(len(x)), 10)
    np.testing.assert_array_equal(got, want)
