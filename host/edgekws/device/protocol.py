"""Host codec of the edgekws binary serial protocol, version 1.

The firmware twin is ``firmware/src/protocol/`` (``protocol.h``); the normative
description is ``docs/protocol.md``. A frame on the wire is::

    0x00 | COBS(header | payload | crc32) | 0x00
    header = u8 version | u8 command | u16 seq | u16 payload length   (little endian)
    crc32  = zlib.crc32(header + payload), little endian

COBS removes every zero byte, so 0x00 delimits frames unambiguously and a
reader resynchronises after line noise at the next 0x00. The functions here
are pure (bytes in, bytes or dataclasses out) so tests and the client share
them; nothing in this module touches a port.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

PROTO_VERSION = 1
MAX_PAYLOAD = 1024
HEADER = struct.Struct("<BBHH")
HEADER_SIZE = HEADER.size
CRC_SIZE = 4
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
RESPONSE_BIT = 0x80


def cobs_max(n: int) -> int:
    """Largest COBS encoding of n bytes (one code byte per 254 data bytes, plus one)."""
    return n + n // 254 + 1


MAX_ENCODED = cobs_max(MAX_FRAME)


class Cmd(IntEnum):
    """Request command ids (host -> device); responses are ``cmd | 0x80``."""

    HELLO = 0x01
    LOAD_INPUT = 0x02
    LOAD_AUDIO = 0x03
    INFER = 0x04
    RESULTS = 0x05
    MEMORY = 0x06
    SELFTEST = 0x07
    RESET = 0x08
    SET_MODE = 0x09
    LAYER_INFO = 0x0A
    ECHO = 0x0B
    READ_OUTPUT = 0x0C
    READ_INPUT = 0x0D
    LAYER_CHECK = 0x0E
    # 0x20..0x2F reserved for streaming keyword spotting (issue 7)
    STREAM_START = 0x20
    STREAM_AUDIO = 0x21
    STREAM_STOP = 0x22
    STREAM_STATUS = 0x23


class Evt(IntEnum):
    """Unsolicited device frames and the reply to undecodable frames."""

    BOOT = 0xF0
    LOG = 0xF1
    DETECTION = 0xF2
    NACK = 0xFF


class Status(IntEnum):
    """First payload byte of every response."""

    OK = 0
    BAD_CRC = 1
    TRUNCATED = 2
    TOO_LONG = 3
    BAD_COBS = 4
    BAD_VERSION = 5
    UNKNOWN_CMD = 6
    BAD_ARG = 7
    OUT_OF_RANGE = 8
    UNSUPPORTED = 9
    NN_ERROR = 10
    BUSY = 11


class Mode(IntEnum):
    BINARY = 0
    MLPERF = 1


COUNTER_UNITS = {0: "cycles", 1: "instructions", 2: "ns"}

HELLO_HAS_FRONTEND = 0x01
HELLO_MLPERF_DEFAULT = 0x02
HELLO_HAS_SELFTEST = 0x04


class FrameError(ValueError):
    """A byte string that is not a valid frame; ``status`` says why (as the device would)."""

    def __init__(self, status: Status, message: str, seq: int | None = None, cmd: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.seq = seq
        self.cmd = cmd


# ---------------------------------------------------------------- COBS, CRC
def crc32(data: bytes) -> int:
    """IEEE CRC-32 as the firmware computes it (identical to zlib.crc32)."""
    return zlib.crc32(data) & 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data``: the result has no 0x00 byte and no delimiter."""
    out = bytearray([0])
    code_pos = 0
    code = 1
    for b in data:
        if b == 0:
            out[code_pos] = code
            code = 1
            code_pos = len(out)
            out.append(0)
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_pos] = code
                code = 1
                code_pos = len(out)
                out.append(0)
    out[code_pos] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of :func:`cobs_encode`; raises FrameError(BAD_COBS) on malformed input."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        i += 1
        if code == 0:
            raise FrameError(Status.BAD_COBS, "zero byte inside a COBS block")
        run = code - 1
        if run > n - i:
            raise FrameError(Status.BAD_COBS, "COBS block runs past the end")
        block = data[i:i + run]
        if 0 in block:
            raise FrameError(Status.BAD_COBS, "zero byte inside a COBS block")
        out += block
        i += run
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


# ---------------------------------------------------------------- frames
@dataclass(frozen=True)
class Frame:
    """One decoded frame."""

    cmd: int
    seq: int
    payload: bytes = b""
    version: int = PROTO_VERSION

    @property
    def is_response(self) -> bool:
        return bool(self.cmd & RESPONSE_BIT) and self.cmd < 0xF0

    @property
    def status(self) -> int | None:
        """Status byte of a response/NACK (None for requests and empty payloads)."""
        if (self.cmd & RESPONSE_BIT) and self.payload:
            return self.payload[0]
        return None


