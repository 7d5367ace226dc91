"""`edgekws stream device --incremental` against the device server built for the host (ASan + UBSan): a
model valid in time streams in incremental mode with detections identical to the host streaming mode and
the cost report says which mode ran; the tone model (SAME in time) is refused in one line before any
device is contacted, and a device server whose model has no streaming schedule refuses the flag."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cli_run import run_cli
from edgekws.device.client import DeviceClient, DeviceCommandError
from edgekws.stream import StreamConfig, StreamSpec, generate_stream, open_session, write_stream
from edgekws.stream.device import DeviceStream
from protocol_hostdev import FW, HostDevice, host_sources
from stream_fixtures import make_tone_dataset, tone_bundle
from test_stream_incremental_c import stream_bundle

pytestmark = pytest.mark.slow
STREAM_SOURCES = sorted((FW / "src" / "stream").glob("*.c"))


def build_host_device(bundle: Path, work: Path, cc: str) -> Path:
    from edgekws.export.codegen_c import export_c

    gen = work / "model_c"
    export_c(bundle, gen)
    exe = work / "edgekws-host-stream"
    flags = ["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-DEDGEKWS_HAS_STREAM=1"]
    srcs = [*host_sources(gen), *STREAM_SOURCES, *sorted(gen.glob("*.c"))]
    proc = subprocess.run([cc, *flags, "-I", str(FW / "include"), "-I", str(gen), *map(str, srcs), "-lm",
                           "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


@pytest.fixture(scope="module")
def stream_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("stream_inc_wav")
    root = make_tone_dataset(work / "data", per_word=4, seed=3)
    wav, _ = write_stream(work / "s", generate_stream(root, StreamSpec(duration_s=5, seed=1,
                                                                      keywords=("yes", "no", "up")), split=None))
    return wav


def test_cli_incremental_on_the_host_device(host_cc: str, stream_wav: Path, tmp_path: Path,
                                            tmp_path_factory: pytest.TempPathFactory,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    bundle = stream_bundle(tmp_path_factory.getbasetemp())
    dev = HostDevice(build_host_device(bundle, tmp_path, host_cc))
    try:
        code, out, err = run_cli(["stream", "device", str(stream_wav), "--bundle", str(bundle), "--port", dev.url,
                                  "-o", str(tmp_path / "d.json"), "--report", str(tmp_path / "report.json"),
                                  "--incremental"], capsys)
    finally:
        dev_err = dev.stop()
    assert code == 0, err
    assert "runtime error" not in dev_err and "AddressSanitizer" not in dev_err, dev_err
    assert "(incremental inference)" in out and "identical to the host streaming mode" in out
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["device"]["status"]["incremental"] is True and doc["device"]["status"]["inferences"] > 50
    cost = json.loads((tmp_path / "report.json").read_text())["device"]["host"]["stream_incremental"]
    assert cost["mode"] == "incremental" and cost["identical_to_host"] is True


def test_cli_incremental_refuses_a_model_same_in_time(stream_wav: Path, tmp_path: Path,
                                                      tmp_path_factory: pytest.TempPathFactory,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tone_bundle(tmp_path_factory.getbasetemp())
    code, _, err = run_cli(["stream", "device", str(stream_wav), "--bundle", str(bundle), "--port",
                            "socket://127.0.0.1:9", "-o", str(tmp_path / "d.json"), "--incremental"], capsys)
    assert code != 0
    assert "not streamable: layer 0" in err and "pads in time" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_device_without_schedule_refuses_incremental(host_cc: str, tmp_path: Path,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    bundle = tone_bundle(tmp_path_factory.getbasetemp())
    dev = HostDevice(build_host_device(bundle, tmp_path, host_cc))
    try:
        client = DeviceClient(dev.url, timeout=5.0)
        client.connect()
        with pytest.raises(DeviceCommandError, match="incremental mode needs a model exported with a streaming"):
            DeviceStream(client, open_session(bundle, StreamConfig()).params).start(incremental=True)
        client.close()
    finally:
        dev.stop()
