"""`edgekws data synth`: espeak-ng dataset in the Speech Commands layout, deterministic for a seed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekws.cli import main
from edgekws.data import DatasetConfig, scan_dataset, which_set
from edgekws.data.speech_commands import assign_splits
from edgekws.data.synth import (
    NOISE_KINDS,
    UNKNOWN_WORDS,
    SynthConfig,
    place,
    plan_clips,
    synthesize_dataset,
    to_16k,
    trim,
)
from edgekws.errors import DatasetError

pytestmark = pytest.mark.espeak

TINY = {"per_word": 2, "unknown_per_word": 1, "noise_seconds": 2.0}


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_plan_is_deterministic_and_covers_every_word():
    cfg = SynthConfig(per_word=10, seed=3)
    plan = plan_clips(cfg)
    assert plan == plan_clips(cfg) and plan != plan_clips(SynthConfig(per_word=10, seed=4))
    assert len(plan) == cfg.num_clips == 10 * 10 + 20 * 2
    assert len({s.relpath for s in plan}) == len(plan)
    assert len(UNKNOWN_WORDS) >= 10
    assert len({s.utt.voice for s in plan}) > 40  # many voice+variant speakers
    assert len({s.utt.rate for s in plan}) > 20 and len({s.utt.pitch for s in plan}) > 20
    for word in cfg.words:
        splits = [which_set(s.relpath) for s in plan if s.word == word]
        assert splits.count("validation") == 1 and splits.count("testing") == 1


def test_signal_helpers():
    x = np.zeros(22050, np.float32)
    x[5000:6000] = 0.5
    y = to_16k(x)
    assert y.shape == (16000,) and y.dtype == np.float32
    assert trim(y).shape[0] < 1000
    word = np.ones(4000, np.float32)
    assert np.flatnonzero(place(word, 16000, 0))[0] == 6000
    assert np.flatnonzero(place(word, 16000, 10**6))[-1] == 15999  # clamped, never cut
    assert place(np.ones(20000, np.float32), 16000, 0).shape == (16000,)


def test_tiny_synth_layout_and_loader(tmp_path, espeak):
    a = synthesize_dataset(tmp_path / "a", SynthConfig(seed=7, **TINY), jobs=1)
    assert not a.skipped and a.num_clips == 40 and a.clips_per_second > 0
    index = scan_dataset(tmp_path / "a")
    assert len(index.words) == 30 and index.num_clips == 40
    assert sorted(Path(p).stem for p in index.noise_files) == sorted(NOISE_KINDS)
    x, sr = sf.read(tmp_path / "a" / index.words["yes"][0], dtype="float32")
    assert sr == 16000 and x.shape == (16000,) and 0.01 < np.abs(x).max() <= 1.0
    noise, sr = sf.read(tmp_path / "a" / "_background_noise_" / "babble.wav", dtype="float32")
    assert sr == 16000 and noise.shape == (32000,) and noise.std() > 0.01
    # The written lists agree with the dataset's hash rule.
    cfg_lists, cfg_hash = DatasetConfig(split_source="lists"), DatasetConfig(split_source="hash")
    assert assign_splits(index, cfg_lists) == assign_splits(index, cfg_hash)
    # A finished folder with the same config is left alone; a different one is refused.
    before = digest(tmp_path / "a")
    assert synthesize_dataset(tmp_path / "a", SynthConfig(seed=7, **TINY)).skipped
    assert digest(tmp_path / "a") == before
    with pytest.raises(DatasetError, match="different synthetic dataset"):
        synthesize_dataset(tmp_path / "a", SynthConfig(seed=9, **TINY))


@pytest.mark.slow
def test_same_seed_same_bytes(tmp_path, espeak):
    synthesize_dataset(tmp_path / "a", SynthConfig(seed=7, **TINY), jobs=1)
    synthesize_dataset(tmp_path / "b", SynthConfig(seed=7, **TINY), jobs=1)
    first = digest(tmp_path / "a")
    assert first == digest(tmp_path / "b")
    # --force regenerates in place; another seed gives other audio everywhere.
    synthesize_dataset(tmp_path / "a", SynthConfig(seed=8, **TINY), jobs=1, force=True)
    other = digest(tmp_path / "a")
    assert set(other) != set(first) or all(other[k] != first[k] for k in first if k.endswith(".wav"))
    assert other["_background_noise_/white_noise.wav"] != first["_background_noise_/white_noise.wav"]


def test_synth_refuses_a_foreign_non_empty_folder(tmp_path, espeak, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "synth", "--out", str(tmp_path), "--per-word", "2"])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "not empty" in err[-1]
    assert (tmp_path / "mine.txt").read_text() == "keep me"


@pytest.mark.slow
def test_pool_gives_the_same_files_and_cli_reports_speed(tmp_path, espeak, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "synth", "--out", str(tmp_path / "pool"), "--per-word", "8", "--seed", "5",
              "--jobs", "2", "--noise-seconds", "3"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "120 clips" in out and "clips/s" in out
    synthesize_dataset(tmp_path / "serial", SynthConfig(per_word=8, seed=5, noise_seconds=3.0), jobs=1)
    assert digest(tmp_path / "pool") == digest(tmp_path / "serial")