def frame_raw(cmd: int, seq: int, payload: bytes = b"", version: int = PROTO_VERSION) -> bytes:
    """header | payload | crc32, before COBS (what tests corrupt on purpose)."""
    if len(payload) > 0xFFFF:
        raise ValueError("payload longer than the 16-bit length field")
    head = HEADER.pack(version & 0xFF, cmd & 0xFF, seq & 0xFFFF, len(payload)) + bytes(payload)
    return head + struct.pack("<I", crc32(head))


def encode_frame(cmd: int, seq: int, payload: bytes = b"", *, leading_delimiter: bool = True) -> bytes:
    """Bytes to write for one frame: an optional leading 0x00 (flushes any partial
    frame on the device), the COBS body, and the 0x00 delimiter."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds the {MAX_PAYLOAD}-byte limit")
    body = cobs_encode(frame_raw(cmd, seq, payload))
    return (b"\x00" if leading_delimiter else b"") + body + b"\x00"


def parse_raw(raw: bytes) -> Frame:
    """Check and split an un-COBSed frame; same checks, same order as proto_parse() in C."""
    seq = cmd = None
    if len(raw) >= HEADER_SIZE:
        version, cmd, seq, length = HEADER.unpack_from(raw)
    if len(raw) < HEADER_SIZE + CRC_SIZE:
        raise FrameError(Status.TRUNCATED, f"frame of {len(raw)} bytes is shorter than a header", seq, cmd)
    if length > MAX_PAYLOAD:
        raise FrameError(Status.TOO_LONG, f"payload length {length} exceeds {MAX_PAYLOAD}", seq, cmd)
    want = HEADER_SIZE + length + CRC_SIZE
    if len(raw) < want:
        raise FrameError(Status.TRUNCATED, f"frame has {len(raw)} of {want} bytes", seq, cmd)
    if len(raw) > want:
        raise FrameError(Status.BAD_ARG, f"{len(raw) - want} bytes after the CRC", seq, cmd)
    (crc,) = struct.unpack_from("<I", raw, want - CRC_SIZE)
    if crc != crc32(raw[:want - CRC_SIZE]):
        raise FrameError(Status.BAD_CRC, "CRC mismatch", seq, cmd)
    if version != PROTO_VERSION:
        raise FrameError(Status.BAD_VERSION, f"protocol version {version}, expected {PROTO_VERSION}", seq, cmd)
    return Frame(cmd=cmd, seq=seq, payload=bytes(raw[HEADER_SIZE:HEADER_SIZE + length]), version=version)


def decode_frame(encoded: bytes) -> Frame:
    """Decode one COBS body (without delimiters)."""
    if len(encoded) > MAX_ENCODED:
        raise FrameError(Status.TOO_LONG, f"encoded frame of {len(encoded)} bytes is too long")
    return parse_raw(cobs_decode(encoded))


class FrameReader:
    """Stream accumulator: feed bytes as they arrive, get frames and errors out.

    Mirrors the device receiver: bytes collect until a 0x00; an empty segment
    is ignored; an overlong one is dropped and reported as TOO_LONG.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        """Return every frame (or FrameError for a bad segment) completed by ``data``."""
        out: list[Frame | FrameError] = []
        for b in data:
            if b != 0:
                if len(self._buf) < MAX_ENCODED:
                    self._buf.append(b)
                else:
                    self._overflow = True
                continue
            seg, overflow = bytes(self._buf), self._overflow
            self._buf.clear()
            self._overflow = False
            if not seg and not overflow:
                continue
            if overflow:
                out.append(FrameError(Status.TOO_LONG, "segment longer than the largest frame"))
                continue
            try:
                out.append(decode_frame(seg))
            except FrameError as exc:
                out.append(exc)
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)


# ---------------------------------------------------------------- payload records
def _take_str(buf: bytes, pos: int) -> tuple[str, int]:
    if pos >= len(buf):
        raise FrameError(Status.BAD_ARG, "string field missing")
    n = buf[pos]
    if pos + 1 + n > len(buf):
        raise FrameError(Status.BAD_ARG, "string field runs past the payload")
    return buf[pos + 1:pos + 1 + n].decode("utf-8", "replace"), pos + 1 + n


def _put_str(s: str) -> bytes:
    b = s.encode()[:255]
    return bytes([len(b)]) + b


_HELLO_FIXED = struct.Struct("<BBBBIIIIII")


