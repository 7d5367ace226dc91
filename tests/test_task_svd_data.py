"""svd data: the Jamendo-layout reader on fixtures written here, frame targets, exact vocal endpoints, the generator.

The reader is what a real Jamendo folder goes through, so the fixtures use its real
shapes (.ogg audio, 'start end sing|nosing' lines, filelists/train|valid|test) and every
malformed .lab line must be one DatasetError naming file and line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekws.errors import DatasetError
from edgekws.tasks.svd import jamendo, synth
from edgekws.tasks.svd.config import SynthConfig, task_frontend

SR = 16000


def _fixture(root: Path, labs: dict[str, str], suffix: str = ".ogg", seconds: float = 3.0) -> Path:
    (root / "audio").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "filelists").mkdir()
    rng = np.random.default_rng(0)
    for stem, lab in labs.items():
        sf.write(str(root / "audio" / f"{stem}{suffix}"), 0.1 * rng.standard_normal(int(seconds * SR)), SR)
        (root / "labels" / f"{stem}.lab").write_text(lab)
    names = [f"{s}{suffix}" for s in labs]
    for split in jamendo.SPLITS:
        (root / "filelists" / split).write_text("\n".join(names) + "\n")
    return root


def test_reads_jamendo_layout_and_frame_targets(tmp_path: Path) -> None:
    root = _fixture(tmp_path / "jam", {"01 - Artist - Song": "0 1.0 nosing\n1.0 2.2 sing\n2.2 3.0 nosing\n",
                                       "02_other": "0.0 3.0 sing\n"})
    tracks = jamendo.load_split(root, "test")
    assert [t.name for t in tracks] == ["01 - Artist - Song.ogg", "02_other.ogg"]
    assert tracks[0].segments[1] == jamendo.Segment(1.0, 2.2, True) and tracks[0].vocal_seconds() == pytest.approx(1.2)
    fe = task_frontend()
    n = fe.num_frames(3 * SR)
    y = jamendo.frame_labels(tracks[0].segments, n, fe)
    t = jamendo.frame_times(n, fe)  # frame i's centre: i * 20 ms + 20 ms
    assert t[0] == pytest.approx(0.02) and t[1] - t[0] == pytest.approx(0.02)
    assert np.array_equal(y, ((t >= 1.0) & (t < 2.2)).astype(np.float32))
    assert y.sum() == 60  # 1.2 s of 20 ms frames
    # the pipeline reads the .ogg through the one frontend: one target per feature frame
    from edgekws.tasks.svd.pipeline import load_clips

    clips = load_clips(root, "train", fe)
    assert clips[0].feats.shape == (n, 40) and clips[0].labels.shape == (n,) and clips[1].labels.all()


@pytest.mark.parametrize(("lab", "needle"), [
    ("0 1 nosing\n0.5 2 sing\n", ":2: segment starts at 0.5 before the previous one ends"),
    ("0 1 singing\n", ":1: label 'singing' is not one of sing, nosing"),
    ("0 one sing\n", ":1: start/end are not numbers"),
    ("1 1 sing\n", ":1: need 0 <= start < end"),
    ("0 1 sing extra\n", ":1: expected 'start end sing|nosing'"),
    ("\n\n", ": no segments"),
])
def test_malformed_lab_is_one_line_naming_file_and_line(tmp_path: Path, lab: str, needle: str) -> None:
    p = tmp_path / "x.lab"
    p.write_text(lab)
    with pytest.raises(DatasetError) as info:
        jamendo.read_lab(p)
    assert needle in str(info.value) and str(p) in str(info.value) and "\n" not in str(info.value)


def test_touching_segments_within_print_rounding_are_accepted(tmp_path: Path) -> None:
    p = tmp_path / "x.lab"
    p.write_text("0 1.2345 nosing\n1.2340 3 sing\n")  # real files end and start at rounded times
    assert len(jamendo.read_lab(p)) == 2


def test_layout_errors(tmp_path: Path) -> None:
    root = _fixture(tmp_path / "jam", {"a": "0 3 sing\n"}, suffix=".wav")
    (root / "audio" / "a.wav").unlink()
    with pytest.raises(DatasetError, match="listed in filelists/train but missing"):
        jamendo.load_split(root, "train")
    (root / "filelists" / "valid").unlink()
    with pytest.raises(DatasetError, match="file list not found"):
        jamendo.load_split(root, "valid")
    with pytest.raises(DatasetError, match="does not exist"):
        jamendo.load_split(tmp_path / "nope", "test")


def test_mask_to_lab_round_trip_is_exact(tmp_path: Path) -> None:
    mask = np.zeros(3 * SR, bool)
    mask[int(0.5 * SR):int(1.25 * SR)] = True
    mask[int(2.0 * SR):] = True
    segs = jamendo.segments_from_mask(mask, SR)
    assert [(s.start, s.end, s.sing) for s in segs] == [(0.0, 0.5, False), (0.5, 1.25, True), (1.25, 2.0, False),
                                                       (2.0, 3.0, True)]
    back = jamendo.read_lab(jamendo.write_lab(tmp_path / "m.lab", segs))
    fe = task_frontend()
    n = fe.num_frames(len(mask))
    centres = np.round(jamendo.frame_times(n, fe) * SR).astype(int)
    assert np.array_equal(jamendo.frame_labels(back, n, fe), mask[centres].astype(np.float32))


def test_mix_marks_exactly_the_voiced_span() -> None:
    """The vocal endpoints are where the voice (not its silent padding) sits in the mix."""
    n = 2 * SR
    music = np.random.default_rng(1).standard_normal(n)
    tone = np.where(np.arange(4000) % 2 == 0, 0.5, -0.5)  # full level from its first to its last sample
    voice = np.concatenate([np.zeros(800), 1e-4 * np.ones(100), tone, 1e-4 * np.ones(100), np.zeros(1200)])
    x, mask = synth.mix(music, [(3000, voice)], 0.0, n)
    assert x.shape == (n,) and np.max(np.abs(x)) <= 0.95 + 1e-6
    # the -80 dB padding is not voice: the mask starts where the tone is placed and ends with it
    assert np.array_equal(np.flatnonzero(mask), np.arange(3000, 7000))


@pytest.mark.espeak
def test_generator_writes_both_sets_deterministically(tmp_path: Path, espeak: str) -> None:
    del espeak
    cfg = SynthConfig(pretrain_clips=(1, 1, 1), singing_clips=(1, 1, 1), clip_seconds=3.0)
    a = synth.generate(tmp_path / "a", cfg)
    assert a["pretrain"]["clips"] == {"train": 1, "valid": 1, "test": 1} and a["singing"]["clips"]["train"] == 1
    for part in ("pretrain", "singing"):
        for split in jamendo.SPLITS:
            for t in jamendo.load_split(tmp_path / "a" / part, split):
                assert t.segments[0].start == 0.0 and t.segments[-1].end == pytest.approx(3.0)
                assert 0.0 < t.vocal_seconds() < 3.0  # every clip has voice and music-only time
    synth.generate(tmp_path / "b", cfg)
    for f in sorted((tmp_path / "a").rglob("*.wav")):
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()
