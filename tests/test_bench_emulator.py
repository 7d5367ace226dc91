"""The bench and the protocol against the emulated Cortex-M7 (QEMU mps2-an500) through a real TCP socket."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench_fixtures import N_TEST, tiny_bundle
from edgekws.bench.emulate import ensure_firmware
from edgekws.bench.log import read_jsonl
from edgekws.device import protocol as P
from edgekws.device.client import DeviceClient
from mlperf_runner_client import reference_results_line

pytestmark = [pytest.mark.slow, pytest.mark.emulator]

REPO = Path(__file__).resolve().parents[1]
N_LONG = 200


@pytest.fixture(scope="module")
def tools(arm_gcc: str, qemu_arm: str) -> None:
    del arm_gcc, qemu_arm


@pytest.fixture(scope="module")
def bundle(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bundle(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def long_bundle(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bundle(tmp_path_factory.getbasetemp(), n_test=N_LONG)


def _hash(bundle: Path) -> str:
    return json.loads((bundle / "bundle.json").read_text())["bundle_hash"]


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "tools/bench.py"), *args, "--no-progress"],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _emulate_both_modes(bundle: Path, work: Path, n_items: int | None = None) -> dict:
    out = work / "report.json"
    build = work / "fw"
    r = _cli("--emulate", "--bundle", str(bundle), "--mode", "latency", "--runs", "5", "--build-dir", str(build),
             "--out", str(out), "--jsonl", str(work / "lat.jsonl"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "instructions" in r.stdout
    args = ["--limit", str(n_items)] if n_items else []
    r = _cli("--emulate", "--bundle", str(bundle), "--mode", "accuracy", "--build-dir", str(build),
             "--out", str(out), "--jsonl", str(work / "acc.jsonl"), *args)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "building" not in r.stderr  # the ELF from the latency run was reused
    rep = json.loads(out.read_text())["device"]["mps2_an500"]
    assert rep["counter_unit"] == "instructions" and rep["status"] == "complete"
    lat = rep["latency"]
    assert lat["runs"] == 5 and lat["unit"] == "instructions" and lat["layers"]
    # QEMU -icount: the instruction count is deterministic, run after run
    assert lat["frame"]["max"] - lat["frame"]["min"] <= 0.01 * lat["frame"]["median"]
    acc = rep["accuracy"]
    assert acc["bit_exact_agreement"] == 1.0 and acc["mismatched_indices"] == []
    assert rep["memory"]["flash_bytes"] > 0 and rep["firmware"]["elf_sha256"]
    return rep


def test_emulated_latency_and_accuracy_tiny(bundle: Path, tmp_path: Path) -> None:
    rep = _emulate_both_modes(bundle, tmp_path)
    assert rep["accuracy"]["items"] == N_TEST


def test_emulated_latency_and_accuracy_default_model(tools: None, tmp_path: Path) -> None:
    default = REPO / "models" / "default"
    if not (default / "bundle.json").is_file():
        if os.environ.get("CI"):
            pytest.fail("models/default has no bundle: the default model must be committed")
        pytest.skip("models/default is not built yet")
    work_bundle = tmp_path / "default"
    shutil.copytree(default, work_bundle, ignore=shutil.ignore_patterns("c"))  # report.json is written to
    _emulate_both_modes(work_bundle, tmp_path, n_items=200)


def test_malformed_frames_then_valid_request_in_qemu(bundle: Path, tmp_path: Path) -> None:
    from edgekws.device.emulator import Emulator

    elf, _ = ensure_firmware(bundle, _hash(bundle), tmp_path / "fw", note=lambda m: None)
    x = np.load(bundle / "testset.npz")["x_int8"][0].reshape(-1)
    from edgekws.tflm import TflmModel

    want = TflmModel(bundle / "model.tflite").run(x).reshape(-1)
    with Emulator(elf, serial="tcp") as emu:
        c = DeviceClient(emu.url, timeout=2.0, retries=2)
        hello = c.connect()
        assert hello.board == "mps2_an500" and hello.counter_unit == "instructions"
        good = P.frame_raw(P.Cmd.HELLO, 500)
        malformed = {
            "bad crc": (P.cobs_encode(good[:-1] + bytes([good[-1] ^ 0x55])), P.Status.BAD_CRC),
            "truncated": (P.cobs_encode(good[:8]), P.Status.TRUNCATED),
            "oversized length": (P.cobs_encode(struct.pack("<BBHH", 1, 2, 500, 60000) + bytes(8)), P.Status.TOO_LONG),
            "overlong segment": (b"\x33" * (P.MAX_ENCODED + 10), P.Status.TOO_LONG),
        }
        for name, (body, status) in malformed.items():
            c.write_raw(b"\x00" + body + b"\x00")
            f = c.read_frame(5.0)
            assert f is not None and f.cmd == P.Evt.NACK and f.status == status, name
        c.write_raw(P.encode_frame(0x6E, 501))  # unknown command
        f = c.read_frame(5.0)
        assert f is not None and (f.cmd, f.seq, f.status) == (0x6E | 0x80, 501, P.Status.UNKNOWN_CMD)
        rng = np.random.default_rng(0)
        c.write_raw(rng.integers(0, 256, 4000).astype(np.uint8).tobytes())  # random bytes
        c.drain(0.5)
        res = c.run(x)
        assert np.array_equal(res.output, want) and res.unit == "instructions"
        assert c.selftest().mismatches == 0
        assert c.reset().board == "mps2_an500"  # reset: the boot banner comes back
        assert np.array_equal(c.run(x).output, want)
        # switch to the MLPerf Tiny text protocol and run the same input the runner's way
        c.set_mode(P.Mode.MLPERF)
        c.close()
        lines = _mlperf_session(emu.port, x)
        out_q = json.loads((bundle / "bundle.json").read_text())["output"]
        # the dequantised output, truncated digit by digit as the EEMBC reference firmware prints it
        assert lines[-1] == reference_results_line(want, out_q["scale"], out_q["zero_point"])


def _mlperf_session(port: int, x: np.ndarray) -> list[str]:
    """name, db load, db hex, infer over a raw socket; returns the infer command's lines."""
    import socket

    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    buf = b""

    def command(text: str) -> list[str]:
        nonlocal buf
        sock.sendall(text.encode())
        lines: list[str] = []
        while True:
            while b"\r\n" not in buf:
                chunk = sock.recv(4096)
                assert chunk, "device closed the connection"
                buf += chunk
            line, buf = buf.split(b"\r\n", 1)
            t = line.decode(errors="replace")
            if t.startswith(("m-", "e-")):
                lines.append(t)
                if t == "m-ready":
                    return lines

    try:
        assert command("name%")[0] == "m-name-dut-[edgekws mps2_an500]"
        assert command(f"db load {x.size}%")[0] == f"m-[Expecting {x.size} bytes]"
        assert command(f"db {x.astype(np.int8).tobytes().hex()}%")[0] == "m-load-done"
        out = command("infer 2 1%")
        assert out[-2].startswith("m-results-[") and out[-1] == "m-ready"
        return out[:-1]
    finally:
        sock.close()


