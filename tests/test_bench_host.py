"""The bench harness end to end against the device server built for x86 (real socket, real
exported model, real TFLite Micro), including the faults it must survive or report."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench_fixtures import N_TEST, tiny_bundle
from edgekws.bench import BenchConfig, run_bench
from edgekws.bench.log import read_jsonl
from edgekws.errors import DeviceError
from protocol_hostdev import FaultProxy, HostDevice, build_host_device

pytestmark = pytest.mark.slow  # builds a Keras model once (about 20 s)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bundle(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def host_exe(bundle: Path, host_cc: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edgekws.export.codegen_c import export_c

    d = tmp_path_factory.mktemp("benchhost")
    export_c(bundle, d / "model_c")
    return build_host_device(host_cc, d / "model_c", d / "edgekws-host")


@pytest.fixture()
def device(host_exe: Path) -> Iterator[HostDevice]:
    dev = HostDevice(host_exe)
    yield dev
    err = dev.stop()
    assert "runtime error" not in err and "AddressSanitizer" not in err, err


def _items(jsonl: Path, kind: str) -> list[int]:
    return [r["index"] for r in read_jsonl(jsonl) if r.get("kind") == kind]


def test_latency_and_accuracy_modes(device: HostDevice, bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    lat = run_bench(BenchConfig(bundle=bundle, mode="latency", port=device.url, runs=7, out=out,
                                jsonl=tmp_path / "lat.jsonl", progress=False), note=lambda m: None)
    s = lat["latency"]
    assert s["runs"] == 7 and s["unit"] == "ns" and len(s["layers"]) == 7
    assert s["frame"]["min"] <= s["frame"]["median"] <= s["frame"]["max"]
    assert [r["op"] for r in s["layers"]][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    acc = run_bench(BenchConfig(bundle=bundle, mode="accuracy", port=device.url, out=out,
                                jsonl=tmp_path / "acc.jsonl", progress=False), note=lambda m: None)
    a = acc["accuracy"]
    assert a["items"] == N_TEST and a["bit_exact_agreement"] == 1.0 and a["mismatched_indices"] == []
    assert a["device_accuracy"] == a["tflm_accuracy"]
    lc = a["layer_check"]  # every clip compared layer by layer with TFLite Micro's preserved tensors
    assert (lc["items_checked"], lc["exact_items"], lc["layers"], lc["first_mismatch"]) == (N_TEST, N_TEST, 7, [])
    assert lc["exact_ci95"][1] == 1.0 and lc["exact_ci95"][0] < 1.0
    rep = json.loads(out.read_text())["device"]["host"]
    assert rep["latency"]["runs"] == 7 and rep["accuracy"]["items"] == N_TEST and rep["status"] == "complete"
    assert rep["firmware"]["bundle_hash"] == json.loads((bundle / "bundle.json").read_text())["bundle_hash"]
    assert rep["memory"]["arena_bytes"] > 0
    assert sorted(_items(tmp_path / "acc.jsonl", "accuracy")) == list(range(N_TEST))


def test_survives_garbage_lost_frames_and_a_reset(device: HostDevice, bundle: Path, tmp_path: Path) -> None:
    proxy = FaultProxy(device.port)
    try:
        proxy.garbage_after(5, b"\x13\x37garbage\x00\xff\xfe\x00random")
        proxy.drop_request(9)
        proxy.reset_at(30)
        fig = run_bench(BenchConfig(bundle=bundle, mode="accuracy", port=proxy.url, timeout=0.5, retries=3,
                                    jsonl=tmp_path / "a.jsonl", progress=False), note=lambda m: None)
    finally:
        proxy.close()
    assert fig["accuracy"]["items"] == N_TEST and fig["accuracy"]["bit_exact_agreement"] == 1.0
    assert fig["resets_survived"] == 1 and fig["retries"] >= 1 and fig["garbage_frames"] >= 1


def test_wrong_model_is_refused(device: HostDevice, bundle: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    import shutil

    shutil.copytree(bundle, other)
    meta = json.loads((other / "bundle.json").read_text())
    meta["name"] = "renamed"
    from edgekws.export.bundle import compute_bundle_hash

    meta["bundle_hash"] = compute_bundle_hash((other / "model.tflite").read_bytes(), meta)
    (other / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(DeviceError, match="build/flash the firmware of this bundle"):
        run_bench(BenchConfig(bundle=other, mode="latency", port=device.url, progress=False), note=lambda m: None)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "tools/bench.py"), *args, "--no-progress"],
                          capture_output=True, text=True, timeout=300)


def test_vanished_port_partial_report_then_resume(device: HostDevice, bundle: Path, tmp_path: Path) -> None:
    out, jsonl = tmp_path / "report.json", tmp_path / "acc.jsonl"
    proxy = FaultProxy(device.port)
    proxy.vanish_after(40)  # a few items in, the "cable" is pulled
    try:
        r = _cli("--port", proxy.url, "--bundle", str(bundle), "--mode", "accuracy", "--out", str(out),
                 "--jsonl", str(jsonl), "--timeout", "0.5", "--retries", "1")
    finally:
        proxy.close()
    assert r.returncode == 3, r.stderr
    err_lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(err_lines) == 1 and "partial results" in err_lines[0] and "Traceback" not in r.stderr
    first = _items(jsonl, "accuracy")
    assert 0 < len(first) < N_TEST
    rep = json.loads(out.read_text())["device"]["host"]
    assert rep["status"] == "partial" and rep["accuracy"]["items"] == len(first)
    # resume on a working line: only the missing items are sent, nothing is lost
    r = _cli("--port", device.url, "--bundle", str(bundle), "--mode", "accuracy", "--out", str(out),
             "--jsonl", str(jsonl), "--resume")
    assert r.returncode == 0, r.stderr
    items = _items(jsonl, "accuracy")
    assert items[:len(first)] == first and sorted(items) == list(range(N_TEST))
    rep = json.loads(out.read_text())["device"]["host"]
    assert rep["status"] == "complete" and rep["accuracy"]["items"] == N_TEST
    assert rep["accuracy"]["bit_exact_agreement"] == 1.0 and "error" not in rep


def test_port_that_never_answers(bundle: Path, tmp_path: Path) -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        r = _cli("--port", f"socket://127.0.0.1:{silent.getsockname()[1]}", "--bundle", str(bundle),
                 "--timeout", "0.3", "--retries", "1")
    finally:
        silent.close()
    assert r.returncode == 3 and "no answer" in r.stderr and "Traceback" not in r.stderr
    r = _cli("--port", "/dev/ttyDOESNOTEXIST", "--bundle", str(bundle))
    assert r.returncode == 3 and "cannot open" in r.stderr and "Traceback" not in r.stderr


def test_audio_mode_needs_the_device_frontend(device: HostDevice, bundle: Path) -> None:
    """A bundle whose features the device frontend cannot compute (8 per frame, the frontend gives 10) is
    refused in one line before the device is asked for anything."""
    from edgekws.errors import ConfigError

    with pytest.raises(ConfigError, match="audio mode on the device refused: the device cannot compute"):
        run_bench(BenchConfig(bundle=bundle, mode="audio", port=device.url, progress=False), note=lambda m: None)
    assert device.alive()


@pytest.fixture(scope="module")
def mfcc_device_exe(host_cc: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 49x10-MFCC bundle and the host device built with the real device frontend."""
    from bench_fixtures import mfcc_bundle
    from edgekws.export.codegen_c import export_c
    from edgekws.frontend.config import FrontendConfig
    from edgekws.frontend.ctables import write_frontend_c

    b = mfcc_bundle(tmp_path_factory.getbasetemp())
    meta = json.loads((b / "bundle.json").read_text())
    d = tmp_path_factory.mktemp("mfcchost")
    export_c(b, d / "model_c")
    if not (d / "model_c" / "edgekws_frontend_tables.h").is_file():  # until the exporter writes them
        write_frontend_c(d / "model_c", FrontendConfig(**meta["frontend"]), meta["input_norm"],
                         meta["input"]["scale"], meta["input"]["zero_point"])
    return b, build_host_device(host_cc, d / "model_c", d / "edgekws-host-fe")


