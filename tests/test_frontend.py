"""The feature frontend: config contract, agreement with librosa, batches, streaming, bad input.

Reference: librosa 0.10/0.11 in float64 with the equivalent parameters
(``melspectrogram(center=False, power=2, window='hann', htk=True, norm=None)``,
``power_to_db(ref=1, amin=log_floor, top_db=None)``, ``mfcc(S=..., dct_type=2,
norm=dct_norm)``). librosa centres a ``win_length`` window inside each ``n_fft``
frame, so the reference input is zero-padded by ``(n_fft - win_length) / 2`` on
both sides: its frame ``t`` then covers exactly our samples
``[t*hop, t*hop + win)`` and a shift inside the zero-padded FFT buffer does not
change the power spectrum.

Tolerances (max abs error, dB for log-mel, the same dB-scaled units for MFCC):

* ``TOL_BROADBAND = 2e-3`` for speech (espeak-ng) and broadband signals (noise,
  bursts, clicks, clipped squares). Our frontend runs in float32, as the device
  will; float32 rounding gives relative mel-power errors around 1e-6, i.e.
  ~1e-5 dB, and the float32 DCT of 40 values near -60 dB adds ~2e-4 to c0. The
  largest measured error was 1.8e-4, so 2e-3 leaves a 10x margin and still
  catches any real mistake (a wrong window, mel edge or log base is off by
  0.1 dB to tens of dB).
* ``TOL_ANY = 0.05`` for every signal, including a pure tone, a chirp and DC.
  There a mel band can sit ~100 dB below the frame's peak but above the -60 dB
  floor, where float32 FFT rounding noise (~-130 dB relative to the frame
  energy) is a visible fraction of the band: measured worst case 0.018 dB.
  float64 would remove it, but the device frontend is float32 and the host
  should show what the device computes. 0.05 dB is far below anything a model
  sees: the int8 input quantization step of these features is ~0.3-1 dB.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import pytest
import scipy.fft
import scipy.signal

from edgekws.audio import load_audio, pad_or_trim
from edgekws.cli import main
from edgekws.errors import AudioError, ConfigError
from edgekws.frontend import (
    FRONTEND_VERSION,
    PRESETS,
    FrontendConfig,
    compute_features,
    dct_matrix,
    get_preset,
    hann_window,
    load_config,
    log_mel_spectrogram,
    mel_filterbank,
    power_spectrum,
)

#: The presets librosa can check (tflm-microfrontend: tests/test_frontend_micro.py; the tf.signal
#: variant mlperf-tiny-kws: tests/test_frontend_mlperf.py against TensorFlow's own ops).
MEL_PRESETS = [name for name, cfg in PRESETS.items()
               if cfg.kind == "mel" and (cfg.spectrum, cfg.log, cfg.mel_weights) == ("power", "db", "hz")]

TOL_BROADBAND = 2e-3
TOL_ANY = 0.05
SR = 16000
ROOT = Path(__file__).resolve().parents[1]


def librosa_features(x: np.ndarray, cfg: FrontendConfig, mfcc: bool = True) -> np.ndarray:
    """The reference: librosa in float64 with the equivalent parameters (see module docstring)."""
    lpad = (cfg.n_fft - cfg.win_length) // 2
    rpad = cfg.n_fft - cfg.win_length - lpad
    y = np.pad(np.asarray(x, np.float64), [(0, 0)] * (x.ndim - 1) + [(lpad, rpad)])
    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        window="hann", center=False, power=2.0, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
        htk=True, norm=None)
    out = librosa.power_to_db(mel, ref=1.0, amin=cfg.log_floor, top_db=None)
    if mfcc and cfg.n_mfcc:
        out = librosa.feature.mfcc(S=out, n_mfcc=cfg.n_mfcc, dct_type=2, norm=cfg.dct_norm, lifter=0)
    return np.swapaxes(out, -1, -2)


def synthetic_signals() -> dict[str, tuple[np.ndarray, float]]:
    """One-second test signals and the tolerance each must meet."""
    rng = np.random.default_rng(1234)
    t = np.arange(SR) / SR
    return {
        "noise": (rng.standard_normal(SR) * 0.3, TOL_BROADBAND),
        "quiet-noise": (rng.standard_normal(SR) * 1e-4, TOL_BROADBAND),  # bands near the -60 dB floor
        "silence-then-burst": (np.concatenate([np.zeros(SR // 2), rng.uniform(-1, 1, SR // 2)]), TOL_BROADBAND),
        "clicks": ((np.arange(SR) % 1000 == 0).astype(float), TOL_BROADBAND),
        "clipped-square": (np.clip(4 * np.sign(np.sin(2 * np.pi * 220 * t)), -1, 1), TOL_BROADBAND),
        "am-harmonics": (sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20))
                         * (0.5 + 0.4 * np.sin(2 * np.pi * 3 * t)) * 0.2, TOL_ANY),
        "sine-1k": (0.5 * np.sin(2 * np.pi * 1000 * t), TOL_ANY),
        "chirp": (0.8 * np.sin(2 * np.pi * (50 * t + 3900 * t * t)), TOL_ANY),
        "dc": (np.full(SR, 0.9), TOL_ANY),
    }


# ---- config ----------------------------------------------------------------

def test_kws_presets_match_hello_edge():
    cfg = get_preset("kws-mfcc-49x10")
    assert (cfg.win_length, cfg.hop_length, cfg.n_fft) == (640, 320, 1024)
    assert (cfg.n_mels, cfg.fmin, cfg.fmax, cfg.n_mfcc, cfg.dct_norm) == (40, 20.0, 4000.0, 10, "ortho")
    assert cfg.num_frames(SR) == 49 and cfg.num_features == 10
    lm = get_preset("kws-logmel-49x40")
    assert lm.feature_shape(SR) == (49, 40) and lm.n_mfcc == 0
    assert lm.replace(name="x", n_mfcc=10).hash() == cfg.hash()


def test_num_frames_edges():
    cfg = get_preset("kws-mfcc-49x10")
    assert cfg.num_frames(639) == 0
    assert cfg.num_frames(640) == 1
    assert cfg.num_frames(959) == 1
    assert cfg.num_frames(960) == 2


@pytest.mark.parametrize("name", list(PRESETS))
def test_json_round_trip(name):
    cfg = get_preset(name)
    again = FrontendConfig.from_json(cfg.to_json())
    assert again == cfg and again.hash() == cfg.hash()
    assert FrontendConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_hash_is_stable_and_pinned():
    """Pinned literals: a change here means every cache and bundle is invalidated, so it must be deliberate
    (bump FRONTEND_VERSION when the algorithm changes and update these values)."""
    assert FRONTEND_VERSION == 1
    assert get_preset("kws-mfcc-49x10").hash() == "5ec97173389beb7a"
    assert get_preset("kws-logmel-49x40").hash() == "4bba4e270d0e2830"
    code = ("from edgekws.frontend import get_preset; "
            "print(get_preset('kws-mfcc-49x10').hash())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "123"}).stdout.strip()
    assert out == "5ec97173389beb7a"


def test_hash_ignores_name_and_number_spelling_but_not_values():
    base = get_preset("kws-mfcc-49x10")
    assert base.replace(name="other").hash() == base.hash()
    assert FrontendConfig(**{**base.to_dict(), "window_ms": 40, "n_fft": 1024.0}).hash() == base.hash()
    changes = {"sample_rate": 8000, "window_ms": 30.0, "hop_ms": 10.0, "n_fft": 2048, "n_mels": 32,
               "fmin": 0.0, "fmax": 3800.0, "log_floor": 1e-7, "n_mfcc": 13, "dct_norm": None}
    hashes = {base.replace(**{k: v}).hash() for k, v in changes.items()}
    assert len(hashes) == len(changes) and base.hash() not in hashes


def test_fmax_none_means_nyquist():
    assert FrontendConfig(fmax=None, sample_rate=8000, fmin=0).fmax == 4000.0


@pytest.mark.parametrize("changes, match", [
    ({"n_fft": 512}, "shorter than the window"),
    ({"fmax": 9000.0}, "fmax"),
    ({"fmin": 4000.0}, "fmin"),
    ({"n_mfcc": 41}, "n_mfcc"),
    ({"n_mels": 0}, "n_mels"),
    ({"log_floor": 0.0}, "log_floor"),
    ({"dct_norm": "forward"}, "dct_norm"),
    ({"hop_ms": 0.01}, "hop_ms"),
    ({"n_mels": 40.5}, "integer"),
    ({"sample_rate": "fast"}, "integer"),
    ({"window_ms": float("nan")}, "finite"),
])
def test_invalid_configs_are_config_errors(changes, match):
    with pytest.raises(ConfigError, match=match) as exc:
        get_preset("kws-mfcc-49x10").replace(**changes)
    assert "\n" not in str(exc.value)


def test_from_dict_rejects_unknown_fields_and_non_objects():
    with pytest.raises(ConfigError, match="unknown field"):
        FrontendConfig.from_dict({**get_preset("kws-mfcc-49x10").to_dict(), "n_ffts": 1})
    with pytest.raises(ConfigError):
        FrontendConfig.from_dict([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not valid JSON"):
        FrontendConfig.from_json("{nope")


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ConfigError) as exc:
        get_preset("kws-mfcc-99")
    for name in PRESETS:
        assert name in str(exc.value)


def test_load_config_from_preset_file_and_bundle(tmp_path):
    cfg = get_preset("kws-logmel-49x40").replace(name="mine", n_mels=32)
    (tmp_path / "fe.json").write_text(cfg.to_json())
    (tmp_path / "bundle.json").write_text(json.dumps({"schema_version": 1, "frontend": cfg.to_dict()}))
    assert load_config(str(tmp_path / "fe.json")) == cfg
    assert load_config(tmp_path / "bundle.json") == cfg
    assert load_config("kws-mfcc-49x10") is get_preset("kws-mfcc-49x10")
    (tmp_path / "bad.json").write_text("[")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.json")


# ---- constant tables vs librosa/scipy ----------------------------------------

@pytest.mark.parametrize("name", MEL_PRESETS)
def test_tables_match_reference(name):
    cfg = get_preset(name)
    np.testing.assert_allclose(hann_window(cfg.win_length),
                               scipy.signal.get_window("hann", cfg.win_length, fftbins=True), atol=1e-7)
    ref_mel = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin,
                                  fmax=cfg.fmax, htk=True, norm=None)
    np.testing.assert_allclose(mel_filterbank(cfg), ref_mel, atol=1e-6)
    ref_dct = scipy.fft.dct(np.eye(cfg.n_mels), type=2, norm="ortho", axis=0)[: cfg.num_features]
    np.testing.assert_allclose(dct_matrix(cfg), ref_dct, atol=1e-6)
    assert not mel_filterbank(cfg).flags.writeable  # cached: callers must not be able to corrupt it


# ---- features vs librosa ---------------------------------------------------

@pytest.mark.parametrize("name", MEL_PRESETS)
@pytest.mark.parametrize("signal", list(synthetic_signals()))
def test_features_match_librosa_on_synthetic_signals(name, signal):
    cfg = get_preset(name)
    x, tol = synthetic_signals()[signal]
    x = x.astype(np.float32)
    ours = compute_features(x, cfg)
    ref = librosa_features(x, cfg)
    assert ours.dtype == np.float32 and ours.shape == ref.shape == (cfg.num_frames(SR), cfg.num_features)
    assert np.abs(ours - ref).max() <= tol
    lm_err = np.abs(log_mel_spectrogram(x, cfg) - librosa_features(x, cfg, mfcc=False)).max()
    assert lm_err <= tol


def test_dct_norm_none_matches_librosa():
    cfg = get_preset("kws-mfcc-49x10").replace(dct_norm=None, n_mfcc=13)
    x = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    # unnormalised DCT values are ~2*sqrt(N/2) = 9x larger, so is their float32 rounding
    assert np.abs(compute_features(x, cfg) - librosa_features(x, cfg)).max() <= 10 * TOL_BROADBAND


@pytest.fixture(scope="module")
def espeak_words(tmp_path_factory) -> np.ndarray:
    """A few words spoken by espeak-ng (22.05 kHz WAVs, so loading also resamples), padded to 1 s."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("espeak")
    clips = []
    for i, (word, voice, speed, pitch) in enumerate(
            [("yes", "en", 160, 50), ("left", "en-us+f3", 130, 70), ("stop", "en+m3", 200, 30)]):
        path = out / f"{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), word],
                       check=True, capture_output=True)
        clips.append(pad_or_trim(load_audio(path), SR))
    return np.stack(clips)


