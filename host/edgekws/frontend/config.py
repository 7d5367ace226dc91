"""FrontendConfig: the one description of the audio feature frontend.

The same config object drives the host feature extraction, travels in every
model bundle (``bundle.json``) and is turned into constants in the firmware's
generated header, so it is plain data: a frozen dataclass of numbers and
strings that round-trips to JSON and has a stable hash.

Fixed design decisions (not config fields, because the device frontend in C
implements exactly this and nothing else):

* frames are taken without centering or reflect padding: frame ``t`` covers
  samples ``[t * hop_length, t * hop_length + win_length)``, so a frame depends
  only on audio already received and a streaming device computes the same
  frames as the host computes on a whole clip;
* the window is a *periodic* Hann window of ``win_length`` samples, the frame is
  zero-padded at the end to ``n_fft`` (a power of two suits the device's real
  FFT) and the power spectrum ``|X|^2`` of the real FFT is taken;
* the mel filterbank is triangular on the HTK mel scale with unit peak height
  (librosa ``htk=True, norm=None``, TensorFlow's ``linear_to_mel_weight_matrix``
  convention used by Arm's Hello Edge);
* the log is ``10 * log10(max(mel, log_floor))`` (decibels, librosa
  ``power_to_db(ref=1.0, amin=log_floor, top_db=None)``): no ``top_db`` clip,
  because that depends on the loudest frame of the whole clip and would break
  streaming;
* MFCCs are the first ``n_mfcc`` coefficients of a DCT-II over the log-mel bands.

Fields with defaults that keep this design select TensorFlow's ``tf.signal``
variant instead (the MLPerf Tiny KWS features): ``spectrum="magnitude"``,
``log="ln"`` (``ln(mel + log_floor)``), ``mel_weights="mel"``, ``dct_norm="tf"``.

``kind="tflm-micro"`` selects the other frontend the device computes: TensorFlow
Lite Micro's audio "microfrontend" (micro_speech and many vendor KWS models),
an all-integer pipeline with its own window, fixed-point FFT, filterbank,
noise reduction, PCAN gain control and log scale (parameters in
:class:`MicroParams`; computed by :mod:`edgekws.frontend.micro`). Its features
are the frontend's uint16 outputs as float32.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekws.errors import ConfigError

#: Bumped whenever the feature computation changes in a way that changes the
#: numbers for the same config; it is part of :meth:`FrontendConfig.hash`, so
#: feature caches and bundles made by an older frontend stop matching.
FRONTEND_VERSION = 1

#: Longest window or hop accepted, in samples (2^24: minutes of audio). A bound at all because a
#: garbage config (say 1e154 Hz x 1e154 ms) must be refused, not overflow ``int(round(...))``.
MAX_FRAME_SAMPLES = 1 << 24
#: Highest sample rate accepted (the device protocol carries it as a 32-bit field).
MAX_SAMPLE_RATE = (1 << 31) - 1

#: Hex digits of the sha256 kept by :meth:`FrontendConfig.hash`.
HASH_LENGTH = 16

#: DCT-II scalings: ``"ortho"`` (orthonormal), None (scipy's unnormalised ``2 sum``), ``"tf"``
#: (``sqrt(2 / n_mels)`` for every coefficient: tf.signal.mfccs_from_log_mel_spectrograms).
DCT_NORMS = ("ortho", None, "tf")
#: What the mel bands sum: ``"power"`` ``|X|^2`` (default) or ``"magnitude"`` ``|X|``.
SPECTRUMS = ("power", "magnitude")
#: The log: ``"db"`` ``10 log10(max(mel, log_floor))`` (default) or ``"ln"`` ``ln(mel + log_floor)``
#: (the additive offset TensorFlow recipes use).
LOGS = ("db", "ln")
#: Where the mel triangles are linear: ``"hz"`` (librosa htk=True; default) or ``"mel"``
#: (tf.signal.linear_to_mel_weight_matrix: slopes measured in mel, the DC bin zeroed).
MEL_WEIGHTS = ("hz", "mel")

#: Whose float32 arithmetic the host reproduces: ``"host"`` (scipy FFT, BLAS products;
#: the default) or ``"device"`` (the C frontend's operation order, bit-identical to
#: the firmware; :mod:`edgekws.frontend.device`).
EXACT_MODES = ("host", "device")

#: The feature algorithms: ``"mel"`` (log-mel / MFCC, the fixed design above) and
#: ``"tflm-micro"`` (TensorFlow Lite Micro's integer audio frontend, :class:`MicroParams`).
KINDS = ("mel", "tflm-micro")


@dataclass(frozen=True)
class MicroParams:
    """The TFLite Micro frontend's own stages (``kind="tflm-micro"``), defaults as TFLM's
    ``FrontendFillConfigWithDefaults``.

    Its window and filterbank come from the shared fields: ``window_ms``/``hop_ms`` (whole
    milliseconds), ``n_mels`` = channels, ``fmin``/``fmax`` = lower/upper band limits.
    ``noise_reduction=False`` skips the noise-reduction stage (its noise estimate then stays
    zero); TFLM itself always runs it. ``pcan`` is off in the TFLM library defaults and on in
    TensorFlow's ``audio_microfrontend`` op and micro_speech.
    """

    noise_reduction: bool = True
    smoothing_bits: int = 10
    even_smoothing: float = 0.025
    odd_smoothing: float = 0.06
    min_signal_remaining: float = 0.05
    pcan: bool = False
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    pcan_gain_bits: int = 21
    log_scale: bool = True
    log_scale_shift: int = 6

    def __post_init__(self) -> None:
        try:
            norm = {
                "noise_reduction": _as_bool(self.noise_reduction, "noise_reduction"),
                "smoothing_bits": _as_int(self.smoothing_bits, "smoothing_bits"),
                "even_smoothing": float(self.even_smoothing),
                "odd_smoothing": float(self.odd_smoothing),
                "min_signal_remaining": float(self.min_signal_remaining),
                "pcan": _as_bool(self.pcan, "pcan"),
                "pcan_strength": float(self.pcan_strength),
                "pcan_offset": float(self.pcan_offset),
                "pcan_gain_bits": _as_int(self.pcan_gain_bits, "pcan_gain_bits"),
                "log_scale": _as_bool(self.log_scale, "log_scale"),
                "log_scale_shift": _as_int(self.log_scale_shift, "log_scale_shift"),
            }
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"frontend micro params: {exc}") from None
        for key, value in norm.items():
            object.__setattr__(self, key, value)
        for key in ("even_smoothing", "odd_smoothing", "min_signal_remaining"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"frontend micro params: {key} must be in [0, 1], got {getattr(self, key)!r}")
        if not 0 <= self.smoothing_bits <= 16:
            raise ConfigError(f"frontend micro params: smoothing_bits must be in [0, 16], got {self.smoothing_bits}")
        if not (math.isfinite(self.pcan_strength) and math.isfinite(self.pcan_offset) and self.pcan_offset > 0):
            raise ConfigError("frontend micro params: pcan_strength must be finite and pcan_offset positive")
        if not 0 <= self.pcan_gain_bits <= 30:
            raise ConfigError(f"frontend micro params: pcan_gain_bits must be in [0, 30], got {self.pcan_gain_bits}")
        if not 0 <= self.log_scale_shift <= 15:
            raise ConfigError(f"frontend micro params: log_scale_shift must be in [0, 15], got {self.log_scale_shift}")

    @classmethod
    def from_dict(cls, data: Any) -> MicroParams:
        """From :func:`dataclasses.asdict` output; unknown keys are an error."""
        if isinstance(data, MicroParams):
            return data
        if not isinstance(data, dict):
            raise ConfigError(f"frontend micro params must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"frontend micro params: unknown field(s) {', '.join(unknown)}; "
                              f"valid: {', '.join(sorted(known))}")
        return cls(**data)

    def replace(self, **changes: Any) -> MicroParams:
        return dataclasses.replace(self, **changes)

#: Fields left out of :meth:`FrontendConfig.canonical_json` while they hold these values, so
#: adding them kept the hash of every earlier config (caches, committed bundles).
_HASH_OMIT_DEFAULTS: dict[str, Any] = {"exact": "host", "kind": "mel", "micro": None, "spectrum": "power",
                                        "log": "db", "mel_weights": "hz"}


@dataclass(frozen=True)
class FrontendConfig:
    """Parameters of the log-mel / MFCC frontend.

    Units: ``sample_rate`` in Hz, ``window_ms``/``hop_ms`` in milliseconds,
    ``fmin``/``fmax`` in Hz (``fmax=None`` means Nyquist and is resolved at
    construction), ``log_floor`` in linear power units (the smallest mel power
    the log sees; ``1e-6`` is -60 dB). ``n_mfcc=0`` selects log-mel output
    (``n_mels`` features per frame), otherwise ``n_mfcc`` MFCCs per frame.
    ``spectrum``, ``log``, ``mel_weights`` and ``dct_norm="tf"`` select the variants other
    recipes use (TensorFlow's ``tf.signal`` MFCC: magnitude, ``ln(mel + floor)``, mel-linear
    triangles, its DCT scaling); their defaults are the fixed design above.
    ``exact="device"`` computes the same features with the device frontend's
    float32 operations in its order (bit-identical to the firmware; needs a
    power-of-two ``n_fft``); the two modes differ by ~1e-5 dB.
    """

    name: str = "custom"
    sample_rate: int = 16000
    window_ms: float = 40.0
    hop_ms: float = 20.0
    n_fft: int = 1024
    n_mels: int = 40
    fmin: float = 20.0
    fmax: float | None = 4000.0
    log_floor: float = 1e-6
    n_mfcc: int = 10
    dct_norm: str | None = "ortho"
    exact: str = "host"
    kind: str = "mel"
    micro: MicroParams | None = None
    spectrum: str = "power"
    log: str = "db"
    mel_weights: str = "hz"

    def __post_init__(self) -> None:
        # Normalise types first so that e.g. window_ms=40 and window_ms=40.0 give
        # the same JSON and the same hash.
        try:
            norm = {
                "name": str(self.name),
                "sample_rate": _as_int(self.sample_rate, "sample_rate"),
                "window_ms": float(self.window_ms),
                "hop_ms": float(self.hop_ms),
                "n_fft": _as_int(self.n_fft, "n_fft"),
                "n_mels": _as_int(self.n_mels, "n_mels"),
                "fmin": float(self.fmin),
                "fmax": float(self.sample_rate) / 2.0 if self.fmax is None else float(self.fmax),
                "log_floor": float(self.log_floor),
                "n_mfcc": _as_int(self.n_mfcc, "n_mfcc"),
                "dct_norm": self.dct_norm,
                "exact": str(self.exact),
                "kind": str(self.kind),
                "spectrum": str(self.spectrum),
                "log": str(self.log),
                "mel_weights": str(self.mel_weights),
            }
        except (TypeError, ValueError, OverflowError) as exc:  # Overflow: an int too big for a float
            raise ConfigError(f"frontend config {self.name!r}: {exc}") from None
        if norm["kind"] not in KINDS:
            raise ConfigError(f"frontend config {self.name!r}: kind must be one of {', '.join(KINDS)}, "
                              f"got {norm['kind']!r}")
        if norm["kind"] == "tflm-micro":
            # TFLM's rule, not a free parameter: the FFT is the next power of two >= the window.
            win_f = norm["sample_rate"] * norm["window_ms"] / 1000.0
            if math.isfinite(win_f) and 1.0 <= win_f <= float(1 << 20):  # else _check says what is wrong
                norm["n_fft"] = 1 << max(1, (int(round(win_f)) - 1).bit_length())
            norm["micro"] = MicroParams() if self.micro is None else MicroParams.from_dict(self.micro)
        elif self.micro is not None:
            raise ConfigError(f"frontend config {self.name!r}: 'micro' parameters need kind='tflm-micro'")
        else:
            norm["micro"] = None
        for key, value in norm.items():
            object.__setattr__(self, key, value)
        self._check()

    def _check(self) -> None:
        """Reject configs the frontend (or the device) cannot compute, with one line each."""
        def bad(msg: str) -> ConfigError:
            return ConfigError(f"frontend config {self.name!r}: {msg}")

        for key in ("window_ms", "hop_ms", "fmin", "fmax", "log_floor"):
            if not math.isfinite(getattr(self, key)):
                raise bad(f"{key} must be finite")
        if not 0 < self.sample_rate <= MAX_SAMPLE_RATE:
            raise bad(f"sample_rate must be in 1..{MAX_SAMPLE_RATE} Hz, got {self.sample_rate}")
        for key in ("window_ms", "hop_ms"):
            # Checked before win_length/hop_length: a huge product overflows int(round(...)).
            samples = self.sample_rate * getattr(self, key) / 1000.0
            if not math.isfinite(samples) or samples > MAX_FRAME_SAMPLES:
                raise bad(f"{key}={getattr(self, key):g} at {self.sample_rate} Hz gives more than "
                          f"{MAX_FRAME_SAMPLES} samples per frame")
        if self.win_length < 2:
            raise bad(f"window_ms={self.window_ms:g} gives {self.win_length} samples; need at least 2")
        if self.hop_length < 1:
            raise bad(f"hop_ms={self.hop_ms:g} gives {self.hop_length} samples; need at least 1")
        if self.n_fft < self.win_length:
            raise bad(f"n_fft={self.n_fft} is shorter than the window ({self.win_length} samples)")
        if self.n_mels < 1:
            raise bad(f"n_mels must be at least 1, got {self.n_mels}")
        if not 0.0 <= self.fmin < self.fmax <= self.sample_rate / 2.0:
            raise bad(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin:g} fmax={self.fmax:g}")
        if self.log_floor <= 0.0:
            raise bad(f"log_floor must be positive, got {self.log_floor:g}")
        if not 0 <= self.n_mfcc <= self.n_mels:
            raise bad(f"n_mfcc must be in [0, n_mels={self.n_mels}], got {self.n_mfcc}")
        if self.dct_norm not in DCT_NORMS:
            raise bad(f"dct_norm must be 'ortho', 'tf' or null, got {self.dct_norm!r}")
        for key, valid in (("spectrum", SPECTRUMS), ("log", LOGS), ("mel_weights", MEL_WEIGHTS)):
            if getattr(self, key) not in valid:
                raise bad(f"{key} must be one of {', '.join(valid)}, got {getattr(self, key)!r}")
        if self.exact not in EXACT_MODES:
            raise bad(f"exact must be 'host' or 'device', got {self.exact!r}")
        if self.kind == "tflm-micro":
            self._check_micro(bad)
            return
        if self.exact == "device" and (self.n_fft < 4 or self.n_fft & (self.n_fft - 1)):
            raise bad(f"exact='device' needs a power-of-two n_fft >= 4 (the device FFT), got {self.n_fft}")

    def _check_micro(self, bad: Any) -> None:
        for key in ("window_ms", "hop_ms"):
            samples = self.sample_rate * getattr(self, key)
            if not float(getattr(self, key)).is_integer() or samples % 1000:
                raise bad(f"kind='tflm-micro' takes whole milliseconds that give whole samples; {key}="
                          f"{getattr(self, key):g} at {self.sample_rate} Hz does not")
        if self.n_mfcc != 0:
            raise bad(f"kind='tflm-micro' gives filterbank channels, not MFCCs: set n_mfcc=0 (got {self.n_mfcc})")
        for key in ("spectrum", "log", "mel_weights"):
            if getattr(self, key) != _HASH_OMIT_DEFAULTS[key]:
                raise bad(f"{key}={getattr(self, key)!r} is a kind='mel' option; the TFLM frontend has its own stages")
        if self.n_mels > 256:
            raise bad(f"kind='tflm-micro' supports at most 256 channels, got {self.n_mels}")
        if self.win_length > 4096:
            raise bad(f"kind='tflm-micro' supports windows up to 4096 samples, got {self.win_length}")

    def device_unsupported_reason(self) -> str | None:
        """None when the device C frontend computes this config bit-exactly; otherwise one line why not.

        Export and streaming ask this (and refuse the config with the line) instead of letting
        the device compute approximate features.
        """
        from edgekws.frontend.device import check_device_config

        try:
            check_device_config(self)
        except ConfigError as exc:
            return str(exc)
        return None

    @property
    def device_supported(self) -> bool:
        """``device_unsupported_reason() is None``."""
        return self.device_unsupported_reason() is None

    # ---- derived sizes --------------------------------------------------

    @property
    def win_length(self) -> int:
        """Window length in samples (``window_ms`` rounded to whole samples)."""
        return int(round(self.sample_rate * self.window_ms / 1000.0))

    @property
    def hop_length(self) -> int:
        """Hop between frame starts in samples."""
        return int(round(self.sample_rate * self.hop_ms / 1000.0))

    @property
    def n_bins(self) -> int:
        """Number of real-FFT bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    @property
    def num_features(self) -> int:
        """Features per frame: ``n_mfcc`` for MFCC output, ``n_mels`` for log-mel."""
        return self.n_mfcc if self.n_mfcc > 0 else self.n_mels

    @property
    def is_mfcc(self) -> bool:
        return self.n_mfcc > 0

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for a clip of ``num_samples`` samples (0 if shorter than a window)."""
        if num_samples < self.win_length:
            return 0
        return 1 + (int(num_samples) - self.win_length) // self.hop_length

    def feature_shape(self, num_samples: int) -> tuple[int, int]:
        """``(frames, num_features)`` for one clip of ``num_samples`` samples."""
        return self.num_frames(num_samples), self.num_features

    # ---- serialisation --------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (what goes into bundle.json)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrontendConfig:
        """Build a config from :meth:`to_dict` output; unknown keys are an error, not ignored."""
        if not isinstance(data, dict):
            raise ConfigError(f"frontend config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"frontend config: unknown field(s) {', '.join(unknown)}; "
                              f"valid: {', '.join(sorted(known))}")
        data = dict(data)
        if data.get("micro") is not None:
            data["micro"] = MicroParams.from_dict(data["micro"])
        return cls(**data)

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text of :meth:`to_dict` (keys in field order)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> FrontendConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"frontend config is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def canonical_json(self) -> str:
        """The text that :meth:`hash` digests.

        Sorted keys, no whitespace, Python's shortest-repr floats: the same
        numbers always give the same text. ``name`` is left out on purpose (two
        configs that compute identical features share a hash and a feature
        cache entry) and :data:`FRONTEND_VERSION` is put in (a changed algorithm
        gives a new hash). ``exact``, ``kind`` and ``micro`` enter only when
        they differ from their defaults (``"host"``, ``"mel"``, None), so the
        hashes of earlier configs (the mel presets, every existing cache and
        bundle) are those from before the fields existed.
        """
        data = self.to_dict()
        del data["name"]
        for key, default in _HASH_OMIT_DEFAULTS.items():
            if data[key] == default:
                del data[key]
        data["frontend_version"] = FRONTEND_VERSION
        return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def hash(self) -> str:
        """Stable short hash (sha256 hex prefix) of the computation this config defines."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()[:HASH_LENGTH]

    def replace(self, **changes: Any) -> FrontendConfig:
        """A copy with some fields changed (validated like a new config)."""
        return dataclasses.replace(self, **changes)


