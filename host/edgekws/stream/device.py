"""Host side of the device's streaming commands (firmware/src/stream/stream_app.c).

The device runs the same detector as :mod:`edgekws.stream.detector`; this
module starts it with the host-derived :class:`DetectorParams`, sends int16
audio in protocol-sized chunks, and collects the detections each chunk
completed plus the device's per-hop / per-inference cost counters. Its output
format is :class:`Detection`, so a device run compares with
:func:`edgekws.stream.run_stream` by plain equality.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgekws.errors import DeviceError
from edgekws.stream.config import DetectorParams
from edgekws.stream.detector import Detection
from edgekws.stream.wire import EVENT_WIRE_SIZE, pack_config, unpack_events

STREAM_START = 0x20
STREAM_AUDIO = 0x21
STREAM_STOP = 0x22
STREAM_STATUS = 0x23
FLAG_EVENTS = 0x01  # also send every detection as an EVT_DETECTION frame
FLAG_INCREMENTAL = 0x02  # incremental inference (a model exported with a streaming schedule)
FLAG_OUTPUTS = 0x04  # every inference's int8 outputs ride in the STREAM_AUDIO reply

_AUDIO_HEADER = struct.Struct("<IIIIHH")
_STATUS = struct.Struct("<BBHIIIIIIIII")


@dataclass(frozen=True)
class AudioReply:
    """What one STREAM_AUDIO chunk did on the device (ticks in the board's counter unit)."""

    frames_total: int
    inferences_total: int
    fe_ticks: int
    nn_ticks: int
    detections: list[Detection]
    outputs: np.ndarray | None = None  # int8 [n, num_classes] with FLAG_OUTPUTS, else None


@dataclass(frozen=True)
class StreamStatus:
    """Totals and worst cases of the device's current stream."""

    active: bool
    flags: int
    samples: int
    frames: int
    inferences: int
    detections: int
    fe_ticks_total: int
    nn_ticks_total: int
    fe_ticks_max: int
    nn_ticks_max: int
    classify_ticks_max: int

    @property
    def incremental(self) -> bool:
        """Whether the device runs incremental inference (STREAM_START flag bit1)."""
        return bool(self.flags & FLAG_INCREMENTAL)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "incremental": self.incremental}


def unpack_audio_reply(body: bytes, labels: list[str] | None = None, num_classes: int = 0) -> AudioReply:
    """A STREAM_AUDIO reply; ``num_classes`` (needed when outputs were asked for) sizes its output records."""
    if len(body) < _AUDIO_HEADER.size:
        raise DeviceError(f"stream audio reply has {len(body)} bytes, expected at least {_AUDIO_HEADER.size}")
    frames, infers, fe, nn, n_ev, n_out = _AUDIO_HEADER.unpack_from(body)
    ev_end = _AUDIO_HEADER.size + n_ev * EVENT_WIRE_SIZE
    if n_out and num_classes < 1:
        raise DeviceError(f"stream audio reply carries {n_out} outputs but no class count was given")
    if len(body) != ev_end + n_out * num_classes:
        raise DeviceError(f"stream audio reply announces {n_ev} detections and {n_out} outputs but carries "
                          f"{len(body) - _AUDIO_HEADER.size} bytes")
    outs = np.frombuffer(body[ev_end:], np.int8).reshape(n_out, num_classes) if num_classes else None
    return AudioReply(frames, infers, fe, nn, unpack_events(body[_AUDIO_HEADER.size:ev_end], labels), outs)


def unpack_status(body: bytes) -> StreamStatus:
    if len(body) != _STATUS.size:
        raise DeviceError(f"stream status record has {len(body)} bytes, expected {_STATUS.size}")
    v = _STATUS.unpack(body)
    return StreamStatus(bool(v[0]), v[1], *v[3:])


class DeviceStream:
    """One stream on a connected device (``client``: an :class:`edgekws.device.client.DeviceClient`)."""

    def __init__(self, client: Any, params: DetectorParams, labels: list[str] | None = None) -> None:
        self.client = client
        self.params = params
        self.labels = labels

    def _body(self, cmd: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        return bytes(self.client.request(cmd, payload, timeout=timeout).payload[1:])

    def start(self, events: bool = False, incremental: bool = False, outputs: bool = False) -> None:
        """STREAM_START with the params (``events``: also get async EVT_DETECTION frames; ``incremental``:
        incremental inference; ``outputs``: every inference's outputs in the audio replies)."""
        flags = (FLAG_EVENTS if events else 0) | (FLAG_INCREMENTAL if incremental else 0) | \
            (FLAG_OUTPUTS if outputs else 0)
        self._body(STREAM_START, pack_config(self.params) + bytes([flags]))

    def push(self, pcm: np.ndarray, timeout: float | None = None) -> AudioReply:
        """Send one chunk of int16 samples (it must fit one protocol payload)."""
        raw = np.asarray(pcm, dtype="<i2").reshape(-1).tobytes()
        return unpack_audio_reply(self._body(STREAM_AUDIO, raw, timeout), self.labels, self.params.num_classes)

    def status(self) -> StreamStatus:
        return unpack_status(self._body(STREAM_STATUS))

    def stop(self) -> StreamStatus:
        return unpack_status(self._body(STREAM_STOP))


def run_stream_on_device(client: Any, pcm: np.ndarray, params: DetectorParams, labels: list[str] | None = None,
                         *, chunk_samples: int | None = None, timeout: float | None = None,
                         progress: Callable[[int, int], None] | None = None,
                         on_detection: Callable[[Detection], None] | None = None,
                         incremental: bool = False, outputs: list[np.ndarray] | None = None,
                         ) -> tuple[list[Detection], StreamStatus]:
    """Stream int16 ``pcm`` through the device; its detections (device format) and final counters.

    ``incremental``: the device's incremental inference (outputs identical to the full-window mode);
    ``outputs``: a list that receives every inference's int8 outputs (one array per chunk reply).
    """
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16:
        raise DeviceError(f"device streaming needs int16 PCM, got {pcm.dtype}")
    step = int(chunk_samples) if chunk_samples else max(1, client.chunk_size // 2)
    s = DeviceStream(client, params, labels)
    s.start(incremental=incremental, outputs=outputs is not None)
    found: list[Detection] = []
    for start in range(0, len(pcm), step):
        reply = s.push(pcm[start:start + step], timeout)
        if outputs is not None and reply.outputs is not None and len(reply.outputs):
            outputs.append(reply.outputs)
        for d in reply.detections:
            found.append(d)
            if on_detection is not None:
                on_detection(d)
        if progress is not None:
            progress(min(start + step, len(pcm)), len(pcm))
    status = s.stop()
    if status.samples != len(pcm):
        # A lost or doubly applied chunk shifts every later detection: refuse the result.
        raise DeviceError(f"the device counted {status.samples} stream samples but {len(pcm)} were sent; "
                          "a chunk was lost or applied twice")
    return found, status