@pytest.mark.espeak
@pytest.mark.parametrize("name", MEL_PRESETS)
def test_features_match_librosa_on_speech(espeak_words, name):
    cfg = get_preset(name)
    noisy = espeak_words + np.random.default_rng(5).standard_normal(espeak_words.shape).astype(np.float32) * 1e-3
    for batch in (espeak_words, noisy):
        ours = compute_features(batch, cfg)
        ref = librosa_features(batch, cfg)
        assert ours.shape == ref.shape == (3, cfg.num_frames(SR), cfg.num_features)
        assert np.abs(ours - ref).max() <= TOL_BROADBAND


def test_sanity_of_values_not_just_agreement():
    """Independent of librosa: a full-scale tone's band is where it should be, silence sits at the floor."""
    cfg = get_preset("kws-logmel-49x40")
    t = np.arange(SR) / SR
    lm = compute_features((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), cfg)
    centres = librosa.mel_frequencies(cfg.n_mels + 2, fmin=cfg.fmin, fmax=cfg.fmax, htk=True)[1:-1]
    assert abs(centres[lm.mean(axis=0).argmax()] - 1000) < 60
    np.testing.assert_allclose(compute_features(np.zeros(SR, np.float32), cfg), -60.0, atol=1e-4)
    # power spectrum of a 0.5-amplitude bin-centred tone: (A * sum(w) / 2)^2 with sum(w) = win/2
    k = 64
    tone = (0.5 * np.cos(2 * np.pi * k * np.arange(SR) / cfg.n_fft)).astype(np.float32)
    p = power_spectrum(tone, cfg)
    assert p.shape == (49, cfg.n_bins)
    assert abs(p[:, k].mean() / (0.5 * cfg.win_length / 2 / 2) ** 2 - 1) < 0.05


