"""Audio I/O: formats, channel/rate conversion, PCM scaling, atomic writes, one-line errors."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import soundfile as sf

from edgekws.audio import (
    float_to_pcm16,
    load_audio,
    pad_or_trim,
    pcm16_to_float,
    resample,
    validate_audio,
    write_wav,
)
from edgekws.cli import main
from edgekws.errors import AudioError, ConfigError
from edgekws.frontend import get_preset

SR = 16000
CFG = get_preset("kws-mfcc-49x10")


def tone(freq: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spec) * rate / x.size)


# ---- reading -------------------------------------------------------------

def test_int16_wav_reads_with_libsndfile_scaling(tmp_path):
    pcm = np.array([0, 1, -1, 32767, -32768, 16384], dtype=np.int16)
    path = tmp_path / "a.wav"
    sf.write(path, pcm, SR, subtype="PCM_16")
    x = load_audio(path)
    assert x.dtype == np.float32 and x.ndim == 1
    np.testing.assert_array_equal(x, pcm.astype(np.float32) / 32768)


def test_float_wav_reads_and_clips_to_full_scale(tmp_path):
    data = np.array([0.25, -0.5, 1.5, -2.0, 0.999], dtype=np.float32)
    path = tmp_path / "f.wav"
    sf.write(path, data, SR, subtype="FLOAT")
    x = load_audio(path)
    np.testing.assert_array_equal(x, np.clip(data, -1, 1))


def test_stereo_is_downmixed_by_averaging(tmp_path):
    left, right = tone(300, 0.5, SR, 0.4), tone(700, 0.5, SR, 0.2)
    path = tmp_path / "st.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize("rate", [44100, 48000, 22050, 8000])
def test_other_rates_are_resampled_to_16k(tmp_path, rate):
    path = tmp_path / f"r{rate}.wav"
    sf.write(path, tone(1000, 1.0, rate), rate, subtype="PCM_16")
    x = load_audio(path)
    assert abs(x.size - SR) <= 1
    assert abs(peak_hz(x, SR) - 1000) <= 2
    # amplitude survives the anti-alias filter (middle of the clip, away from its edges)
    assert abs(np.abs(x[2000:-2000]).max() - 0.5) < 0.01


def test_44k1_stereo_int16_flac(tmp_path):
    rate = 44100
    st = np.stack([tone(440, 0.75, rate, 0.3), tone(440, 0.75, rate, 0.3)], axis=1)
    path = tmp_path / "s.flac"
    sf.write(path, st, rate, subtype="PCM_16")
    x = load_audio(path)
    assert x.dtype == np.float32 and x.shape == (12000,)
    assert abs(peak_hz(x, SR) - 440) <= 2


def test_load_audio_target_rate_argument(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, tone(500, 1.0, SR), SR)
    assert load_audio(path, sample_rate=8000).size == 8000
    with pytest.raises(ConfigError):
        load_audio(path, sample_rate=0)


def test_resample_identity_and_ratio():
    x = tone(100, 0.1, SR)
    np.testing.assert_array_equal(resample(x, SR, SR), x)
    assert resample(x, 44100, 16000).dtype == np.float32


# ---- bad files -----------------------------------------------------------

def _one_line_naming(exc: pytest.ExceptionInfo, path) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_corrupt_bytes(tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" + bytes(range(40)))
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "cannot read audio" in _one_line_naming(exc, path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "empty" in _one_line_naming(exc, path)


def test_wav_with_zero_samples(tmp_path):
    path = tmp_path / "nosamples.wav"
    sf.write(path, np.zeros(0, dtype=np.int16), SR, subtype="PCM_16")
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "no samples" in _one_line_naming(exc, path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(AudioError) as exc:
        load_audio(tmp_path / "missing.wav")
    assert "no such" in _one_line_naming(exc, tmp_path / "missing.wav")
    with pytest.raises(AudioError):
        load_audio(tmp_path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    data = np.full(1600, bad, dtype=np.float32)
    path = tmp_path / "nan.wav"
    sf.write(path, data, SR, subtype="FLOAT")
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert "non-finite" in _one_line_naming(exc, path)


def test_single_nan_among_finite_samples_is_an_error(tmp_path):
    data = tone(200, 0.5, SR)
    data[1234] = np.nan
    path = tmp_path / "onenan.wav"
    sf.write(path, data, SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="1 non-finite"):
        load_audio(path)


# ---- validate_audio --------------------------------------------------------

def test_validate_audio_accepts_and_returns_float32():
    x = validate_audio(np.zeros(CFG.win_length, dtype=np.float64), CFG)
    assert x.dtype == np.float32 and x.shape == (CFG.win_length,)
    assert validate_audio(np.zeros((3, SR), np.float32), CFG).shape == (3, SR)


@pytest.mark.parametrize("audio, match", [
    (np.zeros(CFG.win_length - 1, np.float32), "shorter than one 40 ms window"),
    (np.array([0.0, np.nan] * 400, np.float32), "non-finite"),
    (np.zeros(SR, np.int16), "expected float samples"),
    (np.zeros((2, 2, SR), np.float32), "expected shape"),
])
def test_validate_audio_rejects(audio, match):
    with pytest.raises(AudioError, match=match) as exc:
        validate_audio(audio, CFG, source="clip.wav")
    assert "clip.wav" in str(exc.value) and "\n" not in str(exc.value)


# ---- PCM conversion and writing -------------------------------------------

def test_pcm16_round_trip_is_exact_for_every_value():
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    np.testing.assert_array_equal(float_to_pcm16(pcm16_to_float(pcm)), pcm)
    assert float_to_pcm16(np.array([1.0, -1.0, 3.0]))[0] == 32767
    with pytest.raises(AudioError):
        float_to_pcm16(np.array([0.0, np.nan]))


def test_write_wav_round_trip_and_format(tmp_path):
    x = pcm16_to_float(np.array([0, 100, -100, 32767, -32768] * 100, dtype=np.int16))
    path = write_wav(tmp_path / "sub" / "out.wav", x, SR)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
    np.testing.assert_array_equal(load_audio(path), x)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["out.wav"]  # no temp file left behind


def test_write_wav_failure_leaves_old_file_and_no_temp(tmp_path):
    path = write_wav(tmp_path / "keep.wav", np.zeros(100, np.float32), SR)
    before = path.read_bytes()
    with pytest.raises(AudioError):
        write_wav(path, np.array([0.0, np.inf]), SR)
    with pytest.raises(AudioError):
        write_wav(path, np.zeros((10, 2)), SR)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_pad_or_trim():
    assert pad_or_trim(np.ones(10), 16).tolist() == [1.0] * 10 + [0.0] * 6
    assert pad_or_trim(np.ones((2, 20)), 16).shape == (2, 16)


# ---- CLI: one line, non-zero exit ------------------------------------------

def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.mark.parametrize("kind", ["corrupt", "empty", "nan", "short", "missing"])
def test_cli_bad_audio_is_one_line_error(tmp_path, capsys, kind):
    path = tmp_path / f"{kind}.wav"
    if kind == "corrupt":
        path.write_bytes(b"not a wav file at all" * 10)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "nan":
        sf.write(path, np.full(SR, np.nan, np.float32), SR, subtype="FLOAT")
    elif kind == "short":
        sf.write(path, np.zeros(CFG.win_length - 1, np.int16), SR, subtype="PCM_16")
    code, out, err = run_cli(["frontend", "features", str(path)], capsys)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0]
    assert "Traceback" not in err and out == ""


def test_cli_features_on_good_file(tmp_path, capsys):
    path = tmp_path / "ok.wav"
    sf.write(path, tone(440, 1.0, 44100), 44100, subtype="PCM_16")
    code, out, _ = run_cli(["frontend", "features", str(path), "--preset", "kws-mfcc-49x10",
                            "--out", str(tmp_path / "f.npy")], capsys)
    assert code == 0
    assert "[49 frames, 10 MFCC]" in out
    assert np.load(tmp_path / "f.npy").shape == (49, 10)
