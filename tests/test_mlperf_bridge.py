"""The MLPerf Tiny runner's protocol, exactly as the runner speaks it, against the emulated firmware through
the pty bridge (tools/mlperf_bridge.py): boot lines, name, profile, chunked download, infer, results parsed
as the runner parses them and checked against TFLite Micro, virtual time against the instruction count."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench_fixtures import tiny_bundle
from edgekws.device.mlperf_bridge import (
    PORT_ENV,
    SHIM_PID,
    SHIM_VID,
    BridgeConfig,
    PtyBridge,
    mlperf_bridge,
    resolve_shift,
    write_runner_files,
)
from edgekws.errors import ConfigError
from mlperf_runner_client import RunnerClient, gather_infer_results, reference_results_line


@pytest.fixture(scope="module")
def bundle(arm_gcc: str, qemu_arm: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    del arm_gcc, qemu_arm
    return tiny_bundle(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def fw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build directory for the shift-8 image (built once, reused: the build stamp matches)."""
    return tmp_path_factory.mktemp("fw8")


def _boot_lines(pty: PtyBridge, timeout: float = 30.0) -> list[str]:
    """The device's lines up to its first m-ready (the boot), from the bridge's transcript."""
    deadline = time.monotonic() + timeout
    while "m-ready\r\n" not in pty.device_text():
        assert time.monotonic() < deadline, f"no boot lines: {pty.device_text()!r}"
        time.sleep(0.05)
    return pty.device_text().split("m-ready\r\n", 1)[0].split("\r\n")[:-1] + ["m-ready"]


def _instructions_per_inference(path: str, x: np.ndarray) -> int:
    """Back to the binary protocol on the same port ("edgekws%"), one timed inference of x."""
    from edgekws.device.client import DeviceClient

    c = DeviceClient(path, timeout=5.0, retries=2)
    c.open()
    try:
        c.write_raw(b"edgekws%")
        time.sleep(0.3)
        c.drain(0.3)
        hello = c.hello()
        assert hello.counter_unit == "instructions"
        return int(c.run(x).total_ticks)
    finally:
        c.close()


def _session(path: str, xs: np.ndarray, n: int, w: int) -> list[dict]:
    """A runner session: name, profile, then for each input a download and `infer n w`."""
    with RunnerClient(path) as runner:
        assert runner.get_name() == "edgekws mps2_an500"
        assert runner.get_profile() == {"profile": "edgekws firmware 0.1.0", "model": "kws01"}
        out = []
        for x in xs:
            done = runner.load(x.astype(np.int8).tobytes())
            assert done == ["m-load-done", "m-ready"], done
            lines = runner.infer(n, w)
            assert lines[:3] == [f"m-warmup-start-{w}", "m-warmup-done", f"m-infer-start-{n}"], lines
            assert re.fullmatch(r"m-lap-us-\d+", lines[3]) and re.fullmatch(r"m-lap-us-\d+", lines[4]), lines
            assert lines[5:7] == ["m-infer-done", lines[6]] and lines[6].startswith("m-results-["), lines
            assert lines[7:] == ["m-ready"], lines
            out.append(gather_infer_results(lines))
        # errors come as e-[...] (the client refuses any other form) and every command ends with m-ready
        too_big = runner.send_command("db load 99999")
        assert too_big == [f"e-[db load: the buffer holds at most bytes: {xs[0].size}]", "m-ready"]
        assert runner.send_command("bogus") == ["e-[Unknown command: bogus]", "m-ready"]
    return out


@pytest.mark.slow
@pytest.mark.emulator
def test_runner_protocol_through_the_pty(bundle: Path, fw_dir: Path, tmp_path: Path) -> None:
    from edgekws.tflm import TflmModel

    meta = json.loads((bundle / "bundle.json").read_text())
    scale, zp = meta["output"]["scale"], meta["output"]["zero_point"]
    xs = np.load(bundle / "testset.npz")["x_int8"][:6]
    tflm = TflmModel(bundle / "model.tflite")
    link = tmp_path / "dut-tty"
    n, w = 5, 2
    with mlperf_bridge(BridgeConfig(bundle=bundle, build_dir=fw_dir, link=link), note=lambda m: None) as b:
        assert link.is_symlink() and Path(b.path).exists()
        boot = _boot_lines(b.pty)  # the EEMBC reference firmware's boot, in performance mode
        assert boot[0] == "m-timestamp-mode-performance" and re.fullmatch(r"m-lap-us-\d+", boot[1])
        assert boot[2:] == ["m-init-done", "m-ready"]
        results = _session(b.path, xs, n, w)
        for x, res in zip(xs, results, strict=True):
            want = tflm.run(x).reshape(-1)
            assert res["results_text"] == reference_results_line(want, scale, zp)  # digit for digit
            assert res["total_inferences"] == 1 and len(res["results"]) == want.size
        # a second session on the same port (the runner opens and closes it per run)
        again = _session(b.path, xs[:1], n, w)
        assert again[0]["results_text"] == results[0]["results_text"]
        insns = _instructions_per_inference(b.path, xs[0])
    assert not link.exists()
    # m-lap-us is virtual time: 2^8 ns per instruction, n inferences between the two stamps (1 ms resolution)
    want_us = n * insns * (1 << b.icount_shift) / 1000
    for res in results:
        assert abs(res["elapsed_time"] - want_us) <= 2000 + 0.02 * want_us, (res, insns)


