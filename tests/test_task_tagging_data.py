"""tagging-ctc data: the FSDKaggle2018 loader on fixtures written here (and its one-line errors),
the synthetic generator's ground truth, and the composer's exact placement of events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekws.audio import load_audio, write_wav
from edgekws.cli import main
from edgekws.errors import AudioError, DatasetError
from edgekws.tasks.tagging_ctc import dataset as ds
from edgekws.tasks.tagging_ctc.config import ComposeConfig, SynthConfig
from edgekws.tasks.tagging_ctc.synth import CATALOGUE, TEST_CSV, TRAIN_CSV, TRUTH, generate

RATE = 44100
CLASSES = ("Bark", "Knock", "Violin")


def tone(freq: float, seconds: float = 0.3, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_fsd(root: Path, per_class: int = 4, with_test: bool = True) -> Path:
    """A tiny FSDKaggle2018-layout folder: 3 classes of tones at 44.1 kHz, a test CSV too."""
    lines = ["fname,label,manually_verified"]
    for c, label in enumerate(CLASSES):
        for i in range(per_class):
            name = f"{c}{i:03d}.wav"
            write_wav(root / "audio_train" / name, np.concatenate([np.zeros(500), tone(300 + 500 * c)]), RATE)
            lines.append(f"{name},{label},{i % 2}")
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    if with_test:
        lines = ["fname,label,usage"]
        for c, label in enumerate(CLASSES):
            for i in range(2):
                name = f"t{c}{i}.wav"
                write_wav(root / "audio_test" / name, tone(300 + 500 * c), RATE)
                lines.append(f"{name},{label},Public")
        (root / "test_post_competition_scoring_clips.csv").write_text("\n".join(lines) + "\n")
    return root


def test_index_reads_the_layout_and_splits_per_class(tmp_path: Path) -> None:
    root = write_fsd(tmp_path / "fsd")
    idx = ds.index_dataset(root, ComposeConfig())
    assert idx.classes == CLASSES and idx.test_from == "test_csv"
    assert len(idx.split("test")) == 6 and all(f.rel.startswith("audio_test/") for f in idx.split("test"))
    for label in CLASSES:  # 4 train.csv files per class: 1 validation (15 % rounded up to 1), 3 training
        assert sum(f.label == label for f in idx.split("val")) == 1
        assert sum(f.label == label for f in idx.split("train")) == 3
    # without the test CSV, the test split comes out of train.csv, disjoint from train and val
    (root / "test_post_competition_scoring_clips.csv").unlink()
    idx2 = ds.index_dataset(root, ComposeConfig())
    assert idx2.test_from == "train_csv"
    rels = [f.rel for f in idx2.files]
    assert len(rels) == len(set(rels)) == 12
    events = ds.load_events(idx2, list(idx2.files), 16000, 0.7)
    # 500 samples of leading silence trimmed; 0.3 s of tone at 16 kHz (resampled from 44.1 kHz; the
    # resampler's ringing above -60 dB adds a few samples at the edges)
    assert all(0 <= len(x) - 4800 <= 8 for x in events.values())


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code != 0
    assert len(err.strip().splitlines()) == 1 and err.strip().startswith("error: ") and "Traceback" not in err, repr(err)
    return err


BREAKAGES = {
    "missing column": (lambda r: (r / "train.csv").write_text("fname,tag\na.wav,Bark\n"), "missing column(s) label"),
    "wrong field count": (lambda r: (r / "train.csv").write_text(
        (r / "train.csv").read_text() + "x.wav,Bark,0,extra\n"), "field(s), header has 3"),
    "empty label": (lambda r: (r / "train.csv").write_text(
        (r / "train.csv").read_text() + "000000.wav,,0\n"), "empty label"),
    "duplicate fname": (lambda r: (r / "train.csv").write_text(
        (r / "train.csv").read_text() + "0000.wav,Bark,0\n"), "listed twice"),
    "missing wav": (lambda r: (r / "audio_train" / "1001.wav").unlink(), "listed in the index but missing"),
    "unknown test label": (lambda r: (r / TEST_CSV).write_text("fname,label,usage\nt00.wav,Meow,Public\n"),
                           "not in train.csv"),
    "8 kHz audio": (lambda r: write_wav(r / "audio_train" / "2002.wav", tone(440, rate=8000), 8000),
                    "sample rate 8000 Hz is below the 16000 Hz"),
    "empty audio": (lambda r: write_wav(r / "audio_train" / "0001.wav", np.zeros(0, np.float32), RATE),
                    "no samples"),
    "NaN audio": (lambda r: sf.write(str(r / "audio_train" / "1002.wav"),
                                     np.full(4000, np.nan, np.float32), RATE, subtype="FLOAT"), "non-finite"),
    "silent audio": (lambda r: write_wav(r / "audio_train" / "0002.wav", np.zeros(4000, np.float32), RATE),
                     "all zeros"),
    "header only": (lambda r: (r / "train.csv").write_text("fname,label\n"), "no data rows"),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_malformed_dataset_is_a_one_line_error(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_fsd(tmp_path / "fsd")
    breakage, message = BREAKAGES[case]
    breakage(root)
    err = _cli_error(["task", "tagging-ctc", "train", "--data", str(root), "--out", str(tmp_path / "run"),
                      "--set", "compose.n_train=4", "--set", "compose.n_val=2", "--set", "compose.n_test=2"], capsys)
    assert message in err, err


def test_missing_dataset_dir_and_bad_config_are_one_line_errors(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    err = _cli_error(["task", "tagging-ctc", "train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r")],
                     capsys)
    assert "does not exist" in err
    err = _cli_error(["task", "tagging-ctc", "data", "--out", str(tmp_path / "d"), "--set", "clases=3"], capsys)
    assert "unknown config key 'clases'" in err
    err = _cli_error(["task", "tagging-ctc", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                      "--set", "compose.max_events=9"], capsys)
    assert "cannot hold 9 events" in err
    err = _cli_error(["task", "no-such-task", "data", "--out", str(tmp_path / "d")], capsys)
    assert "no-such-task" in err
    err = _cli_error(["task", "tagging-ctc", "eval", str(tmp_path)], capsys)
    assert "run info" in err


def test_default_configs_are_valid() -> None:
    from edgekws.tasks.tagging_ctc.config import TrainConfig

    TrainConfig()
    SynthConfig()


def test_generator_ground_truth_is_exact(tmp_path: Path) -> None:
    cfg = SynthConfig(classes=len(CATALOGUE), train_per_class=2, test_per_class=1, seed=3)
    summary = generate(tmp_path, cfg)
    assert summary["classes"] == [c.label for c in CATALOGUE]
    truth = json.loads((tmp_path / TRUTH).read_text())
    listed = {}
    for csv_name, folder in ((TRAIN_CSV, "audio_train"), (TEST_CSV, "audio_test")):
        for line in (tmp_path / csv_name).read_text().splitlines()[1:]:
            fname, label, _ = line.split(",")
            listed[f"{folder}/{fname}"] = label
    assert set(listed) == set(truth) and len(truth) == 3 * len(CATALOGUE)
    for rel, t in truth.items():
        assert listed[rel] == t["label"]
        x, rate = sf.read(str(tmp_path / rel), dtype="int16")
        assert rate == cfg.sample_rate and len(x) == t["n_samples"]
        on, off = t["onset"], t["offset"]
        assert not x[:on].any() and not x[off:].any(), rel  # exact zeros outside the event
        assert x[on] != 0 and x[off - 1] != 0, rel  # and the event's first and last samples carry signal
        assert cfg.min_event_s * rate - 1 <= off - on <= cfg.max_event_s * rate + 1
        ev = x[on:off].astype(np.float64)
        spec = np.abs(np.fft.rfft(ev)) ** 2
        freqs = np.fft.rfftfreq(len(ev), 1 / rate)
        p = t["params"]
        if t["family"] == "tonal":  # the strongest line is the stated fundamental
            assert abs(freqs[np.argmax(spec)] - p["f0"]) < 3 * rate / len(ev)
        if t["family"] == "noisy":  # the energy lies in the stated band
            band = (freqs >= p["band_lo"]) & (freqs <= p["band_hi"])
            assert spec[band].sum() > 0.95 * spec.sum()
        if t["family"] == "chirp":  # the first tenth sits near f_start, the last tenth near f_end
            tenth = len(ev) // 10
            f_a = freqs[np.argmax(np.abs(np.fft.rfft(ev[:tenth], len(ev))))]
            f_b = freqs[np.argmax(np.abs(np.fft.rfft(ev[-tenth:], len(ev))))]
            assert (f_a < f_b) == (p["f_start"] < p["f_end"]) == (t["label"] == "Chirp_up")


def test_generator_is_deterministic_per_file(tmp_path: Path) -> None:
    generate(tmp_path / "a", SynthConfig(classes=3, train_per_class=2, test_per_class=1, seed=5))
    generate(tmp_path / "b", SynthConfig(classes=4, train_per_class=3, test_per_class=1, seed=5))
    a = json.loads((tmp_path / "a" / TRUTH).read_text())
    b = json.loads((tmp_path / "b" / TRUTH).read_text())
    for rel in a:  # a file does not change when other classes or counts are added
        assert a[rel] == b[rel]
        assert np.array_equal(load_audio(tmp_path / "a" / rel), load_audio(tmp_path / "b" / rel))


def test_composition_ground_truth_is_exact(tmp_path: Path) -> None:
    root = write_fsd(tmp_path / "fsd")
    cfg = ComposeConfig(n_train=30)
    idx = ds.index_dataset(root, cfg)
    files = idx.split("train")
    events = ds.load_events(idx, files, 16000, cfg.max_event_s)
    clips = ds.compose(files, events, idx.classes, 30, cfg, 16000, seed=7)
    label_of = {f.rel: idx.classes.index(f.label) for f in files}
    n = int(cfg.clip_seconds * 16000)
    for i, clip in enumerate(clips):
        assert cfg.min_events <= len(clip) <= cfg.max_events
        seq = [p.label for p in clip]
        assert all(a != b for a, b in zip(seq, seq[1:], strict=False))  # no class twice in a row
        assert all(label_of[p.rel] == p.label for p in clip)
        assert all(a.offset <= b.onset for a, b in zip(clip, clip[1:], strict=False)) and clip[-1].offset <= n
        x = ds.render(clip, events, cfg, 16000, [0, 0, i])
        residual = x - ds.render([], events, cfg, 16000, [0, 0, i])  # the same noise alone
        expect = np.zeros(n, np.float32)
        for p in clip:
            assert p.offset - p.onset == len(events[p.rel])
            expect[p.onset: p.offset] = p.gain * events[p.rel]
        np.testing.assert_allclose(residual, expect, atol=1e-6)
    rt = ds.placements_from_json(ds.placements_to_json(clips))
    assert rt == clips
    with pytest.raises(DatasetError):
        ds.placements_from_json([[{"rel": "a"}]])


def test_event_audio_refuses_low_rates(tmp_path: Path) -> None:
    from edgekws.tasks.datasets import load_event_audio

    write_wav(tmp_path / "a.wav", tone(440, rate=8000), 8000)
    with pytest.raises(AudioError, match="below the 16000 Hz"):
        load_event_audio(tmp_path / "a.wav", 16000)
    write_wav(tmp_path / "b.wav", tone(440, rate=22050), 22050)
    assert len(load_event_audio(tmp_path / "b.wav", 16000)) == 4800
