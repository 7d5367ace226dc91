"""Property tests (hypothesis) for the host's codecs and parsers of outside data.

Why: the device protocol decoder, the frontend config JSON and bundle.json are
where bytes from a cable or a user's file enter the host. For all inputs:
codecs round-trip; any garbage gives the documented error type (FrameError,
ConfigError, BundleError) and never another exception; the stream decoder
resynchronises on the next delimiter.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from edgekws.device import protocol as P
from edgekws.errors import BundleError, ConfigError
from edgekws.frontend.config import FrontendConfig

PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
payloads = st.binary(max_size=P.MAX_PAYLOAD)
cmds = st.integers(0, 255)
seqs = st.integers(0, 0xFFFF)


# ---------------------------------------------------------------- protocol codec
@PROFILE
@given(st.binary(max_size=3000))
def test_cobs_round_trip_and_no_zero(data: bytes) -> None:
    enc = P.cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= P.cobs_max(len(data))
    assert P.cobs_decode(enc) == data


@PROFILE
@given(cmds, seqs, payloads)
def test_frame_round_trip(cmd: int, seq: int, payload: bytes) -> None:
    wire = P.encode_frame(cmd, seq, payload)
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    f = P.decode_frame(wire[1:-1])
    assert (f.cmd, f.seq, f.payload) == (cmd, seq, payload)
    frames = P.FrameReader().feed(wire)
    assert len(frames) == 1 and isinstance(frames[0], P.Frame) and frames[0].payload == payload


@PROFILE
@given(st.binary(max_size=2 * P.MAX_ENCODED))
def test_decoders_raise_only_frame_error(junk: bytes) -> None:
    for fn in (P.decode_frame, P.parse_raw, P.cobs_decode):
        with contextlib.suppress(P.FrameError):
            fn(junk)
    for item in P.FrameReader().feed(junk):
        assert isinstance(item, (P.Frame, P.FrameError))


@PROFILE
@given(st.binary(max_size=2 * P.MAX_ENCODED), st.lists(st.binary(max_size=400), max_size=5), cmds, seqs, payloads)
def test_stream_resynchronises_after_garbage(junk: bytes, chunks: list[bytes], cmd: int, seq: int,
                                             payload: bytes) -> None:
    """Whatever came before, a delimited valid frame is decoded intact, even when fed in pieces."""
    reader = P.FrameReader()
    reader.feed(junk)
    for c in chunks:
        reader.feed(c)
    wire = P.encode_frame(cmd, seq, payload)
    got: list = []
    for i in range(0, len(wire), 7):
        got += reader.feed(wire[i:i + 7])
    frames = [g for g in got if isinstance(g, P.Frame)]
    assert frames and (frames[-1].cmd, frames[-1].seq, frames[-1].payload) == (cmd, seq, payload)


@PROFILE
@given(cmds, seqs, payloads, st.integers(0, 10_000), st.integers(0, 7))
def test_any_single_bit_flip_is_detected(cmd: int, seq: int, payload: bytes, pos: int, bit: int) -> None:
    raw = bytearray(P.frame_raw(cmd, seq, payload))
    raw[pos % len(raw)] ^= 1 << bit
    with pytest.raises(P.FrameError):
        P.parse_raw(bytes(raw))


RECORDS = [P.Hello, P.Results, P.MemoryStats, P.SelftestResult, P.LayerInfo, P.InferReply, P.LayerCheckReply]


@PROFILE
@given(st.sampled_from(RECORDS), st.binary(max_size=600))
def test_payload_records_raise_only_frame_error(record: type, payload: bytes) -> None:
    with contextlib.suppress(P.FrameError):
        record.unpack(payload)


# ---------------------------------------------------------------- FrontendConfig JSON
configs = st.builds(
    FrontendConfig,
    name=st.text(max_size=20),
    sample_rate=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
    window_ms=st.floats(10, 64),
    hop_ms=st.floats(5, 40),
    n_fft=st.sampled_from([4096, 8192]),  # longer than any window drawn here
    n_mels=st.integers(1, 64),
    fmin=st.floats(0, 100),
    fmax=st.one_of(st.none(), st.floats(1000, 4000)),
    log_floor=st.floats(1e-12, 1e-2),
    n_mfcc=st.integers(0, 1),
    dct_norm=st.sampled_from(["ortho", None]),
    exact=st.sampled_from(["host", "device"]),
)


@PROFILE
@given(configs)
def test_frontend_config_json_round_trip(cfg: FrontendConfig) -> None:
    back = FrontendConfig.from_json(cfg.to_json())
    assert back == cfg and back.hash() == cfg.hash()
    assert FrontendConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
                           lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids,
                                                                                      max_size=3), max_leaves=6)
FIELDS = [f for f in FrontendConfig().to_dict()]


@PROFILE
@given(st.dictionaries(st.sampled_from([*FIELDS, "bogus"]), json_values, max_size=6))
# A draw CI once found: the window's sample count overflowed int(round(...)) before validation.
@example({"sample_rate": 10**160, "window_ms": 1e154})
@example({"sample_rate": 48000, "window_ms": 1e306})
def test_frontend_config_garbage_gives_config_error(fields: dict) -> None:
    try:
        cfg = FrontendConfig.from_dict(fields)
    except ConfigError:
        return
    assert all(math.isfinite(v) for v in (cfg.window_ms, cfg.hop_ms, cfg.fmin, cfg.fmax, cfg.log_floor))
    assert cfg.sample_rate > 0 and cfg.win_length >= 2 and cfg.hop_length >= 1


@PROFILE
@given(st.text(max_size=200))
def test_frontend_config_text_gives_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        FrontendConfig.from_json(text)


# ---------------------------------------------------------------- bundle.json validation
@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench_fixtures import tiny_bundle

    return tiny_bundle(tmp_path_factory.getbasetemp())


REQUIRED = ["schema_version", "name", "labels", "frontend", "frontend_hash", "input_norm", "input", "output",
            "bundle_hash"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(REQUIRED), json_values, min_size=1, max_size=4),
       st.lists(st.sampled_from(REQUIRED), max_size=2))
def test_bundle_json_garbage_gives_bundle_error(bundle: Path, changes: dict, dropped: list[str]) -> None:
    """Replace or drop bundle.json fields with arbitrary JSON: load_bundle says BundleError, nothing else."""
    from edgekws.export.bundle import load_bundle

    meta = json.loads((bundle / "bundle.json").read_text())
    new = {**meta, **changes}
    for k in dropped:
        new.pop(k, None)
    assume(new != meta)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "b"
        shutil.copytree(bundle, d)
        (d / "bundle.json").write_text(json.dumps(new))
        with pytest.raises(BundleError):
            load_bundle(d)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_bundle_json_bytes_give_bundle_error(bundle: Path, text: bytes) -> None:
    from edgekws.export.bundle import load_bundle

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "b"
        shutil.copytree(bundle, d)
        (d / "bundle.json").write_bytes(text)
        with pytest.raises(BundleError):
            load_bundle(d)
