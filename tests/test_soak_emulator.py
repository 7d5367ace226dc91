"""Soak the device's serial line, then check it still answers correctly (tests/soak_driver.py).

The main test runs the serial-server firmware in QEMU (mps2-an500, Cortex-M7)
through a real TCP socket: 10,000 frames (valid, corrupt CRC, truncated,
oversized, interleaved garbage, MLPerf Tiny text sessions mixed in), then
HELLO must give the same record, an inference must equal TFLite Micro bit for
bit, and the stack high-water mark (MEMORY) must stay inside the stack the
linker script reserves. A shorter soak runs against the host-board build of the
same server under ASan+UBSan in every test run.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import soak_driver as sd
from bench_fixtures import tiny_bundle
from edgekws.device import protocol as P
from edgekws.device.client import DeviceClient
from protocol_hostdev import HostDevice, build_host_device
from sweep_world import EDGEKWS

N_FRAMES = 10_000


def _reference(bundle: Path) -> tuple[np.ndarray, np.ndarray]:
    from edgekws.bench.inputs import TflmReference, load_bench_data

    data = load_bench_data(bundle)
    x = data.x_int8[0]
    return x, TflmReference(data.tflite_path).output(0, x)


def _check_after_soak(client: DeviceClient, hello: P.Hello, stats: sd.SoakStats, x: np.ndarray,
                      ref: np.ndarray) -> None:
    assert stats.frames_sent == sum(stats.by_kind.values())
    assert set(stats.by_kind) == set(sd.KINDS), stats.by_kind
    assert stats.valid_answered == stats.valid_sent > 0, stats.as_dict()
    assert stats.wrong_answers == 0 and stats.device_resets == 0, stats.as_dict()
    assert stats.nacks > 0  # broken frames were answered with an error, not ignored
    assert stats.probes_answered == stats.probes_after_mlperf > 0  # first reply after an MLPerf session
    client.drain(0.2)
    assert client.hello() == hello  # same record: no reset, no corrupted state
    assert np.array_equal(client.run(x).output, ref)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bundle(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def host_device(bundle: Path, host_cc: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostDevice]:
    work = tmp_path_factory.mktemp("soak_host")
    subprocess.run([str(EDGEKWS), "export", "c", str(bundle), str(work / "gen")], check=True, capture_output=True)
    exe = build_host_device(host_cc, work / "gen", work / "edgekws-host", sanitize=True)
    dev = HostDevice(exe)
    yield dev
    err = dev.stop()
    assert "runtime error" not in err and "AddressSanitizer" not in err, err


def test_soak_host_board_under_sanitizers(host_device: HostDevice, bundle: Path) -> None:
    x, ref = _reference(bundle)
    with DeviceClient(host_device.url, timeout=2.0, retries=1) as client:
        hello = client.connect()
        stats = sd.soak(client, 2000, seed=3, reply_timeout=5.0)
        _check_after_soak(client, hello, stats, x, ref)
    assert host_device.alive()


def test_first_reply_after_an_mlperf_session_arrives(host_device: HostDevice) -> None:
    """Regression (found by this soak): the text before the first reply after "edgekws%" is delimited."""
    with DeviceClient(host_device.url, timeout=2.0, retries=0) as client:
        client.connect()
        client.write_raw(b"\x00name%profile%edgekws%" + P.encode_frame(P.Cmd.HELLO, 4321))
        f = client.read_frame(2.0)
        assert f is not None and f.seq == 4321


@pytest.mark.slow
@pytest.mark.emulator
def test_soak_emulated_device(bundle: Path, arm_gcc: str, qemu_arm: str, tmp_path: Path,
                              tmp_path_factory: pytest.TempPathFactory) -> None:
    from edgekws.bench.emulate import ensure_firmware
    from edgekws.device.emulator import Emulator

    del arm_gcc, qemu_arm
    bundle_hash = json.loads((bundle / "bundle.json").read_text())["bundle_hash"]
    elf, _mem = ensure_firmware(bundle, bundle_hash, tmp_path_factory.mktemp("soak_fw"), note=lambda s: None)
    x, ref = _reference(bundle)
    with Emulator(elf, serial="tcp") as emu, DeviceClient(emu.url, timeout=5.0, retries=1) as client:
        hello = client.connect()
        assert hello.board == "mps2_an500"
        stats = sd.soak(client, N_FRAMES, seed=8, reply_timeout=30.0)
        print(json.dumps(stats.as_dict()))
        _check_after_soak(client, hello, stats, x, ref)
        assert 0 < stats.stack_used_after <= stats.stack_size, stats.as_dict()
        assert client.memory().stack_used <= stats.stack_size
        assert emu.returncode is None, f"QEMU exited: {emu.stderr[-500:]}"