# ---- batches, streaming, dtype ------------------------------------------------

def test_batch_equals_single_clips_and_spans_chunks():
    cfg = get_preset("kws-mfcc-49x10")
    x = (np.random.default_rng(7).standard_normal((70, SR)) * 0.2).astype(np.float32)
    batch = compute_features(x, cfg)  # 70 clips > one internal chunk
    assert batch.shape == (70, 49, 10) and batch.dtype == np.float32
    single = np.stack([compute_features(c, cfg) for c in x])
    np.testing.assert_allclose(batch, single, atol=1e-4)


def test_frames_depend_only_on_their_samples():
    """No centering/padding: any hop-aligned segment reproduces the matching frames (what streaming needs)."""
    cfg = get_preset("kws-mfcc-49x10")
    x = (np.random.default_rng(8).standard_normal(SR) * 0.2).astype(np.float32)
    full = compute_features(x, cfg)
    start, n = 10, 6
    seg = x[start * cfg.hop_length: start * cfg.hop_length + cfg.win_length + (n - 1) * cfg.hop_length]
    np.testing.assert_allclose(compute_features(seg, cfg), full[start:start + n], atol=1e-4)
    # the last partial hop is dropped, not padded
    assert compute_features(x[:-1], cfg).shape[0] == 48


def test_long_recording_is_processed_in_runs_of_frames():
    """A 12 s clip spans several internal frame runs; the seams must not show."""
    cfg = get_preset("kws-logmel-49x40")
    x = (np.random.default_rng(10).standard_normal(12 * SR) * 0.1).astype(np.float32)
    ours = compute_features(x, cfg)
    assert ours.shape == (cfg.num_frames(x.size), 40) == (599, 40)
    assert np.abs(ours - librosa_features(x, cfg)).max() <= TOL_BROADBAND
    np.testing.assert_allclose(compute_features(x[None], cfg)[0], ours, atol=1e-4)


