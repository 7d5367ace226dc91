"""Speech Commands layout loader: hash rule, list files, splits, proportions, configs, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekws.data import (
    KEYWORDS,
    LABELS,
    DatasetConfig,
    class_counts,
    list_split,
    normalize_split,
    scan_dataset,
    which_set,
)
from edgekws.data.speech_commands import assign_splits, filler_counts
from edgekws.errors import DatasetError


def write_dataset(root: Path, words=KEYWORDS + ("bed", "cat", "happy"), speakers: int = 20,
                  noise: bool = True, seconds: float = 0.5) -> Path:
    """A tiny Speech Commands-layout folder of tones (one per word) and one noise file."""
    rng = np.random.default_rng(0)
    n = int(16000 * seconds)
    t = np.arange(n) / 16000
    for w_no, word in enumerate(words):
        (root / word).mkdir(parents=True, exist_ok=True)
        for s in range(speakers):
            x = 0.3 * np.sin(2 * np.pi * (200 + 50 * w_no) * t) + 0.01 * rng.standard_normal(n)
            sf.write(root / word / f"{s:04x}{w_no:04x}_nohash_0.wav", x.astype(np.float32), 16000, "PCM_16")
    if noise:
        (root / "_background_noise_").mkdir(exist_ok=True)
        sf.write(root / "_background_noise_" / "white.wav", 0.1 * rng.standard_normal(48000), 16000, "PCM_16")
    return root


def test_which_set_matches_published_lists():
    # Speakers whose split is known from the published v0.02 validation/testing lists.
    assert which_set("right/a69b9b3e_nohash_0.wav") == "validation"
    assert which_set("stop/0c40e715_nohash_0.wav") == "testing"
    assert which_set("bed/0c2ca723_nohash_1.wav") == "training"


def test_which_set_groups_speakers_and_follows_percentages():
    names = [f"w/{i:08x}_nohash_{k}.wav" for i in range(4000) for k in (0,)]
    sets = [which_set(n) for n in names]
    share = {s: sets.count(s) / len(sets) for s in ("training", "validation", "testing")}
    assert abs(share["validation"] - 0.1) < 0.02 and abs(share["testing"] - 0.1) < 0.02
    # Everything after _nohash_ is ignored: one speaker, one split.
    assert {which_set(f"yes/abcd1234_nohash_{k}.wav") for k in range(10)} == {
        which_set("no/abcd1234_nohash_0.wav")
    }
    assert which_set("x/aa_nohash_0.wav", 0, 0) == "training"


def test_splits_are_disjoint_cover_everything_and_are_stable(tmp_path):
    root = write_dataset(tmp_path / "ds")
    index = scan_dataset(root)
    cfg = DatasetConfig()
    splits = assign_splits(index, cfg)
    all_files = [p for paths in index.words.values() for p in paths]
    seen = [p for s in splits.values() for p in s]
    assert sorted(seen) == sorted(all_files)
    assert len(set(seen)) == len(seen)
    # Adding files does not move existing ones (the hash rule's point).
    (root / "yes" / "ffffffff_nohash_0.wav").write_bytes((root / "yes" / "00000000_nohash_0.wav").read_bytes())
    again = assign_splits(scan_dataset(root), cfg)
    for s in splits:
        assert set(splits[s]) <= set(again[s])


def test_list_files_decide_when_present(tmp_path):
    root = write_dataset(tmp_path / "ds", speakers=6)
    (root / "validation_list.txt").write_text("yes/0000_nohash_0.wav\nno/00010001_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("up/00020002_nohash_0.wav\n")
    # The first line names no file: lists are taken literally; unlisted files are training.
    splits = assign_splits(scan_dataset(root), DatasetConfig())
    assert splits["validation"] == ["no/00010001_nohash_0.wav"]
    assert splits["testing"] == ["up/00020002_nohash_0.wav"]
    hashed = assign_splits(scan_dataset(root), DatasetConfig(split_source="hash"))
    assert hashed != splits


def test_missing_lists_when_asked_for(tmp_path):
    root = write_dataset(tmp_path / "ds", speakers=3)
    with pytest.raises(DatasetError, match="validation_list.txt"):
        list_split(root, "validation", DatasetConfig(split_source="lists"))


def test_proportions_labels_and_determinism(tmp_path):
    root = write_dataset(tmp_path / "ds", speakers=40)
    cfg = DatasetConfig(validation_percentage=20, testing_percentage=20)
    for split in ("training", "validation", "testing"):
        ex = list_split(root, split, cfg)
        counts = class_counts(ex, cfg.labels)
        total = sum(counts.values())
        keywords = sum(counts[w] for w in KEYWORDS)
        assert keywords > 0
        n_sil, n_unk = filler_counts(keywords, cfg)
        assert counts["_silence_"] == n_sil
        assert counts["_unknown_"] == min(n_unk, 3 * 40)
        assert abs(counts["_silence_"] / total - 0.10) < 0.02
        assert abs(counts["_unknown_"] / total - 0.10) < 0.02
        assert ex == list_split(root, split, cfg)  # same config, same examples, same order
        assert all(LABELS[e.label] == e.word for e in ex if e.label >= 2)
        assert all(e.word in ("bed", "cat", "happy") for e in ex if e.label == 1)
    a = {e.path for e in list_split(root, "training", cfg) if e.label == 1}
    b = {e.path for e in list_split(root, "training", DatasetConfig(validation_percentage=20,
                                                                   testing_percentage=20, seed=7)) if e.label == 1}
    assert a != b  # the seed picks which unknown clips are kept


def test_filler_counts_are_shares_of_the_final_split():
    s, u = filler_counts(800, DatasetConfig())
    assert (s, u) == (100, 100)
    s, u = filler_counts(800, DatasetConfig(silence_percentage=0, unknown_percentage=20))
    assert (s, u) == (0, 200)
    assert filler_counts(7, DatasetConfig()) == (math.ceil(7 / 0.8 * 0.1), math.ceil(7 / 0.8 * 0.1))


def test_labels_order_and_config_json_round_trip():
    assert LABELS == ("_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off",
                      "stop", "go")
    cfg = DatasetConfig(wanted_words=("yes", "no"), seed=3, split_source="hash")
    back = DatasetConfig.from_json(cfg.to_json())
    assert back == cfg and back.labels == ("_silence_", "_unknown_", "yes", "no")
    with pytest.raises(DatasetError):
        DatasetConfig.from_dict({"bogus": 1})
    with pytest.raises(DatasetError):
        DatasetConfig(silence_percentage=60, unknown_percentage=50)
    assert normalize_split("val") == "validation"
    with pytest.raises(DatasetError, match="unknown split"):
        normalize_split("dev")


def test_bad_dataset_folders(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        scan_dataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no word folders"):
        scan_dataset(tmp_path / "empty")
    only_unknown = write_dataset(tmp_path / "unk", words=("bed",), speakers=2)
    with pytest.raises(DatasetError, match="no clips of the wanted words"):
        list_split(only_unknown, "training")
