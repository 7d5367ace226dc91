"""TTS engines (espeak-ng, flite, festival, piper) behind one interface; multi-engine synthesis; the raw cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import require_tool
from edgekws.cli import main
from edgekws.data.augment import ChannelConfig
from edgekws.data.synth import (
    SynthConfig,
    broad_unknown_words,
    make_config,
    plan_clips,
    synthesize_dataset,
    trim,
)
from edgekws.data.tts import ENGINE_NAMES, TtsCache, Utterance, get_engine, synthesize_cached
from edgekws.errors import DatasetError

TOOL = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}


def require_engine(name: str) -> None:
    """Skip, saying why, when an engine cannot run here (piper: its wheel or voice is missing)."""
    if name not in TOOL:
        try:
            get_engine(name).check()
        except DatasetError as exc:
            msg = f"{name} engine unavailable ({exc}); tools/setup.sh installs it"
            if os.environ.get("CI"):
                pytest.fail(msg)
            pytest.skip(msg)
        return
    require_tool(TOOL[name])


@pytest.fixture(params=ENGINE_NAMES)
def engine(request):
    require_engine(request.param)
    return get_engine(request.param)


def test_engine_speaks_a_word_at_16k_deterministically(engine, tmp_path):
    """Every voice of every engine says a word: 16 kHz float32 mono, word-length, same samples twice."""
    voices = engine.voices()
    assert len(voices) >= 3
    pitch = 0.5 if engine.supports_pitch else 0.0
    utts = [Utterance(engine.name, v, "seven", 1.1, pitch) for v in voices[:: max(1, len(voices) // 6)]]
    first = engine.synthesize(utts, tmp_path)
    again = engine.synthesize(utts, tmp_path)
    for u, x, y in zip(utts, first, again, strict=True):
        assert x.dtype == np.float32 and x.ndim == 1, u
        word = trim(x)
        assert 0.25 * 16000 < word.shape[0] < 1.2 * 16000, (u, word.shape)  # "seven" at 16 kHz
        assert 0.05 < np.abs(x).max() <= 1.0, u
        np.testing.assert_array_equal(x, y)
    # rate really changes the duration (planted error: ignore u.rate in the engine -> fails)
    slow, fast = engine.synthesize([Utterance(engine.name, voices[0], "seven", 0.7),
                                    Utterance(engine.name, voices[0], "seven", 1.4)], tmp_path)
    assert trim(slow).shape[0] > 1.3 * trim(fast).shape[0]


def test_cache_returns_the_engines_samples(tmp_path, espeak):
    cache = TtsCache(tmp_path / "cache")
    utts = [Utterance("espeak", "en-us+f2", "left", 1.0, 0.2), Utterance("espeak", "en", "right")]
    fresh = synthesize_cached(utts + utts[:1], cache, tmp_path)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 2  # the repeated request rendered once
    cached = synthesize_cached(utts, cache, tmp_path)
    np.testing.assert_array_equal(fresh[2], fresh[0])
    for a, b in zip(fresh[:2], cached, strict=True):
        np.testing.assert_array_equal(a, b)
    # a corrupt entry is a miss, never a crash
    cache.path(utts[0]).write_bytes(b"not an npy")
    np.testing.assert_array_equal(synthesize_cached(utts[:1], cache, tmp_path)[0], fresh[0])


def test_unknown_engine_and_bad_weights_are_one_line_errors():
    with pytest.raises(DatasetError, match="unknown TTS engine 'mbrola'"):
        SynthConfig(engines=("espeak", "mbrola"))
    with pytest.raises(DatasetError, match="one non-negative weight per engine"):
        SynthConfig(engines=("espeak", "flite"), engine_weights=(1.0,))
    with pytest.raises(DatasetError, match="add --channel"):
        make_config(reverb=0.5)


def test_plan_mixes_engines_by_weight_and_keeps_speakers_in_one_split():
    cfg = SynthConfig(per_word=40, unknown_per_word=4, engines=("espeak", "flite", "festival"),
                      unknown_words=broad_unknown_words()[:50])
    plan = plan_clips(cfg)
    assert plan == plan_clips(cfg)
    for word in cfg.words:
        counts = {e: sum(1 for s in plan if s.word == word and s.utt.engine == e) for e in cfg.engines}
        assert counts == {"espeak": 20, "flite": 10, "festival": 10}, (word, counts)
    assert all(s.utt.pitch == 0.0 for s in plan if s.utt.engine == "festival")
    # many virtual speakers per flite/festival voice, each with one id
    assert len({s.speaker for s in plan if s.utt.engine == "flite"}) > 20
    assert len(plan) == 10 * 40 + 50 * 4


def test_broad_unknown_words_exclude_keywords_and_homophones():
    words = broad_unknown_words()
    assert len(words) >= 400 and len(set(words)) == len(words)
    assert not set(words) & {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
                             "know", "write"}


@pytest.mark.slow
def test_multi_engine_channel_dataset(tmp_path, espeak):
    """Three engines with channel augmentation, real noise dir absent: int16 16 kHz mono clips, a note,
    same bytes from a cold and a warm cache."""
    for tool in ("flite", "festival"):
        require_tool(tool)
    cfg = SynthConfig(per_word=3, unknown_per_word=1, seed=2, engines=("espeak", "flite", "festival"),
                      channel=ChannelConfig(reverb_probability=0.5), noise_dir=str(tmp_path / "nowhere"),
                      noise_seconds=2.0)
    a = synthesize_dataset(tmp_path / "a", cfg, jobs=1, tts_cache=tmp_path / "cache")
    assert a.num_clips == 50 and any("synthetic noise" in n for n in a.notes)
    b = synthesize_dataset(tmp_path / "b", cfg, jobs=1, tts_cache=tmp_path / "cache")  # warm cache
    manifest = json.loads((tmp_path / "a" / "synth_config.json").read_text())
    assert set(manifest["clips_per_engine"]) == {"espeak", "flite", "festival"}
    assert SynthConfig.from_dict(manifest["config"]) == cfg
    wavs = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.wav"))
    assert len(wavs) == 50 + 5
    for rel in wavs:
        info = sf.info(str(tmp_path / "a" / rel))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16"), rel
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert b.notes == a.notes


def test_missing_engine_is_one_error_line(tmp_path, espeak, monkeypatch, capsys):
    """With flite off the PATH, `data synth --engines espeak,flite` stops with one `error:` line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(espeak, bin_dir / "espeak-ng")
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "synth", "--out", str(tmp_path / "d"), "--per-word", "2", "--engines", "espeak,flite"])
    assert exit_info.value.code != 0
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    assert err[-1].startswith("error: ") and "flite is not installed" in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not Path(tmp_path / "d").exists()
