"""Little-endian records of the stream protocol commands (twin of firmware/src/stream/stream_wire.c).

The host derives :class:`~edgekws.stream.config.DetectorParams` and sends them as
a config record with the stream-start command; the device answers each audio
chunk with the detections it produced, as event records. Keeping the packing
here (not in the protocol codec) keeps the stream format next to the code that
defines its meaning.
"""

from __future__ import annotations

import struct

from edgekws.errors import DeviceError
from edgekws.stream.config import DetectorParams
from edgekws.stream.detector import Detection

CONFIG_VERSION = 1
_CONFIG = struct.Struct("<HHHHHHHHIiIIiH")
_EVENT = struct.Struct("<IIHHi")
CONFIG_WIRE_SIZE = _CONFIG.size  # 38, STREAM_CONFIG_WIRE_SIZE
EVENT_WIRE_SIZE = _EVENT.size  # 16, STREAM_EVENT_WIRE_SIZE


def pack_config(p: DetectorParams) -> bytes:
    """The stream-start payload for ``p``."""
    return _CONFIG.pack(CONFIG_VERSION, p.num_frames, p.num_features, p.num_classes, p.k_hops, p.smooth_window,
                        p.hop_samples, p.win_samples, p.sample_rate, p.threshold, p.refractory_hops,
                        p.ignore_mask, p.out_zero_point, 0)


def unpack_config(data: bytes) -> DetectorParams:
    """Inverse of :func:`pack_config` (tests, and a device echoing its config)."""
    if len(data) != CONFIG_WIRE_SIZE:
        raise DeviceError(f"stream config record has {len(data)} bytes, expected {CONFIG_WIRE_SIZE}")
    v = _CONFIG.unpack(data)
    if v[0] != CONFIG_VERSION:
        raise DeviceError(f"stream config record version {v[0]}, this edgekws speaks {CONFIG_VERSION}")
    return DetectorParams(*v[1:13])


def pack_event(d: Detection) -> bytes:
    return _EVENT.pack(d.time_ms, d.hop, d.label, 0, d.score)


def unpack_events(data: bytes, labels: list[str] | None = None) -> list[Detection]:
    """Detections from a concatenation of event records (a device reply)."""
    if len(data) % EVENT_WIRE_SIZE:
        raise DeviceError(f"detection records: {len(data)} bytes is not a multiple of {EVENT_WIRE_SIZE}")
    out = []
    for off in range(0, len(data), EVENT_WIRE_SIZE):
        time_ms, hop, label, _, score = _EVENT.unpack_from(data, off)
        name = labels[label] if labels is not None and label < len(labels) else str(label)
        out.append(Detection(time_ms=time_ms, hop=hop, label=label, name=name, score=score))
    return out
