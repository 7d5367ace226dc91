"""Split arrays (audio and features), the feature cache, and the dataset summary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import edgekws.data.features as features_mod
from edgekws.data import DatasetConfig, load_audio_split, load_feature_split
from edgekws.data.cache import cache_key, load_entry, save_entry
from edgekws.data.summary import summarize_dataset
from edgekws.errors import DatasetError
from edgekws.frontend import compute_features, get_preset
from test_data_loader import write_dataset

PRESET = "kws-mfcc-49x10"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("ds") / "sc", speakers=8)


def test_audio_split_shapes_labels_and_determinism(dataset):
    audio, y, labels = load_audio_split(dataset, "testing")
    assert audio.dtype == np.float32 and audio.shape == (len(y), 16000)
    assert y.dtype == np.int64 and labels[:3] == ["_silence_", "_unknown_", "yes"]
    assert (y == 0).any() and (y >= 2).any()
    # Clips were 0.5 s: padded with zeros to 1 s.
    assert not audio[y >= 2][:, 8000:].any()
    # Silence slots are noise segments, identical on every call.
    assert np.abs(audio[y == 0]).max() > 0
    again, y2, _ = load_audio_split(dataset, "testing")
    np.testing.assert_array_equal(audio, again)
    np.testing.assert_array_equal(y, y2)


def test_augmented_audio_is_seeded(dataset):
    a, _, _ = load_audio_split(dataset, "training", augment=True, seed=1)
    b, _, _ = load_audio_split(dataset, "training", augment=True, seed=1)
    c, _, _ = load_audio_split(dataset, "training", augment=True, seed=2)
    plain, _, _ = load_audio_split(dataset, "training")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, plain)


def test_feature_split_matches_frontend_and_is_cached(dataset, tmp_path, monkeypatch):
    cfg = get_preset(PRESET)
    x, y, labels = load_feature_split(dataset, "validation", cfg, cache_dir=tmp_path)
    assert x.dtype == np.float32 and x.shape == (len(y), cfg.num_frames(16000), cfg.num_features)
    audio, y_audio, _ = load_audio_split(dataset, "validation")
    np.testing.assert_array_equal(y, y_audio)
    np.testing.assert_allclose(x, compute_features(audio, cfg), rtol=0, atol=1e-5)
    entries = list(tmp_path.glob("*.npz"))
    assert len(entries) == 1

    def boom(*args, **kwargs):
        raise AssertionError("features recomputed despite a cache entry")

    monkeypatch.setattr(features_mod, "compute_split_features", boom)
    x2, y2, labels2 = load_feature_split(dataset, "val", PRESET, cache_dir=tmp_path)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert labels2 == labels
    # Another frontend config, another dataset config or augmentation: a miss.
    for kwargs in (
        {"frontend_cfg": dataclasses.replace(cfg, n_mfcc=8)},
        {"frontend_cfg": cfg, "dataset_cfg": DatasetConfig(seed=1)},
        {"frontend_cfg": cfg, "augment": True},
    ):
        with pytest.raises(AssertionError, match="recomputed"):
            load_feature_split(dataset, "validation", cache_dir=tmp_path, **kwargs)


def test_changed_dataset_file_invalidates_the_cache(tmp_path):
    root = write_dataset(tmp_path / "ds", speakers=4)
    cfg = get_preset(PRESET)
    load_feature_split(root, "training", cfg, cache_dir=tmp_path / "c")
    victim = sorted((root / "yes").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:-200])
    load_feature_split(root, "training", cfg, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("*.npz"))) == 2


def test_cache_entries_are_atomic_and_corrupt_ones_are_ignored(tmp_path):
    key = cache_key({"a": 1})
    assert key == cache_key({"a": 1}) and key != cache_key({"a": 2})
    assert load_entry(tmp_path, key) is None
    save_entry(tmp_path, key, {"x": np.arange(3)})
    assert load_entry(tmp_path, key)["x"].tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == [f"{key}.npz"]  # no temp file left behind
    (tmp_path / f"{key}.npz").write_bytes(b"not a zip")
    assert load_entry(tmp_path, key) is None


def test_unreadable_clip_is_a_one_line_dataset_error(tmp_path):
    root = write_dataset(tmp_path / "ds", speakers=3)
    (root / "yes" / "deadbeef_nohash_0.wav").write_bytes(b"RIFF garbage")
    with pytest.raises(DatasetError) as err:
        load_audio_split(root, "training", dataset_cfg=DatasetConfig(split_source="hash",
                                                                     validation_percentage=0,
                                                                     testing_percentage=0))
    assert "deadbeef_nohash_0.wav" in str(err.value) and "\n" not in str(err.value)


def test_summary_counts_and_feature_stats(dataset, tmp_path):
    s = summarize_dataset(dataset, get_preset(PRESET), cache_dir=tmp_path)
    assert [sp.split for sp in s.splits] == ["training", "validation", "testing"]
    assert sum(sp.total for sp in s.splits) > 0 and s.num_noise_files == 1
    for sp in s.splits:
        assert sp.features.shape == (sp.total, 49, 10) and sp.features.finite
        assert sp.features.min <= sp.features.mean <= sp.features.max
    d = s.to_dict()
    assert d["splits"]["training"]["counts"]["yes"] == s.splits[0].counts["yes"]


def test_chunked_reading_gives_the_same_arrays(dataset, monkeypatch):
    whole, y, _ = load_audio_split(dataset, "training", augment=True, seed=3)
    monkeypatch.setattr(features_mod, "_CHUNK", 7)
    chunked, y2, _ = load_audio_split(dataset, "training", augment=True, seed=3)
    np.testing.assert_array_equal(whole, chunked)
    np.testing.assert_array_equal(y, y2)
    x, _, _ = load_feature_split(dataset, "training", PRESET, augment=True, seed=3, use_cache=False)
    np.testing.assert_allclose(x, compute_features(whole, get_preset(PRESET)), rtol=0, atol=1e-5)
