"""The device server (src/app/server.c) built for x86 and driven over a real TCP socket.

Same C code as on the board except the board layer (src/board/host), with ASan
and UBSan on: malformed frames must get an error reply, never a crash, and the
next valid request must succeed.
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edgekws.device import protocol as P
from edgekws.device.client import (
    DeviceClient,
    DeviceCommandError,
    DeviceResetError,
    DeviceTimeoutError,
    PortVanishedError,
)
from mlperf_runner_client import reference_results_line
from protocol_hostdev import (
    N_IN,
    N_OUT,
    HostDevice,
    TextLine,
    build_host_device,
    tiny_model,
    write_tiny_model_c,
)

MODEL = tiny_model()


@pytest.fixture(scope="module")
def host_exe(host_cc: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostdev")
    write_tiny_model_c(MODEL, d / "model")
    return build_host_device(host_cc, d / "model", d / "edgekws-host")


@pytest.fixture()
def device(host_exe: Path) -> Iterator[HostDevice]:
    dev = HostDevice(host_exe)
    yield dev
    err = dev.stop()
    assert "runtime error" not in err and "AddressSanitizer" not in err, err


@pytest.fixture()
def client(device: HostDevice) -> Iterator[DeviceClient]:
    c = DeviceClient(device.url, timeout=1.0, retries=2)
    c.connect()
    yield c
    c.close()


def test_hello_and_inference_match_reference(client: DeviceClient) -> None:
    h = client.hello_info
    assert h is not None
    assert (h.protocol_version, h.board, h.model_name, h.backends) == (1, "host", "tiny_fc", "ref")
    assert (h.input_size, h.output_size, h.num_layers, h.counter_unit) == (N_IN, N_OUT, 1, "ns")
    assert h.has_selftest and not h.has_frontend
    rng = np.random.default_rng(5)
    for _ in range(20):
        x = rng.integers(-128, 128, N_IN).astype(np.int8)
        res = client.run(x)
        assert np.array_equal(res.output, MODEL.run(x))
        assert res.unit == "ns" and len(res.layer_ticks) == 1 and res.total_ticks >= res.layer_ticks[0]
    assert [(li.name, li.op, li.backend) for li in client.layers()] == [("fc_0", "FULLY_CONNECTED", "ref")]
    st = client.selftest()
    assert (st.vectors, st.mismatches) == (2, 0)
    mem = client.memory()
    assert (mem.arena_bytes, mem.weights_bytes, mem.input_buffer_bytes) == (32, N_IN * N_OUT, N_IN)
    assert client.echo(bytes(range(256)) * 3) == bytes(range(256)) * 3


def _nack_after(client: DeviceClient, wire: bytes) -> P.Frame:
    client.write_raw(wire)
    f = client.read_frame(2.0)
    assert f is not None, "no error reply"
    return f


def test_malformed_frames_get_errors_then_valid_request_succeeds(client: DeviceClient) -> None:
    good = P.frame_raw(P.Cmd.HELLO, 77)
    cases = {
        "bad crc": (P.cobs_encode(good[:-1] + bytes([good[-1] ^ 0xFF])), P.Status.BAD_CRC),
        "truncated": (P.cobs_encode(good[:7]), P.Status.TRUNCATED),
        "oversized length": (P.cobs_encode(struct.pack("<BBHH", 1, 1, 77, 0xFFFF) + bytes(4)), P.Status.TOO_LONG),
        "bad version": (P.cobs_encode(P.frame_raw(P.Cmd.HELLO, 77, version=9)), P.Status.BAD_VERSION),
        "bad cobs": (b"\x09\x01\x02", P.Status.BAD_COBS),
        "overlong segment": (b"\x41" * (P.MAX_ENCODED + 100), P.Status.TOO_LONG),
    }
    for name, (body, status) in cases.items():
        f = _nack_after(client, b"\x00" + body + b"\x00")
        assert f.cmd == P.Evt.NACK and f.status == status, name
    # unknown command: a valid frame, answered with its own response id
    client.write_raw(P.encode_frame(0x5A, 78))
    f = client.read_frame(2.0)
    assert f is not None and (f.cmd, f.seq, f.status) == (0x5A | 0x80, 78, P.Status.UNKNOWN_CMD)
    with pytest.raises(DeviceCommandError, match="unsupported"):
        client.request(P.Cmd.STREAM_START)
    # random bytes, with and without zeros
    rng = np.random.default_rng(9)
    client.write_raw(rng.integers(0, 256, 5000).astype(np.uint8).tobytes())
    client.write_raw(rng.integers(1, 256, 700).astype(np.uint8).tobytes())
    client.drain(0.3)
    x = rng.integers(-128, 128, N_IN).astype(np.int8)
    assert np.array_equal(client.run(x).output, MODEL.run(x))
    assert client.hello().model_name == "tiny_fc"


def test_every_length_from_the_wire_is_checked(client: DeviceClient) -> None:
    def refused(cmd: int, payload: bytes) -> int:
        with pytest.raises(DeviceCommandError) as info:
            client.request(cmd, payload, retries=0)
        return info.value.status

    assert refused(P.Cmd.LOAD_INPUT, P.load_input_payload(N_IN, b"\x01")) == P.Status.OUT_OF_RANGE
    assert refused(P.Cmd.LOAD_INPUT, P.load_input_payload(0xFFFFFFFF, b"\x01\x02")) == P.Status.OUT_OF_RANGE
    assert refused(P.Cmd.LOAD_INPUT, P.load_input_payload(1, bytes(N_IN))) == P.Status.OUT_OF_RANGE
    assert refused(P.Cmd.LOAD_INPUT, b"\x01\x02") == P.Status.BAD_ARG
    assert refused(P.Cmd.LAYER_INFO, b"\x05\x00") == P.Status.OUT_OF_RANGE
    assert refused(P.Cmd.LAYER_INFO, b"\x05") == P.Status.BAD_ARG
    assert refused(P.Cmd.READ_OUTPUT, P.read_output_payload(2, N_OUT)) == P.Status.OUT_OF_RANGE
    assert refused(P.Cmd.INFER, b"\x00\x00\x01") == P.Status.BAD_ARG
    assert refused(P.Cmd.SET_MODE, b"\x07") == P.Status.BAD_ARG
    assert refused(P.Cmd.LOAD_AUDIO, P.load_audio_payload(0, np.zeros(8, np.int16))) == P.Status.UNSUPPORTED
    assert refused(P.Cmd.INFER, P.infer_payload(from_audio=True)) == P.Status.UNSUPPORTED
    # a partial load at an offset is accepted and used
    client.load_input(np.zeros(N_IN, np.int8))
    client.request(P.Cmd.LOAD_INPUT, P.load_input_payload(N_IN - 2, b"\x05\x07"))
    x = np.zeros(N_IN, np.int8)
    x[-2:] = [5, 7]
    client.infer()
    assert np.array_equal(client.results().output, MODEL.run(x))


def test_layer_check_reports_logits_and_layer_crcs(client: DeviceClient) -> None:
    """LAYER_CHECK: the last inference's logits and per-layer CRC-32 (the tiny model's one FC layer has
    no softmax, so its output is both), refused before an inference and after a new input; lengths checked."""
    def refused(payload: bytes) -> int:
        with pytest.raises(DeviceCommandError) as info:
            client.request(P.Cmd.LAYER_CHECK, payload, retries=0)
        return info.value.status

    assert refused(b"") == P.Status.BAD_ARG  # no inference yet
    rng = np.random.default_rng(11)
    for _ in range(5):
        x = rng.integers(-128, 128, N_IN).astype(np.int8)
        client.run(x)
        chk = client.layer_check()
        want = MODEL.run(x)
        assert chk.num_layers == 1 and np.array_equal(chk.logits, want)
        assert chk.layer_crc == [zlib.crc32(want.tobytes())] and chk.output_crc == zlib.crc32(want.tobytes())
    assert refused(b"\x02\x00") == P.Status.OUT_OF_RANGE  # first layer past the model
    assert refused(b"\x00") == P.Status.BAD_ARG
    assert refused(b"\x00\x00\x00") == P.Status.BAD_ARG
    page = P.LayerCheckReply.unpack(client.request(P.Cmd.LAYER_CHECK, P.layer_check_payload(1)).payload)
    assert (page.first, page.layer_crc) == (1, [])  # first == layers: an empty window, still valid
    client.load_input(np.zeros(N_IN, np.int8))  # a new input without an inference
    assert refused(b"") == P.Status.BAD_ARG


def test_reset_is_detected_by_the_boot_banner(client: DeviceClient) -> None:
    hello = client.reset()
    assert hello.model_name == "tiny_fc"
    client.hello()
    # a reset the client did not ask for (another tool, a watchdog): the next request notices
    client.write_raw(P.encode_frame(P.Cmd.RESET, 999))
    time.sleep(0.5)
    with pytest.raises(DeviceResetError):
        client.hello()
    assert client.hello().board == "host"


def test_vanished_port_is_one_clear_error(device: HostDevice) -> None:
    c = DeviceClient(device.url, timeout=0.5, retries=1)
    c.connect()
    device.proc.kill()
    device.proc.wait()
    with pytest.raises((PortVanishedError, DeviceTimeoutError)) as info:
        for _ in range(3):
            c.hello()
    assert "\n" not in str(info.value)
    c.close()
    with pytest.raises(PortVanishedError, match="cannot open"):
        DeviceClient(device.url).open()


def _mlperf_session(t: TextLine, x: np.ndarray) -> None:
    assert t.command("profile%")[:2] == ["m-profile-[edgekws firmware 0.1.0]", "m-model-[kws01]"]
    assert t.command(f"db load {N_IN}%")[0] == f"m-[Expecting {N_IN} bytes]"
    raw = x.astype(np.int8).tobytes().hex()
    assert t.command(f"db {raw[:10]}%") == ["m-ready"]
    assert t.command(f"db {raw[10:]}%")[0] == "m-load-done"
    out = t.command("infer 3 1%")
    assert out[:3] == ["m-warmup-start-1", "m-warmup-done", "m-infer-start-3"]
    assert re.fullmatch(r"m-lap-us-\d+", out[3]) and out[5] == "m-infer-done"
    # the dequantised output, truncated digit by digit as the EEMBC reference prints it
    assert out[6] == reference_results_line(MODEL.run(x), 1 / 256, -128)
    assert t.command("results%")[0] == out[6]
    assert t.command("db 0g%")[0].startswith("e-[")
    assert t.command("bogus%")[0] == "e-[Unknown command: bogus]"
    assert t.command("db load 99999%")[0] == f"e-[db load: the buffer holds at most bytes: {N_IN}]"
    assert t.command("x" * 3000 + "%")[0].startswith("e-[")


def test_mlperf_text_protocol_by_command_and_by_name_escape(device: HostDevice) -> None:
    x = np.random.default_rng(3).integers(-128, 128, N_IN).astype(np.int8)
    c = DeviceClient(device.url, timeout=1.0)
    c.connect()
    c.set_mode(P.Mode.MLPERF)
    c.close()  # the host device takes the next client on the same "line"
    t = TextLine(device.port)
    assert t.command("name%")[0] == "m-name-dut-[edgekws host]"
    _mlperf_session(t, x)
    t.sock.sendall(b"edgekws%")
    time.sleep(0.2)
    t.sock.close()
    c = DeviceClient(device.url, timeout=1.0)
    c.connect()
    assert np.array_equal(c.run(x).output, MODEL.run(x))  # back in binary mode
    c.close()
    # the runner's first command arriving while the device speaks binary
    t = TextLine(device.port)
    assert t.command("name%")[0] == "m-name-dut-[edgekws host]"
    _mlperf_session(t, x)
    t.sock.close()


def test_build_time_default_mlperf(host_cc: str, tmp_path: Path) -> None:
    write_tiny_model_c(MODEL, tmp_path / "model")
    exe = build_host_device(host_cc, tmp_path / "model", tmp_path / "mlperf-host", sanitize=False,
                            defines=("EDGEKWS_DEFAULT_PROTOCOL=1",))
    dev = HostDevice(exe)
    try:
        t = TextLine(dev.port)
        boot = t.until_ready()  # as the EEMBC reference firmware boots: mode, one timestamp, init-done, ready
        assert boot[0] == "m-timestamp-mode-performance" and re.fullmatch(r"m-lap-us-\d+", boot[1])
        assert boot[2:] == ["m-init-done", "m-ready"]
        assert t.command("name%")[0] == "m-name-dut-[edgekws host]"
        _mlperf_session(t, np.arange(N_IN, dtype=np.int8))
    finally:
        dev.stop()


def test_energy_mode_timestamps_are_pin_pulses(host_cc: str, tmp_path: Path) -> None:
    """EEMBC energy mode: the boot says so, no m-lap-us lines, one timestamp-pin pulse per timestamp."""
    write_tiny_model_c(MODEL, tmp_path / "model")
    exe = build_host_device(host_cc, tmp_path / "model", tmp_path / "energy-host", sanitize=False,
                            defines=("EDGEKWS_DEFAULT_PROTOCOL=1", "EDGEKWS_MLPERF_ENERGY=1"))
    dev = HostDevice(exe)
    try:
        t = TextLine(dev.port)
        assert t.until_ready() == ["m-timestamp-mode-energy", "m-init-done", "m-ready"]
        x = np.random.default_rng(5).integers(-128, 128, N_IN).astype(np.int8)
        assert t.command(f"db load {N_IN}%")[0] == f"m-[Expecting {N_IN} bytes]"
        assert t.command(f"db {x.tobytes().hex()}%")[0] == "m-load-done"
        out = t.command("infer 3 1%")
        assert out[:4] == ["m-warmup-start-1", "m-warmup-done", "m-infer-start-3", "m-infer-done"], out
        assert out[4] == reference_results_line(MODEL.run(x), 1 / 256, -128)
        assert t.command("timestamp%") == ["m-ready"]
        t.sock.close()
    finally:
        err = dev.stop()
    assert err.count("board: timestamp pin pulse") == 4, err  # boot, infer start and end, timestamp%


def test_audio_path_with_a_frontend(host_cc: str, tmp_path: Path) -> None:
    """LOAD_AUDIO in chunks, INFER from audio: the model sees what the frontend made of the clip."""
    write_tiny_model_c(MODEL, tmp_path / "model")
    exe = build_host_device(host_cc, tmp_path / "model", tmp_path / "audio-host", sanitize=False,
                            defines=("EDGEKWS_AUDIO_SAMPLES=64u",), test_frontend=True)
    dev = HostDevice(exe)
    try:
        c = DeviceClient(dev.url, timeout=1.0)
        h = c.connect()
        assert h.has_frontend and h.audio_samples == 64
        pcm = np.random.default_rng(8).integers(-32768, 32768, 64).astype(np.int16)
        res = c.run_audio(pcm)
        features = (pcm[::4] >> 8).astype(np.int8)  # what the stand-in frontend computes
        assert np.array_equal(res.output, MODEL.run(features))
        with pytest.raises(DeviceCommandError) as info:
            c.request(P.Cmd.LOAD_AUDIO, P.load_audio_payload(60, np.zeros(5, np.int16)), retries=0)
        assert info.value.status == P.Status.OUT_OF_RANGE
        with pytest.raises(DeviceCommandError) as info:
            c.request(P.Cmd.LOAD_AUDIO, P.load_audio_payload(0, np.zeros(2, np.int16)) + b"\x01", retries=0)
        assert info.value.status == P.Status.BAD_ARG
        assert c.memory().audio_buffer_bytes == 128
        c.close()
    finally:
        dev.stop()


@pytest.mark.slow
def test_infer_repeat_sum_is_64_bit(host_cc: str, tmp_path: Path) -> None:
    """INFER's sum over repeats passes 2^32 ticks without wrapping (it was a u32: ~940 repeats of the
    4.56 M-instruction default model in QEMU overflowed it). The host board counts nanoseconds, so
    enough repeats of the real default model take more than 2^32 ns (~4.3 s)."""
    gen = Path(__file__).resolve().parents[1] / "models" / "default" / "c"
    if not (gen / "edgekws_model.h").is_file():
        pytest.skip("models/default/c is not in this checkout")
    # sanitized build: slower per inference, so 65535 repeats pass 2^32 ns with margin on a fast host too
    exe = build_host_device(host_cc, gen, tmp_path / "default-host", sanitize=True)
    x = np.load(gen.parent / "testset.npz")["x_int8"][0]
    with HostDevice(exe) as dev:
        c = DeviceClient(dev.url, timeout=2.0, retries=1, infer_timeout=120.0)
        try:
            c.connect()
            c.load_input(x)
            probe = c.infer(repeat=64)
            per = probe.sum_ticks / 64
            repeat = min(0xFFFF, int(2.0 * 2**32 / per) + 1)  # 2x: a loaded host runs faster or slower
            if repeat * per < 1.3 * 2**32:
                pytest.skip(f"one inference takes {per:.0f} ns here: 65535 repeats stay under 2^32 ns")
            r = c.infer(repeat=repeat)
        finally:
            c.close()
    assert r.sum_ticks > 2**32, r
    assert r.sum_ticks >= repeat * min(r.total_ticks, probe.total_ticks) * 0.25  # really the sum, not a wrap
