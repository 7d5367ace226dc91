"""Host streaming mode: a bundle's int8 model on a WAV file or a microphone, through the twin detector.

:func:`open_session` wires the pieces a device also has (frontend -> int8
frames -> detector -> model through TFLite Micro, the bit-exact reference for
the firmware's kernels); :func:`run_stream` returns the detection list in the
device's report format, which is what the emulator end-to-end test compares;
:func:`listen` and :func:`listen_microphone` print detections as they happen.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.errors import BundleError, ConfigError, EdgeKwsError
from edgekws.frontend import FrontendConfig
from edgekws.stream.config import DetectorParams, StreamConfig
from edgekws.stream.detector import Detection, StreamDetector
from edgekws.stream.features import FeatureStreamer, FrameFn

OnDetection = Callable[[Detection], None]


class MicrophoneUnavailable(EdgeKwsError):
    """The optional sounddevice package (or an input device) is missing."""


@dataclass
class StreamSession:
    """Everything one stream needs, built from a bundle; feed it audio with :meth:`push_audio`."""

    labels: list[str]
    frontend: FrontendConfig
    params: DetectorParams
    features: FeatureStreamer
    detector: StreamDetector
    infer: Callable[[np.ndarray], np.ndarray]

    def push_audio(self, audio: np.ndarray, on_detection: OnDetection | None = None) -> list[Detection]:
        """Process a chunk of float32 samples; the detections it completed, in order."""
        return self.detector.run(self.features.push(audio), self.infer, on_detection)


def stream_frontend(frontend: FrontendConfig, exact: str | None = "auto") -> FrontendConfig:
    """The frontend the stream runs: ``"device"`` (bit-identical to the C frontend), ``"host"``,
    ``None`` (as the bundle says) or ``"auto"`` (device when it can compute this config, which is
    what makes host and device detections identical)."""
    if exact is None:
        return frontend
    if exact not in ("auto", "device", "host"):
        raise ConfigError(f"exact must be auto, device or host, got {exact!r}")
    try:
        return dataclasses.replace(frontend, exact="device" if exact == "auto" else exact)
    except ConfigError:
        if exact == "auto":
            return frontend
        raise


def open_session(bundle: str | Path, cfg: StreamConfig | None = None, frame_fn: FrameFn | None = None,
                 exact: str | None = "auto") -> StreamSession:
    """Load a bundle and build the frontend, the TFLite Micro model and the detector for ``cfg``.

    ``exact`` picks the feature computation (see :func:`stream_frontend`); ``frame_fn`` replaces it.
    """
    from edgekws.export.bundle import load_bundle
    from edgekws.tflm import TflmModel

    cfg = cfg or StreamConfig()
    b = load_bundle(bundle)
    meta = b.meta
    frontend = stream_frontend(FrontendConfig.from_dict(meta["frontend"]), exact)
    shape = [int(v) for v in meta["input"]["shape"]]
    if len(shape) < 3:
        raise BundleError(f"bundle {b.path}: model input shape {shape} is not [1, frames, feats, 1]")
    frames, feats = shape[1], shape[2]
    if feats != frontend.num_features:
        raise BundleError(f"bundle {b.path}: model takes {feats} features per frame, frontend gives "
                          f"{frontend.num_features}")
    norm = meta["input_norm"]
    if len(norm["mean"]) != feats:
        raise BundleError(f"bundle {b.path}: input_norm has {len(norm['mean'])} features, model {feats}")
    params = DetectorParams.derive(
        cfg, labels=b.labels, num_frames=frames, num_features=feats, out_scale=float(meta["output"]["scale"]),
        out_zero_point=int(meta["output"]["zero_point"]), hop_samples=frontend.hop_length,
        win_samples=frontend.win_length, sample_rate=frontend.sample_rate)
    model = TflmModel(b.tflite_path)

    def infer(window: np.ndarray) -> np.ndarray:
        return model.run(window.reshape(model.input_shape)).reshape(-1)

    feat = FeatureStreamer(frontend, np.asarray(norm["mean"]), np.asarray(norm["std"]),
                           float(meta["input"]["scale"]), int(meta["input"]["zero_point"]), frame_fn)
    return StreamSession(b.labels, frontend, params, feat, StreamDetector(params, b.labels), infer)


def run_stream(audio: np.ndarray | str | Path, bundle: str | Path, cfg: StreamConfig | None = None, *,
               chunk_samples: int = 1600, on_detection: OnDetection | None = None,
               frame_fn: FrameFn | None = None, exact: str | None = "auto",
               progress: Callable[[int, int], None] | None = None) -> list[Detection]:
    """All detections of the host twin on a whole stream (a WAV path or float32 samples).

    Audio is fed in chunks like a device receives it (the result does not depend on the
    chunk size). This is the host side of the host-vs-device equality check.
    ``progress(done_samples, total_samples)`` is called after every chunk. Float samples are
    first put on the int16 grid, because int16 PCM is what a device receives.
    """
    session = open_session(bundle, cfg, frame_fn, exact)
    x = _as_audio(audio, session.frontend.sample_rate)
    step = max(1, int(chunk_samples))
    found: list[Detection] = []
    for start in range(0, len(x), step):
        found += session.push_audio(x[start:start + step], on_detection)
        if progress is not None:
            progress(min(start + step, len(x)), len(x))
    return found


def format_detection(d: Detection) -> str:
    """One line per detection: stream time, label, score (what ``edgekws listen`` prints)."""
    return f"{d.time_ms / 1000:9.3f} s  {d.name:<10s} score {d.score}"


def listen(wav: str | Path, bundle: str | Path, cfg: StreamConfig | None = None, *,
           on_detection: OnDetection | None = None, realtime: bool = False,
           frame_fn: FrameFn | None = None, exact: str | None = "auto") -> list[Detection]:
    """Stream a WAV file through the model, calling ``on_detection`` (default: print) as each fires.

    ``realtime``: pace the file at its real duration, as a microphone would deliver it.
    """
    on_detection = on_detection or (lambda d: print(format_detection(d), flush=True))
    session = open_session(bundle, cfg, frame_fn, exact)
    x = _as_audio(wav, session.frontend.sample_rate)
    hop = session.frontend.hop_length
    found: list[Detection] = []
    t0 = time.monotonic()
    for start in range(0, len(x), hop):
        found += session.push_audio(x[start:start + hop], on_detection)
        if realtime:
            ahead = (start + hop) / session.frontend.sample_rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    return found


def listen_microphone(bundle: str | Path, cfg: StreamConfig | None = None, *, seconds: float | None = None,
                      on_detection: OnDetection | None = None, exact: str | None = "auto") -> list[Detection]:
    """Live detection from the default input device (needs the optional ``sounddevice`` package)."""
    try:
        import sounddevice as sd
    except (ImportError, OSError):
        raise MicrophoneUnavailable("microphone input needs the 'sounddevice' package "
                                    "(pip install sounddevice); or pass a WAV file") from None
    import queue

    from edgekws.audio import pcm16_to_float

    on_detection = on_detection or (lambda d: print(format_detection(d), flush=True))
    session = open_session(bundle, cfg, exact=exact)
    sr, hop = session.frontend.sample_rate, session.frontend.hop_length
    blocks: queue.Queue[np.ndarray] = queue.Queue()
    found: list[Detection] = []
    try:
        # int16 like a board's PCM, so the device-exact frontend sees what a device would
        with sd.InputStream(samplerate=sr, channels=1, dtype="int16", blocksize=hop,
                            callback=lambda data, *_: blocks.put(pcm16_to_float(data[:, 0].copy()))):
            got = 0
            while seconds is None or got < seconds * sr:
                block = blocks.get()
                got += len(block)
                found += session.push_audio(block, on_detection)
    except sd.PortAudioError as exc:
        raise MicrophoneUnavailable(f"cannot open the microphone ({str(exc).splitlines()[0]})") from None
    return found


def _as_audio(audio: np.ndarray | str | Path, sample_rate: int) -> np.ndarray:
    if isinstance(audio, (str, Path)):
        from edgekws.audio import load_audio

        return load_audio(audio, sample_rate)
    from edgekws.audio import float_to_pcm16, pcm16_to_float

    return pcm16_to_float(float_to_pcm16(np.asarray(audio, np.float32).reshape(-1)))
