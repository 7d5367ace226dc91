"""Host codec of the binary protocol: known vectors, round trips, malformed input."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgekws.device import protocol as P


def test_crc_is_zlib_and_check_value() -> None:
    assert P.crc32(b"123456789") == 0xCBF43926
    assert P.crc32(b"") == zlib.crc32(b"")


@pytest.mark.parametrize(("raw", "enc"), [
    (b"", b"\x01"),
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255)) + b"\x01"),
])
def test_cobs_known_vectors(raw: bytes, enc: bytes) -> None:
    assert P.cobs_encode(raw) == enc
    assert P.cobs_decode(enc) == raw


@given(st.binary(max_size=3000))
@settings(max_examples=300, deadline=None)
def test_cobs_round_trip_has_no_zero(data: bytes) -> None:
    enc = P.cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= P.cobs_max(len(data))
    assert P.cobs_decode(enc) == data


@given(cmd=st.integers(0, 255), seq=st.integers(0, 0xFFFF), payload=st.binary(max_size=P.MAX_PAYLOAD))
@settings(max_examples=200, deadline=None)
def test_frame_round_trip(cmd: int, seq: int, payload: bytes) -> None:
    wire = P.encode_frame(cmd, seq, payload)
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    frames = P.FrameReader().feed(wire)
    assert frames == [P.Frame(cmd=cmd, seq=seq, payload=payload)]


@given(garbage=st.binary(max_size=400), payload=st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_reader_resyncs_after_garbage(garbage: bytes, payload: bytes) -> None:
    reader = P.FrameReader()
    items = reader.feed(garbage + P.encode_frame(P.Cmd.ECHO, 7, payload))
    good = [f for f in items if isinstance(f, P.Frame)]
    assert good[-1] == P.Frame(cmd=P.Cmd.ECHO, seq=7, payload=payload)


def test_malformed_frames_give_the_right_status() -> None:
    raw = P.frame_raw(P.Cmd.HELLO, 3, b"abc")
    bad_crc = raw[:-1] + bytes([raw[-1] ^ 1])
    cases = {
        P.Status.BAD_CRC: bad_crc,
        P.Status.TRUNCATED: raw[:-2],
        P.Status.BAD_VERSION: P.frame_raw(P.Cmd.HELLO, 3, b"abc", version=2),
    }
    for status, body in cases.items():
        with pytest.raises(P.FrameError) as info:
            P.decode_frame(P.cobs_encode(body))
        assert info.value.status == status
        assert info.value.seq == 3
    long_head = struct.pack("<BBHH", 1, 1, 9, P.MAX_PAYLOAD + 1) + b"\x00" * 4
    with pytest.raises(P.FrameError) as info:
        P.decode_frame(P.cobs_encode(long_head))
    assert info.value.status == P.Status.TOO_LONG
    with pytest.raises(P.FrameError) as info:
        P.decode_frame(b"\x05\x01")
    assert info.value.status == P.Status.BAD_COBS
    with pytest.raises(ValueError):
        P.encode_frame(1, 1, bytes(P.MAX_PAYLOAD + 1))


def test_reader_reports_overlong_segment_then_recovers() -> None:
    reader = P.FrameReader()
    items = reader.feed(b"\x41" * (P.MAX_ENCODED + 50) + b"\x00" + P.encode_frame(P.Cmd.HELLO, 1))
    assert isinstance(items[0], P.FrameError) and items[0].status == P.Status.TOO_LONG
    assert items[-1] == P.Frame(cmd=P.Cmd.HELLO, seq=1)


def test_records_round_trip() -> None:
    hello = P.Hello(1, "instructions", P.HELLO_HAS_SELFTEST, 25_000_000, 490, 12, 13, 1024, 16000,
                    "0.1.0", "mps2_an500", "dscnn_s", "abc123", "ref,simd")
    assert P.Hello.unpack(hello.pack()) == hello
    res = P.Results("cycles", 123456, 7, np.arange(-6, 6, dtype=np.int8), 12, 3, [1, 2, 3])
    back = P.Results.unpack(res.pack())
    assert back.unit == "cycles" and back.total_ticks == 123456 and back.layer_ticks == [1, 2, 3]
    assert np.array_equal(back.output, res.output) and back.complete
    mem = P.MemoryStats(1000, 20000, 512, 4096, 490, 0, 3000)
    assert P.MemoryStats.unpack(mem.pack()) == mem
    with pytest.raises(P.FrameError):
        P.Results.unpack(res.pack()[:-1])
    with pytest.raises(P.FrameError):
        P.Hello.unpack(hello.pack()[:30])