def _as_bool(value: Any, key: str) -> bool:
    """Accept JSON booleans only (a 0/1 or a string is more likely a mistake than a flag)."""
    if isinstance(value, bool):
        return value
    raise TypeError(f"{key} must be true or false, got {value!r}")


def _as_int(value: Any, key: str) -> int:
    """Accept ints (and integral floats from JSON); reject 40.5 or True."""
    if isinstance(value, bool):
        raise TypeError(f"{key} must be an integer, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) or hasattr(value, "__index__"):
        return int(value)
    raise TypeError(f"{key} must be an integer, got {value!r}")


_KWS_MFCC = FrontendConfig(
    name="kws-mfcc-49x10", sample_rate=16000, window_ms=40.0, hop_ms=20.0, n_fft=1024,
    n_mels=40, fmin=20.0, fmax=4000.0, log_floor=1e-6, n_mfcc=10, dct_norm="ortho",
)

PRESETS: dict[str, FrontendConfig] = {
    # Arm "Hello Edge" DS-CNN input: 40 ms / 20 ms frames, 40 mel bands 20-4000 Hz,
    # 10 MFCCs -> 49 x 10 for one second at 16 kHz; 640-sample window in a 1024-point FFT.
    "kws-mfcc-49x10": _KWS_MFCC,
    # Same framing, the 40 log-mel bands themselves (49 x 40).
    "kws-logmel-49x40": _KWS_MFCC.replace(name="kws-logmel-49x40", n_mfcc=0),
    # The host audio tasks (tagging, SED, scenes): 25 ms / 10 ms frames, 64 bands to Nyquist.
    "audio-logmel-64": FrontendConfig(
        name="audio-logmel-64", sample_rate=16000, window_ms=25.0, hop_ms=10.0, n_fft=512,
        n_mels=64, fmin=50.0, fmax=8000.0, log_floor=1e-6, n_mfcc=0, dct_norm="ortho",
    ),
    # Heart sounds (PhysioNet/CinC 2016 records at 2 kHz): 50 ms / 20 ms frames (50 frames/s, the
    # segmentation literature's rate), 16 bands 20-800 Hz (S1/S2 below ~200 Hz, murmurs above).
    "pcg-logmel-16": FrontendConfig(
        name="pcg-logmel-16", sample_rate=2000, window_ms=50.0, hop_ms=20.0, n_fft=256,
        n_mels=16, fmin=20.0, fmax=800.0, log_floor=1e-6, n_mfcc=0, dct_norm="ortho",
    ),
    # TensorFlow Lite Micro's audio frontend as the MLPerf Tiny DS-CNN models trained on it use
    # it: 30 ms / 20 ms frames, 10 channels 125-4000 Hz (49 x 10 for one second); noise
    # reduction, PCAN and log scale as TFLM's library defaults (PCAN off). uint16 outputs.
    "tflm-microfrontend": FrontendConfig(
        name="tflm-microfrontend", sample_rate=16000, window_ms=30.0, hop_ms=20.0, n_fft=512,
        n_mels=10, fmin=125.0, fmax=4000.0, n_mfcc=0, kind="tflm-micro", micro=MicroParams(),
    ),
}

# The MLPerf Tiny KWS dataset features (its get_dataset.py): tf.signal.stft 30 ms / 20 ms,
# 512-point FFT, periodic Hann; magnitude; linear_to_mel_weight_matrix(40, 20-4000 Hz);
# log(mel + 1e-6); mfccs_from_log_mel_spectrograms, first 10 -> 49 x 10 for one second.
PRESETS["mlperf-tiny-kws"] = FrontendConfig(
    name="mlperf-tiny-kws", sample_rate=16000, window_ms=30.0, hop_ms=20.0, n_fft=512, n_mels=40,
    fmin=20.0, fmax=4000.0, log_floor=1e-6, n_mfcc=10, dct_norm="tf", spectrum="magnitude", log="ln",
    mel_weights="mel",
)

DEFAULT_PRESET = "kws-mfcc-49x10"


def preset_names() -> list[str]:
    return list(PRESETS)


def get_preset(name: str) -> FrontendConfig:
    """The named preset; an unknown name is a :class:`ConfigError` listing the valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown frontend preset {name!r}; valid: {', '.join(PRESETS)}") from None


def load_config(spec: str | Path | FrontendConfig | dict[str, Any]) -> FrontendConfig:
    """Resolve what a user or a recipe names a frontend by.

    Accepts a config, a dict (e.g. from bundle.json), a preset name, or the path
    of a JSON file holding a config (or a bundle.json with a ``frontend`` key).
    """
    if isinstance(spec, FrontendConfig):
        return spec
    if isinstance(spec, dict):
        return FrontendConfig.from_dict(spec)
    text = str(spec)
    if text in PRESETS:
        return PRESETS[text]
    path = Path(text)
    if path.suffix.lower() == ".json" or path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read frontend config {path}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"frontend config {path} is not valid JSON: {exc}") from None
        if isinstance(data, dict) and isinstance(data.get("frontend"), dict):
            data = data["frontend"]
        return FrontendConfig.from_dict(data)
    raise ConfigError(f"unknown frontend preset {text!r}; valid: {', '.join(PRESETS)} (or a .json file)")