def test_float64_input_and_lists_are_accepted():
    cfg = get_preset("kws-mfcc-49x10")
    x = np.random.default_rng(9).standard_normal(800) * 0.1
    np.testing.assert_allclose(compute_features(x, cfg), compute_features(x.astype(np.float32), cfg))
    assert compute_features(x.tolist(), cfg).shape == (1, 10)


@pytest.mark.parametrize("audio, match", [
    (np.zeros(639, np.float32), "shorter than one"),
    (np.zeros((4, 100), np.float32), "shorter than one"),
    (np.array([np.nan] * SR, np.float32), "non-finite"),
    (np.concatenate([np.zeros(SR - 1), [np.inf]]).astype(np.float32), "1 non-finite"),
    (np.zeros(SR, np.int16), "expected float samples"),
    (np.zeros((1, 1, SR), np.float32), "expected shape"),
    (np.array(["a"] * 700), "numeric"),
])
def test_bad_audio_is_audio_error(audio, match):
    cfg = get_preset("kws-mfcc-49x10")
    with pytest.raises(AudioError, match=match):
        compute_features(audio, cfg)


# ---- CLI ---------------------------------------------------------------------

def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_cli_show_prints_config_and_hash(capsys):
    code, out, _ = run_cli(["frontend", "show", "kws-mfcc-49x10"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["hash"] == get_preset("kws-mfcc-49x10").hash() and doc["frames_per_second"] == 49
    assert FrontendConfig.from_dict({k: doc[k] for k in get_preset("kws-mfcc-49x10").to_dict()}) \
        == get_preset("kws-mfcc-49x10")


def test_cli_list(capsys):
    code, out, _ = run_cli(["frontend", "list"], capsys)
    assert code == 0 and all(name in out for name in PRESETS) and "49x10" in out


@pytest.mark.parametrize("args", [["frontend", "show", "nope"],
                                  ["frontend", "features", "x.wav", "--preset", "nope"]])
def test_cli_unknown_preset_is_one_line_error(capsys, args):
    code, out, err = run_cli(args, capsys)
    assert code != 0 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown frontend preset 'nope'")
    assert "kws-mfcc-49x10" in lines[0]


def test_cli_features_json(tmp_path, capsys):
    import soundfile as sf

    path = tmp_path / "n.wav"
    sf.write(path, np.random.default_rng(2).standard_normal(SR) * 0.1, SR, subtype="PCM_16")
    code, out, _ = run_cli(["frontend", "features", str(path), "-p", "kws-logmel-49x40", "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["shape"] == [49, 40] and doc["frontend_hash"] == "4bba4e270d0e2830"


# ---- benchmark script ----------------------------------------------------------

def test_benchmark_script_runs_small(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "frontend.py"), "--clips", "16",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["clips"] == 16 and doc["speedup_batch"] > 0 and doc["max_abs_diff"] <= TOL_BROADBAND
    assert "speed-up vs librosa" in proc.stdout