def test_audio_mode_with_the_real_device_frontend(mfcc_device_exe: tuple[Path, Path], tmp_path: Path) -> None:
    """Raw clips in, features computed by firmware/src/frontend on the device: the features equal
    the host's device-exact ones and the outputs equal TFLite Micro on them."""
    import numpy as np

    from edgekws.device.client import DeviceClient
    from edgekws.tflm import TflmModel

    bundle_dir, exe = mfcc_device_exe
    ts = np.load(bundle_dir / "testset.npz")
    tflm = TflmModel(bundle_dir / "model.tflite")
    dev = HostDevice(exe)
    try:
        c = DeviceClient(dev.url, timeout=2.0)
        h = c.connect()
        assert h.has_frontend and h.audio_samples == 16000
        for i in range(3):
            res = c.run_audio(ts["audio_int16"][i])
            feats = c.read_input()
            want_x = ts["x_int8"][i].reshape(-1)
            assert np.abs(feats.astype(int) - want_x.astype(int)).max() <= 1
            assert np.array_equal(res.output, tflm.run(feats).reshape(-1))
            assert res.frontend_ticks > 0
        c.close()
        fig = run_bench(BenchConfig(bundle=bundle_dir, mode="audio", port=dev.url, jsonl=tmp_path / "a.jsonl",
                                    progress=False), note=lambda m: None)
    finally:
        err = dev.stop()
    assert "runtime error" not in err and "AddressSanitizer" not in err, err
    a = fig["audio"]
    assert a["items"] == 8 and a["decision_agreement_with_host"] == 1.0 and a["unit"] == "ns"
    assert a["frontend"]["median"] > 0


def test_accuracy_mode_names_a_planted_layer_error(bundle: Path, host_cc: str, tmp_path: Path) -> None:
    """The same bench against a device whose runner adds one LSB to channel 1 of layer 2's output
    (EDGEKWS_MUTATE_LAYER, a test-only build): no clip is bit-exact layer by layer, and each names layer 2."""
    from edgekws.export.codegen_c import export_c

    export_c(bundle, tmp_path / "model_c")
    exe = build_host_device(host_cc, tmp_path / "model_c", tmp_path / "edgekws-host-mutant", sanitize=False,
                            defines=("EDGEKWS_MUTATE_LAYER=2", "EDGEKWS_MUTATE_CHANNEL=1"))
    with HostDevice(exe) as dev:
        fig = run_bench(BenchConfig(bundle=bundle, mode="accuracy", port=dev.url, progress=False),
                        note=lambda m: None)
    lc = fig["accuracy"]["layer_check"]
    assert lc["items_checked"] == N_TEST and lc["exact_items"] == 0
    (row,) = lc["first_mismatch"]
    assert (row["layer"], row["what"], row["items"], row["backend"]) == (2, "layer", N_TEST, "ref")
    assert row["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
