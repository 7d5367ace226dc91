"""Streaming keyword spotting: the host twin of the device's streaming detector.

``StreamConfig`` (user settings) -> ``DetectorParams`` (the integers host and
device both run) -> ``StreamDetector`` (frame ring, model every k hops,
integer posterior smoothing, threshold, refractory period). Around it: a
stream generator with ground truth (``generate_stream``), scoring
(``score_detections``), and the host streaming mode (``run_stream``,
``listen``) that ``edgekws listen`` drives.
"""

from edgekws.stream.config import DetectorParams, StreamConfig
from edgekws.stream.detector import Detection, StreamDetector
from edgekws.stream.features import FeatureStreamer
from edgekws.stream.generate import (
    GeneratedStream,
    StreamSpec,
    dataset_clips,
    generate_stream,
    load_truth,
    write_stream,
)
from edgekws.stream.runtime import (
    MicrophoneUnavailable,
    StreamSession,
    format_detection,
    listen,
    listen_microphone,
    open_session,
    run_stream,
    stream_frontend,
)
from edgekws.stream.score import StreamScore, load_detections, score_detections
from edgekws.stream.wire import pack_config, pack_event, unpack_config, unpack_events

__all__ = [
    "Detection",
    "DetectorParams",
    "FeatureStreamer",
    "GeneratedStream",
    "MicrophoneUnavailable",
    "StreamConfig",
    "StreamDetector",
    "StreamScore",
    "StreamSession",
    "StreamSpec",
    "dataset_clips",
    "format_detection",
    "generate_stream",
    "listen",
    "listen_microphone",
    "load_detections",
    "load_truth",
    "open_session",
    "pack_config",
    "pack_event",
    "run_stream",
    "score_detections",
    "stream_frontend",
    "unpack_config",
    "unpack_events",
    "write_stream",
]
