"""The device server's streaming commands (firmware/src/stream/stream_app.c) over a real socket.

The device server is built for x86 (host board, ASan + UBSan, -Werror) with the tone model's
exported C, the real C frontend and the streaming core; the host sends a generated stream as
int16 chunks with STREAM_AUDIO and the detections the device reports must equal the host
streaming mode's (``run_stream``) exactly. This is the 60 s emulator check with the host board
in place of QEMU: the same server, commands and C code, only another board file.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edgekws.audio import float_to_pcm16, pcm16_to_float
from edgekws.device.client import DeviceClient, DeviceCommandError
from edgekws.frontend import FrontendConfig
from edgekws.stream import StreamConfig, StreamSpec, generate_stream, open_session, pack_config, run_stream
from edgekws.stream.device import STREAM_AUDIO, STREAM_START, DeviceStream, run_stream_on_device
from protocol_hostdev import FW, HostDevice, host_sources
from stream_fixtures import make_tone_dataset, tone_bundle

pytestmark = pytest.mark.slow
STREAM_SOURCES = sorted((FW / "src" / "stream").glob("*.c"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone_bundle(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def device_exe(bundle: Path, host_cc: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edgekws.export.codegen_c import export_c
    from edgekws.frontend.ctables import write_frontend_c

    meta = json.loads((bundle / "bundle.json").read_text())
    work = tmp_path_factory.mktemp("stream_device")
    gen = work / "model_c"
    export_c(bundle, gen)
    if not (gen / "edgekws_frontend_tables.h").is_file():  # until the exporter writes them
        write_frontend_c(gen, FrontendConfig.from_dict(meta["frontend"]), meta["input_norm"],
                         meta["input"]["scale"], meta["input"]["zero_point"])
    exe = work / "edgekws-host-stream"
    flags = ["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-DEDGEKWS_HAS_STREAM=1"]
    srcs = [*host_sources(gen), *STREAM_SOURCES, *sorted(gen.glob("*.c"))]
    proc = subprocess.run([host_cc, *flags, "-I", str(FW / "include"), "-I", str(gen), *map(str, srcs), "-lm",
                           "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


@pytest.fixture()
def client(device_exe: Path) -> Iterator[DeviceClient]:
    dev = HostDevice(device_exe)
    c = DeviceClient(dev.url, timeout=5.0)
    c.connect()
    yield c
    c.close()
    err = dev.stop()
    assert "runtime error" not in err and "AddressSanitizer" not in err, err


def test_device_detections_equal_host_streaming_mode(client: DeviceClient, bundle: Path, tmp_path: Path) -> None:
    root = make_tone_dataset(tmp_path / "data", per_word=5, seed=21)
    audio = generate_stream(root, StreamSpec(duration_s=30, seed=4, keywords=("yes", "no", "up")), split=None).audio
    pcm = float_to_pcm16(audio)
    cfg = StreamConfig()
    session = open_session(bundle, cfg)
    want = run_stream(pcm16_to_float(pcm), bundle, cfg)
    got, status = run_stream_on_device(client, pcm, session.params, session.labels)
    assert len(want) >= 8
    assert got == want
    n_frames = FrontendConfig().num_frames(len(pcm))
    assert (status.samples, status.frames) == (len(pcm), n_frames)
    assert status.inferences == (n_frames - session.params.num_frames) // session.params.k_hops + 1
    assert status.detections == len(want) and not status.active
    assert status.fe_ticks_max > 0 and status.nn_ticks_max > 0 and status.classify_ticks_max > 0  # wall time here


def test_device_refuses_bad_requests(client: DeviceClient, bundle: Path) -> None:
    params = open_session(bundle, StreamConfig()).params
    with pytest.raises(DeviceCommandError, match="before stream start"):
        client.request(STREAM_AUDIO, bytes(64))
    with pytest.raises(DeviceCommandError, match="bad_arg"):
        client.request(STREAM_START, pack_config(params)[:-2])
    wrong = pack_config(params.__class__(**{**params.to_dict(), "num_features": params.num_features + 1}))
    with pytest.raises(DeviceCommandError, match="frontend"):
        client.request(STREAM_START, wrong)
    s = DeviceStream(client, params)
    s.start()
    with pytest.raises(DeviceCommandError, match="odd"):
        client.request(STREAM_AUDIO, bytes(33))
    r = s.push(np.zeros(500, np.int16))
    assert r.frames_total == 0 and r.detections == []  # 500 samples < one 640-sample window
    r = s.push(np.zeros(500, np.int16))
    assert r.frames_total == 2
    assert s.status().active and s.stop().samples == 1000


def test_cli_stream_device(device_exe: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edgekws.cli import main
    from edgekws.stream import write_stream

    root = make_tone_dataset(tmp_path / "data", per_word=4, seed=3)
    wav, _ = write_stream(tmp_path / "s", generate_stream(root, StreamSpec(duration_s=8, seed=1,
                                                                           keywords=("yes", "no", "up")), split=None))
    dev = HostDevice(device_exe)
    try:
        with pytest.raises(SystemExit) as exc:
            main(["stream", "device", str(wav), "--bundle", str(bundle), "--port", dev.url, "-o",
                  str(tmp_path / "d.json"), "--report", str(tmp_path / "report.json")])
    finally:
        err = dev.stop()
    assert exc.value.code in (0, None), capsys.readouterr().err
    assert "identical to the host streaming mode" in capsys.readouterr().out
    cost = json.loads((tmp_path / "report.json").read_text())["device"]["host"]["stream"]
    assert cost["identical_to_host"] is True and cost["k_hops"] == 2
    # the host board's counter is wall time: a slow first inference (outside every classification) can
    # be the worst, so only the emulator's instruction counts (test_stream_qemu) order the maxima
    assert cost["frontend_per_hop_max"] > 0 and cost["inference_max"] > 0 and cost["classification_max"] > 0
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["device"]["status"]["frames"] == FrontendConfig().num_frames(8 * 16000)
    assert [d["time_ms"] for d in doc["detections"]] == [d.time_ms for d in run_stream(wav, bundle, StreamConfig())]
    assert "runtime error" not in err and "AddressSanitizer" not in err, err


def test_stream_refuses_a_result_when_the_device_count_differs(client: DeviceClient, bundle: Path) -> None:
    """A chunk the device applied twice (here: sent again as a new request) makes the run an error.

    The firmware answers a re-sent seq from its replay cache; this is the host's own check for
    whatever still gets through (an old firmware, a re-send with a new seq): the device's sample
    count must equal what was sent, or every later detection time is off.
    """
    from edgekws.errors import DeviceError

    params = open_session(bundle, StreamConfig()).params
    sent: list[int] = []
    real_request = client.request

    def request_twice(cmd: int, payload: bytes = b"", **kw: object) -> object:
        if cmd == STREAM_AUDIO and not sent:
            sent.append(len(payload))
            real_request(cmd, payload, **kw)  # the same chunk reaches the device twice
        return real_request(cmd, payload, **kw)

    client.request = request_twice  # type: ignore[method-assign]
    pcm = (np.sin(np.arange(4000) / 5.0) * 3000).astype(np.int16)
    with pytest.raises(DeviceError, match="applied twice"):
        run_stream_on_device(client, pcm, params, chunk_samples=400)