@dataclass(frozen=True)
class Hello:
    """Who the device is: answers HELLO and rides in the boot banner (EVT_BOOT)."""

    protocol_version: int
    counter_unit: str
    flags: int
    clock_hz: int
    input_size: int
    output_size: int
    num_layers: int
    max_payload: int
    audio_samples: int
    firmware_version: str
    board: str
    model_name: str
    bundle_hash: str
    backends: str

    @property
    def has_frontend(self) -> bool:
        return bool(self.flags & HELLO_HAS_FRONTEND)

    @property
    def has_selftest(self) -> bool:
        return bool(self.flags & HELLO_HAS_SELFTEST)

    def pack(self) -> bytes:
        """Payload as the device sends it (status byte first)."""
        unit = {v: k for k, v in COUNTER_UNITS.items()}.get(self.counter_unit, 2)
        return (_HELLO_FIXED.pack(0, self.protocol_version, unit, self.flags, self.clock_hz, self.input_size,
                                  self.output_size, self.num_layers, self.max_payload, self.audio_samples)
                + b"".join(_put_str(s) for s in (self.firmware_version, self.board, self.model_name,
                                                 self.bundle_hash, self.backends, self.counter_unit)))

    @classmethod
    def unpack(cls, payload: bytes) -> Hello:
        if len(payload) < _HELLO_FIXED.size:
            raise FrameError(Status.BAD_ARG, "hello record too short")
        (_st, ver, unit, flags, clock, n_in, n_out, n_layers, max_payload,
         audio) = _HELLO_FIXED.unpack_from(payload)
        pos = _HELLO_FIXED.size
        strings = []
        for _ in range(6):
            s, pos = _take_str(payload, pos)
            strings.append(s)
        unit_name = strings[5] if strings[5] else COUNTER_UNITS.get(unit, f"unit{unit}")
        return cls(ver, unit_name, flags, clock, n_in, n_out, n_layers, max_payload, audio, *strings[:5])


_RESULTS_FIXED = struct.Struct("<BBBBIIHHHH")


@dataclass(frozen=True)
class Results:
    """Output tensor and counters of the last inference, with their unit."""

    unit: str
    total_ticks: int
    frontend_ticks: int
    output: np.ndarray  # int8 [n_out_included]
    output_total: int
    layers_total: int
    layer_ticks: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.output) == self.output_total

    @classmethod
    def unpack(cls, payload: bytes) -> Results:
        if len(payload) < _RESULTS_FIXED.size:
            raise FrameError(Status.BAD_ARG, "results record too short")
        _st, unit, _f, _r, total, fe, n_out, out_inc, n_layers, layers_inc = _RESULTS_FIXED.unpack_from(payload)
        pos = _RESULTS_FIXED.size
        need = pos + out_inc + 4 * layers_inc
        if len(payload) != need:
            raise FrameError(Status.BAD_ARG, f"results record has {len(payload)} bytes, expected {need}")
        out = np.frombuffer(payload, dtype=np.int8, count=out_inc, offset=pos).copy()
        pos += out_inc
        ticks = list(struct.unpack_from(f"<{layers_inc}I", payload, pos))
        return cls(COUNTER_UNITS.get(unit, f"unit{unit}"), total, fe, out, n_out, n_layers, ticks)

    def pack(self) -> bytes:
        unit = {v: k for k, v in COUNTER_UNITS.items()}.get(self.unit, 2)
        out = np.asarray(self.output, dtype=np.int8).tobytes()
        return (_RESULTS_FIXED.pack(0, unit, 0, 0, self.total_ticks, self.frontend_ticks, self.output_total,
                                    len(out), self.layers_total, len(self.layer_ticks))
                + out + struct.pack(f"<{len(self.layer_ticks)}I", *self.layer_ticks))


_MEMORY = struct.Struct("<BIIIIIII")


@dataclass(frozen=True)
class MemoryStats:
    """What the device knows about its memory (flash/RAM totals come from the ELF)."""

    arena_bytes: int
    weights_bytes: int
    stack_used: int
    stack_size: int
    input_buffer_bytes: int
    audio_buffer_bytes: int
    protocol_buffer_bytes: int

    @classmethod
    def unpack(cls, payload: bytes) -> MemoryStats:
        if len(payload) != _MEMORY.size:
            raise FrameError(Status.BAD_ARG, "memory record has the wrong size")
        return cls(*_MEMORY.unpack(payload)[1:])

    def pack(self) -> bytes:
        return _MEMORY.pack(0, self.arena_bytes, self.weights_bytes, self.stack_used, self.stack_size,
                            self.input_buffer_bytes, self.audio_buffer_bytes, self.protocol_buffer_bytes)


@dataclass(frozen=True)
class SelftestResult:
    vectors: int
    mismatches: int
    ticks: int

    @classmethod
    def unpack(cls, payload: bytes) -> SelftestResult:
        if len(payload) != 13:
            raise FrameError(Status.BAD_ARG, "self-test record has the wrong size")
        return cls(*struct.unpack_from("<III", payload, 1))


