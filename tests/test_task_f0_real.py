"""f0's real figure: note names -> F0, the 'note sounds' truth rule, and pYIN on the real piano notes.

The piano notes are fetched by tools/setup.sh (tools/fetch_piano.py); the test that reads them
skips, saying why, when they are absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgekws.data import piano_samples
from edgekws.tasks.f0 import estimators as est
from edgekws.tasks.f0 import metrics as m
from edgekws.tasks.f0.config import SAMPLE_RATE
from edgekws.tasks.f0.dataset import Track, load_track_audio
from edgekws.tasks.f0.features import frame_times, n_frames
from edgekws.tasks.f0.real import sounding_truth


def test_note_names_give_the_nominal_f0() -> None:
    assert piano_samples.note_f0("A4v10.mp3") == pytest.approx(440.0)
    assert piano_samples.note_f0("D#3v10.mp3") == pytest.approx(155.5635, rel=1e-5)
    assert piano_samples.note_f0("C2v10.mp3") == pytest.approx(65.4064, rel=1e-5)
    with pytest.raises(piano_samples.PianoCacheError):
        piano_samples.note_f0("piano.mp3")


def test_sounding_truth_follows_the_decay() -> None:
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    onset = 0.5
    x = np.where(t >= onset, np.exp(-(t - onset) * 3.0), 0.0) * np.sin(2 * np.pi * 220 * t)  # -26 dB per second
    truth = sounding_truth(x.astype(np.float32), 220.0)
    voiced = np.flatnonzero(truth > 0) * 0.01
    assert voiced[0] == pytest.approx(onset, abs=0.04)
    # until 30 dB below the peak (+- the 64 ms RMS window centred on each frame)
    assert voiced[-1] - voiced[0] == pytest.approx(30 / 26.06, abs=0.1)


@pytest.mark.skipif(not piano_samples.is_installed(),
                    reason="real piano notes not fetched (run tools/setup.sh or python tools/fetch_piano.py)")
def test_pyin_finds_the_named_pitch_of_real_piano_notes() -> None:
    notes = piano_samples.verify()
    for note in ("A2", "A3", "A4", "A5"):
        path = notes.files[note]
        x = load_track_audio(Track(note, path, np.zeros(1), np.zeros((1, 1))), SAMPLE_RATE)[: 2 * SAMPLE_RATE]
        truth = sounding_truth(x, piano_samples.note_f0(path.name))
        s = m.melody_scores(frame_times(len(truth)), truth, est.pyin(x, n_frames(len(x))).f0)
        assert s["rpa"] > 0.8, (note, s)


@pytest.mark.skipif(not piano_samples.is_installed(),
                    reason="real piano notes not fetched (run tools/setup.sh or python tools/fetch_piano.py)")
def test_a_corrupted_cached_note_is_refused(tmp_path: Path) -> None:
    shutil.copytree(piano_samples.verify().directory, tmp_path / "copy")
    assert piano_samples.is_installed(tmp_path / "copy")
    note = tmp_path / "copy" / piano_samples.file_name("A4")
    data = bytearray(note.read_bytes())
    data[len(data) // 2] ^= 0xFF
    note.write_bytes(bytes(data))
    with pytest.raises(piano_samples.PianoCacheError):
        piano_samples.verify(tmp_path / "copy")