@pytest.mark.slow
@pytest.mark.emulator
def test_slower_virtual_clock(bundle: Path, tmp_path: Path) -> None:
    """--icount-shift 10: four times the virtual time per instruction, the image built for it (exact counts)."""
    xs = np.load(bundle / "testset.npz")["x_int8"][:1]
    n = 20
    with mlperf_bridge(BridgeConfig(bundle=bundle, build_dir=tmp_path / "fw10", icount_shift=10),
                       note=lambda m: None) as b:
        assert "-icount" in b.emulator.command and "shift=10,sleep=off" in b.emulator.command
        res = _session(b.path, xs, n, 0)[0]
        insns = _instructions_per_inference(b.path, xs[0])
    want_us = n * insns * 1024 / 1000
    assert abs(res["elapsed_time"] - want_us) <= 2000 + 0.02 * want_us, (res, insns)


#: QEMU's trace line for a write to the FPGAIO LED register, the emulator's timestamp pin (bit 0)
_PIN_WRITE = re.compile(r"mps2_fpgaio_write .*offset 0x0 data (0x[0-9a-f]+)")


def _falling_edges(trace: str) -> int:
    """Timestamp-pin pulses in QEMU's trace: writes that take bit 0 from high to low."""
    level, edges = None, 0
    for m in _PIN_WRITE.finditer(trace):
        bit = int(m.group(1), 16) & 1
        edges += int(level == 1 and bit == 0)
        level = bit
    return edges


@pytest.mark.emulator
def test_energy_mode_pulses_the_timestamp_pin(bundle: Path, tmp_path: Path) -> None:
    """EEMBC energy mode on the emulated M7: the boot line, no m-lap-us, and each timestamp one pin pulse
    (the emulator's pin is the FPGAIO LED register, seen through QEMU's trace); the Nucleo build links too."""
    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import Emulator
    from protocol_hostdev import TextLine

    energy = ("EDGEKWS_DEFAULT_PROTOCOL=1", "EDGEKWS_MLPERF_ENERGY=1")
    elf = build_firmware("mps2_an500", bundle, tmp_path / "fw-energy", defines=energy)
    x = np.load(bundle / "testset.npz")["x_int8"][0].astype(np.int8)
    with Emulator(elf, serial="tcp", extra=("-trace", "mps2_fpgaio_write")) as emu:
        t = TextLine(emu.port)
        assert t.until_ready() == ["m-timestamp-mode-energy", "m-init-done", "m-ready"]
        assert t.command(f"db load {x.size}%")[0] == f"m-[Expecting {x.size} bytes]"
        assert t.command(f"db {x.tobytes().hex()}%")[0] == "m-load-done"
        out = t.command("infer 4 1%")
        assert out[:4] == ["m-warmup-start-1", "m-warmup-done", "m-infer-start-4", "m-infer-done"], out
        assert out[4].startswith("m-results-[")
        assert t.command("timestamp%") == ["m-ready"]
        t.sock.close()
        deadline = time.monotonic() + 10
        while _falling_edges(emu.stderr) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        edges = _falling_edges(emu.stderr)
    assert edges == 4, emu.stderr[-1000:]  # boot, infer start and end, timestamp%
    nucleo = build_firmware("nucleo_f767zi", bundle, tmp_path / "fw-nucleo-energy", defines=energy)
    assert nucleo.is_file()


def test_shift_outside_the_exact_range_is_one_error() -> None:
    with pytest.raises(ConfigError, match="--icount-shift must be 8..10"):
        resolve_shift(11)
    with pytest.raises(ConfigError, match="--icount-shift must be 8..10"):
        resolve_shift(3)


def test_runner_shim_lists_the_pty_as_the_devices_file_names_it(tmp_path: Path) -> None:
    """The runner finds its DUT by USB VID:PID among pyserial's ports: with the shim first on PYTHONPATH the
    pty is listed under the VID:PID the written devices file names; without the port variable nothing changes."""
    import yaml

    _shim, devices = write_runner_files(tmp_path / "runner")
    [dut] = yaml.safe_load(devices.read_text())
    assert dut["type"] == "dut" and dut["baud"] == 115200 and dut["usb"] == {SHIM_VID: SHIM_PID}
    probe = ("from serial.tools import list_ports\n"
             "print([(p.device, p.vid, p.pid) for p in list_ports.comports(True) if p.vid])")

    def ports(with_port: bool) -> str:
        env = {k: v for k, v in os.environ.items() if k != PORT_ENV}
        env["PYTHONPATH"] = str(tmp_path / "runner")
        if with_port:
            env[PORT_ENV] = "/dev/pts/77"
        r = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
        return r.stdout

    assert f"('/dev/pts/77', {SHIM_VID}, {SHIM_PID})" in ports(True)
    assert "/dev/pts/77" not in ports(False)