def test_resume_after_the_emulator_is_killed(long_bundle: Path, tmp_path: Path) -> None:
    from edgekws.device.emulator import Emulator

    elf, _ = ensure_firmware(long_bundle, _hash(long_bundle), tmp_path / "fw", note=lambda m: None)
    jsonl, out = tmp_path / "acc.jsonl", tmp_path / "report.json"
    args = ["--bundle", str(long_bundle), "--mode", "accuracy", "--jsonl", str(jsonl), "--out", str(out),
            "--timeout", "1", "--retries", "1", "--no-progress"]
    with Emulator(elf, serial="tcp") as emu:
        proc = subprocess.Popen([sys.executable, str(REPO / "tools/bench.py"), "--port", emu.url, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if jsonl.is_file() and len([r for r in read_jsonl(jsonl) if r.get("kind") == "accuracy"]) >= 10:
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.005)
        emu.stop()  # kill QEMU mid-run
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "partial results" in err and "Traceback" not in err
    first = [r["index"] for r in read_jsonl(jsonl) if r.get("kind") == "accuracy"]
    assert 10 <= len(first) < N_LONG
    assert json.loads(out.read_text())["device"]["mps2_an500"]["status"] == "partial"
    with Emulator(elf, serial="tcp") as emu:
        r = subprocess.run([sys.executable, str(REPO / "tools/bench.py"), "--port", emu.url, *args, "--resume"],
                           capture_output=True, text=True, timeout=600, cwd=REPO)
    assert r.returncode == 0, r.stderr[-2000:]
    items = [r["index"] for r in read_jsonl(jsonl) if r.get("kind") == "accuracy"]
    assert items[:len(first)] == first and sorted(set(items)) == list(range(N_LONG))
    assert len(items) == N_LONG  # nothing measured twice
    rep = json.loads(out.read_text())["device"]["mps2_an500"]
    assert rep["status"] == "complete" and rep["accuracy"]["items"] == N_LONG
    assert rep["accuracy"]["bit_exact_agreement"] == 1.0


def test_audio_mode_in_qemu_with_the_device_frontend(tools: None, tmp_path_factory: pytest.TempPathFactory,
                                                     tmp_path: Path) -> None:
    """Raw clips to the emulated Cortex-M7: its features equal the host's device-exact ones and its
    outputs equal TFLite Micro on them; the bench's audio mode agrees with the host pipeline."""
    from bench_fixtures import mfcc_bundle
    from edgekws.bench import BenchConfig, run_bench
    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import Emulator
    from edgekws.export.codegen_c import export_c
    from edgekws.frontend.config import FrontendConfig
    from edgekws.frontend.ctables import write_frontend_c
    from edgekws.tflm import TflmModel

    b = mfcc_bundle(tmp_path_factory.getbasetemp())
    meta = json.loads((b / "bundle.json").read_text())
    model_c = tmp_path / "model_c"
    export_c(b, model_c)
    if not (model_c / "edgekws_frontend_tables.h").is_file():  # until the exporter writes them
        write_frontend_c(model_c, FrontendConfig(**meta["frontend"]), meta["input_norm"], meta["input"]["scale"],
                         meta["input"]["zero_point"])
    elf = build_firmware("mps2_an500", model_c, tmp_path / "fw")
    ts = np.load(b / "testset.npz")
    tflm = TflmModel(b / "model.tflite")
    with Emulator(elf, serial="tcp") as emu:
        c = DeviceClient(emu.url, timeout=5.0)
        h = c.connect()
        assert h.has_frontend and h.audio_samples == 16000
        for i in range(2):
            res = c.run_audio(ts["audio_int16"][i])
            feats = c.read_input()
            assert np.abs(feats.astype(int) - ts["x_int8"][i].reshape(-1).astype(int)).max() <= 1
            assert np.array_equal(res.output, tflm.run(feats).reshape(-1))
            assert res.unit == "instructions" and res.frontend_ticks > 0
        c.close()
        fig = run_bench(BenchConfig(bundle=b, mode="audio", port=emu.url, progress=False), note=lambda m: None)
    a = fig["audio"]
    assert a["items"] == 8 and a["decision_agreement_with_host"] == 1.0 and a["unit"] == "instructions"