@dataclass(frozen=True)
class LayerInfo:
    index: int
    count: int
    name: str
    op: str
    backend: str

    @classmethod
    def unpack(cls, payload: bytes) -> LayerInfo:
        if len(payload) < 5:
            raise FrameError(Status.BAD_ARG, "layer record too short")
        index, count = struct.unpack_from("<HH", payload, 1)
        pos = 5
        strs = []
        for _ in range(3):
            s, pos = _take_str(payload, pos)
            strs.append(s)
        return cls(index, count, *strs)


_INFER = struct.Struct("<BIIQ")


@dataclass(frozen=True)
class InferReply:
    """INFER's answer: the last run's ticks, the frontend's, and the sum over all repeats.

    ``sum_ticks`` is a u64 on the wire: a u32 overflowed after ~940 repeats of a 4.56 M-instruction model.
    """

    total_ticks: int
    frontend_ticks: int
    sum_ticks: int

    @classmethod
    def unpack(cls, payload: bytes) -> InferReply:
        if len(payload) < _INFER.size:
            # 13 bytes: firmware from before the 64-bit sum (its u32 sum wraps), so refuse it
            raise FrameError(Status.BAD_ARG, f"infer reply has {len(payload)} bytes, expected {_INFER.size} "
                                             "(firmware older than the 64-bit repeat sum: rebuild it)")
        return cls(*_INFER.unpack_from(payload)[1:])  # trailing fields of later firmware are ignored

    def pack(self) -> bytes:
        return _INFER.pack(0, self.total_ticks, self.frontend_ticks, self.sum_ticks)


_LAYER_CHECK_FIXED = struct.Struct("<BHHHHHI")


@dataclass(frozen=True)
class LayerCheckReply:
    """LAYER_CHECK's answer: logits and a window of per-layer CRC-32s of the last inference.

    The device re-runs the last inference's input with a CRC-32 (zlib.crc32) of every layer's output
    tensor and a copy of the pre-softmax logits, and refuses if that run's output differs from the
    last inference's (``output_crc`` is the CRC of the output both runs produced).
    """

    num_layers: int
    first: int
    logits_total: int
    output_crc: int
    logits: np.ndarray  # int8 [included]
    layer_crc: list[int] = field(default_factory=list)  # layers first .. first + len - 1

    @classmethod
    def unpack(cls, payload: bytes) -> LayerCheckReply:
        if len(payload) < _LAYER_CHECK_FIXED.size:
            raise FrameError(Status.BAD_ARG, "layer check record too short")
        _st, n_layers, first, count, n_logits, logits_inc, out_crc = _LAYER_CHECK_FIXED.unpack_from(payload)
        need = _LAYER_CHECK_FIXED.size + logits_inc + 4 * count
        if len(payload) != need:
            raise FrameError(Status.BAD_ARG, f"layer check record has {len(payload)} bytes, expected {need}")
        if first + count > n_layers or logits_inc > n_logits:
            raise FrameError(Status.BAD_ARG, "layer check record: window outside the model")
        pos = _LAYER_CHECK_FIXED.size
        logits = np.frombuffer(payload, dtype=np.int8, count=logits_inc, offset=pos).copy()
        crcs = list(struct.unpack_from(f"<{count}I", payload, pos + logits_inc))
        return cls(n_layers, first, n_logits, out_crc, logits, crcs)

    def pack(self) -> bytes:
        lg = np.asarray(self.logits, dtype=np.int8).tobytes()
        return (_LAYER_CHECK_FIXED.pack(0, self.num_layers, self.first, len(self.layer_crc), self.logits_total,
                                        len(lg), self.output_crc)
                + lg + struct.pack(f"<{len(self.layer_crc)}I", *self.layer_crc))


# ---------------------------------------------------------------- request payloads
def load_input_payload(offset: int, data: bytes) -> bytes:
    return struct.pack("<I", offset) + bytes(data)


def load_audio_payload(sample_offset: int, samples: np.ndarray) -> bytes:
    return struct.pack("<I", sample_offset) + np.asarray(samples, dtype="<i2").tobytes()


def infer_payload(from_audio: bool = False, repeat: int = 1) -> bytes:
    return struct.pack("<BBH", 1 if from_audio else 0, 0, repeat)


def layer_check_payload(first: int = 0) -> bytes:
    return struct.pack("<H", first)


def read_output_payload(offset: int, length: int) -> bytes:
    return struct.pack("<IH", offset, length)


def error_text(frame: Frame) -> str:
    """Human text of an error response: status name plus the device's message."""
    st = frame.status
    try:
        name = Status(st).name.lower() if st is not None else "no status"
    except ValueError:
        name = f"status {st}"
    msg = frame.payload[1:].decode("utf-8", "replace") if frame.payload else ""
    return f"{name}: {msg}" if msg else name
