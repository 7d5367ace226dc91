"""f0 data: the generator's layout and that its truth is the audio's F0; the MDB-stem-synth, mixture and MIR-1K
loaders on fixtures written here (values, channels, one-line errors); truth resampling onto the frame grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekws.errors import DatasetError
from edgekws.tasks.f0 import estimators as est
from edgekws.tasks.f0 import metrics as m
from edgekws.tasks.f0.config import SAMPLE_RATE, SynthConfig
from edgekws.tasks.f0.dataset import (
    load_dataset,
    load_mdb_stem_synth,
    load_mir1k,
    load_track_audio,
    resample_truth,
)
from edgekws.tasks.f0.features import n_frames
from edgekws.tasks.f0.synth import TRUTH_HOP_S, generate


def test_generator_layout(tmp_path: Path) -> None:
    summary = generate(tmp_path, SynthConfig(tracks=2, mixtures=1, seconds=1.0, seed=3))
    assert summary["tracks"] == 2 and summary["mixtures"] == 1
    assert sorted(p.name for p in (tmp_path / "audio_stems").iterdir()) == ["synth_0000.RESYN.wav",
                                                                           "synth_0001.RESYN.wav"]
    tracks = load_dataset(tmp_path)
    assert [t.voices for t in tracks] == [1, 1, 2]
    assert np.allclose(np.diff(tracks[0].times), TRUTH_HOP_S, atol=2e-6)
    assert all(0.2 < np.mean(t.f0[:, 0] > 0) < 1.0 for t in tracks[:2])  # voiced notes and unvoiced stretches
    mix = tracks[2]
    both = (mix.f0[:, 0] > 0) & (mix.f0[:, 1] > 0)
    assert both.any() and np.all(mix.f0[both, 0] < mix.f0[both, 1])  # the two voices never cross


@pytest.mark.slow  # pYIN's first call compiles librosa's numba kernels (~8 s idle, much more on a loaded machine)
def test_generator_truth_is_the_audio_f0(tmp_path: Path) -> None:
    generate(tmp_path, SynthConfig(tracks=2, mixtures=0, seconds=1.5, snr_db=(40.0, 40.0), seed=3))
    # an independent tracker (pYIN) on the written audio agrees with the written truth
    for t in load_dataset(tmp_path):
        x = load_track_audio(t, SAMPLE_RATE)
        s = m.melody_scores(t.times, t.f0[:, 0], est.pyin(x, n_frames(len(x))).f0)
        assert s["rpa"] > 0.9, (t.name, s)


def _sine(f: float, seconds: float, sr: int) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * f * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def test_mdb_stem_synth_loader(tmp_path: Path) -> None:
    (tmp_path / "audio_stems").mkdir()
    (tmp_path / "annotation_stems").mkdir()
    sf.write(tmp_path / "audio_stems" / "MusicDelta_Rock_STEM_02.RESYN.wav", _sine(220, 0.5, 44100), 44100)
    rows = "\n".join(f"{i * 128 / 44100:.6f},{220.0 if 5 <= i < 150 else 0.0}" for i in range(172))
    (tmp_path / "annotation_stems" / "MusicDelta_Rock_STEM_02.RESYN.csv").write_text(rows + "\n")
    (tr,) = load_mdb_stem_synth(tmp_path)
    assert tr.name == "MusicDelta_Rock_STEM_02" and tr.f0.shape == (172, 1)
    assert tr.f0[4, 0] == 0.0 and tr.f0[5, 0] == 220.0 and tr.times[1] == pytest.approx(128 / 44100, abs=1e-6)
    x = load_track_audio(tr, SAMPLE_RATE)  # resampled from 44.1 kHz
    assert len(x) == 8000
    csv = tmp_path / "annotation_stems" / "MusicDelta_Rock_STEM_02.RESYN.csv"
    csv.write_text("time,f0\n" + rows + "\n")  # a header line is tolerated
    assert load_mdb_stem_synth(tmp_path)[0].f0.shape == (172, 1)
    csv.write_text("0.0,220\n0.01,abc\n")
    with pytest.raises(DatasetError, match=r"RESYN.csv:2: not numeric"):
        load_mdb_stem_synth(tmp_path)
    csv.write_text("0.0,220\n0.01,-5\n")
    with pytest.raises(DatasetError, match="must be finite and >= 0"):
        load_mdb_stem_synth(tmp_path)
    csv.unlink()
    with pytest.raises(DatasetError, match="annotation of MusicDelta_Rock_STEM_02.RESYN.wav not found"):
        load_mdb_stem_synth(tmp_path)


def test_mir1k_loader_reads_semitones_and_the_voice_channel(tmp_path: Path) -> None:
    (tmp_path / "Wavfile").mkdir()
    (tmp_path / "PitchLabel").mkdir()
    left, right = _sine(330.0, 0.2, 16000), _sine(220.0, 0.2, 16000)
    sf.write(tmp_path / "Wavfile" / "abjones_1_01.wav", np.stack([left, right], 1), 16000)
    (tmp_path / "PitchLabel" / "abjones_1_01.pv").write_text("0\n57.0000\n57.0000\n69.5\n0\n")
    (tr,) = load_mir1k(tmp_path)
    assert tr.times == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.10])
    assert tr.f0[:, 0] == pytest.approx([0.0, 220.0, 220.0, 440.0 * 2 ** (0.5 / 12), 0.0], rel=1e-6)
    x = load_track_audio(tr, SAMPLE_RATE)
    assert np.allclose(x, right, atol=1e-4)  # the singing voice is the right channel, not the accompaniment
    mix = load_track_audio(load_mir1k(tmp_path, channel="mix")[0], SAMPLE_RATE)
    assert np.allclose(mix, (left + right) / 2, atol=1e-4)
    assert load_dataset(tmp_path)[0].name == "abjones_1_01"
    (tmp_path / "PitchLabel" / "abjones_1_01.pv").write_text("0\n-3\n")
    with pytest.raises(DatasetError, match="semitones >= 0"):
        load_mir1k(tmp_path)


def test_load_dataset_refuses_an_unknown_layout(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="neither MDB-stem-synth"):
        load_dataset(tmp_path)


def test_resample_truth_linear_in_cents_and_voicing_by_nearest_row() -> None:
    times = np.array([0.0, 0.1, 0.2, 0.3])
    f0 = np.array([[100.0], [400.0], [0.0], [0.0]])
    out = resample_truth(times, f0, np.array([0.05, 0.14, 0.16, 0.4]))[:, 0]
    assert out[0] == pytest.approx(200.0)  # half-way between 100 and 400 Hz in cents (geometric mean)
    assert out[1] == 400.0 and out[2] == 0.0  # next to an unvoiced row: the nearer row decides
    assert out[3] == 0.0  # past the annotation's end
