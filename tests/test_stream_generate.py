"""Stream generator: deterministic, truthful ground truth, and the CLI writes both files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekws.audio import load_audio
from edgekws.cli import main
from edgekws.errors import DatasetError
from edgekws.stream import StreamSpec, dataset_clips, generate_stream, load_truth, write_stream
from edgekws.stream.generate import speech_region
from stream_fixtures import SR, make_tone_dataset


@pytest.fixture(scope="module")
def tone_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tone_dataset(tmp_path_factory.mktemp("tones"), per_word=6)


def test_same_seed_same_stream_other_seed_differs(tone_root: Path) -> None:
    spec = StreamSpec(duration_s=20, seed=3, keywords=("yes", "no", "up"))
    a = generate_stream(tone_root, spec, split=None)
    b = generate_stream(tone_root, spec, split=None)
    c = generate_stream(tone_root, StreamSpec(duration_s=20, seed=4, keywords=("yes", "no", "up")), split=None)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.truth == b.truth
    assert not np.array_equal(a.audio, c.audio)
    assert len(a.audio) == 20 * SR


def test_truth_marks_where_the_words_are(tone_root: Path) -> None:
    spec = StreamSpec(duration_s=30, seed=1, keywords=("yes", "no", "up"), distractor_share=0.3, snr_db=30)
    s = generate_stream(tone_root, spec, split=None)
    events = s.truth["events"]
    assert s.truth["num_keywords"] >= 7 and s.truth["num_distractors"] >= 1
    assert {e["label"] for e in events if e["keyword"]} <= {"yes", "no", "up"}
    assert all(e["label"] == "cat" for e in events if not e["keyword"])
    starts = [e["clip_start_ms"] for e in events]
    assert starts == sorted(starts)
    for prev, nxt in zip(events, events[1:], strict=False):
        assert nxt["clip_start_ms"] - prev["clip_end_ms"] >= 500 - 1e-6  # the gap
    # energy inside each marked word region is far above the noise between clips
    x = s.audio.astype(np.float64)
    for e in events:
        a, b = int(e["start_ms"] * SR / 1000), int(e["end_ms"] * SR / 1000)
        assert e["clip_start_ms"] <= e["start_ms"] < e["end_ms"] <= e["clip_end_ms"]
        word_rms = np.sqrt(np.mean(x[a:b] ** 2))
        gap = x[int(e["clip_start_ms"] * SR / 1000) - 4000: int(e["clip_start_ms"] * SR / 1000) - 100]
        if gap.size:
            assert word_rms > 10 * np.sqrt(np.mean(gap**2))


def test_speech_region_finds_the_burst() -> None:
    x = np.zeros(16000, np.float32)
    x[4000:8000] = 0.5 * np.sin(np.arange(4000) * 0.3)
    a, b = speech_region(x, 16000)
    assert abs(a - 4000) <= 160 and abs(b - 8000) <= 160


def test_write_and_load(tone_root: Path, tmp_path: Path) -> None:
    s = generate_stream(tone_root, StreamSpec(duration_s=8, seed=0, keywords=("yes",)), split=None)
    wav, truth = write_stream(tmp_path / "out", s)
    back = load_audio(wav)
    assert np.max(np.abs(back - s.audio)) <= 1 / 32768 + 1e-7
    assert load_truth(truth) == json.loads(json.dumps(s.truth))


def test_errors_are_one_line(tone_root: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="none of the keywords"):
        generate_stream(tone_root, StreamSpec(duration_s=5, keywords=("stop",)), split=None)
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(DatasetError, match="not an edgekws stream ground truth"):
        load_truth(tmp_path / "bad.json")
    assert all(w in ("yes", "no", "up", "cat") for _, w in dataset_clips(tone_root, None))


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_cli_generate(tone_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["stream", "generate", "--data", str(tone_root), "--seconds", "6", "--out",
                            str(tmp_path / "s"), "--split", "all"], capsys)
    assert code == 0 and "stream.wav" in out
    assert (tmp_path / "s" / "stream.wav").is_file()
    assert load_truth(tmp_path / "s" / "truth.json")["duration_s"] == 6.0
    code, _, err = run_cli(["stream", "generate", "--data", str(tmp_path / "nope"), "--seconds", "6",
                            "--out", str(tmp_path)], capsys)
    assert code != 0
    assert err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1
