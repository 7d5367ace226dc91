"""The device frontend on the emulated Cortex-M7 (QEMU mps2-an500): exact features, cost per hop.

Runs benchmarks/frontend_device.py's program: the int8 features the device
computes, whole clip and streamed hop by hop, must equal the host's
device-exact twin bit for bit (QEMU's VFP emulation is IEEE float32, like the
M7's FPU and x86 SSE), and one 20 ms hop must cost at most 5 % of the hop at
216 MHz, i.e. 216,000 instructions (measured: ~76,400).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgekws.audio import load_audio, pad_or_trim
from edgekws.compress.quantize import quantize_input
from edgekws.frontend import compute_features, get_preset

ROOT = Path(__file__).resolve().parents[1]


def _bench_module():
    spec = importlib.util.spec_from_file_location("frontend_device_bench", ROOT / "benchmarks" / "frontend_device.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _bench_module()


@pytest.mark.emulator
@pytest.mark.parametrize("preset", ["kws-mfcc-49x10", "kws-logmel-49x40", "tflm-microfrontend", "mlperf-tiny-kws"])
def test_device_features_equal_twin_and_fit_the_budget(bench, arm_gcc, qemu_arm, preset, tmp_path):
    res = bench.run_benchmark(preset, seconds=1.0, work=tmp_path)
    assert res["unit"] == "instructions"
    assert res["matches_twin_whole"] and res["matches_twin_stream"], res["max_lsb_diff_vs_twin"]
    assert res["per_hop"]["n"] == 49 and res["frames"] == 49
    assert 10_000 < res["per_hop"]["max"] <= res["budget_per_hop"] == 216_000
    assert res["within_budget"]


@pytest.mark.emulator
@pytest.mark.espeak
def test_device_features_on_speech(bench, arm_gcc, qemu_arm, espeak, tmp_path):
    wav = tmp_path / "w.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(wav), "left"], check=True, capture_output=True)
    res = bench.run_benchmark("kws-mfcc-49x10", seconds=1.0, wav=str(wav), work=tmp_path / "b")
    assert res["matches_twin_whole"] and res["matches_twin_stream"]
    # and the device's int8 input stays within 1 LSB of the default host pipeline's
    cfg = get_preset("kws-mfcc-49x10")
    pcm = res["_pcm"]
    assert np.array_equal(pcm, np.clip(np.round(pad_or_trim(load_audio(wav), 16000).astype(np.float64) * 32768),
                                       -32768, 32767).astype(np.int16))
    host = compute_features(pcm.astype(np.float32) / 32768.0, cfg)
    mean, std = np.asarray(res["_norm"]["mean"], np.float32), np.asarray(res["_norm"]["std"], np.float32)
    ref = quantize_input(((host - mean) / std).astype(np.float32), res["_scale"], res["_zero_point"])
    diff = np.abs(res["_whole_q"].reshape(49, 10).astype(int) - ref.reshape(49, 10).astype(int))
    assert diff.max() <= 1
