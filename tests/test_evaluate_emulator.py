"""`edgekws evaluate --emulate`: the same clips through the emulated Cortex-M7, its own frontend from audio."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgekws.evaluate import EvalConfig, evaluate_bundle
from test_evaluate import DEFAULT, write_clip

pytestmark = [pytest.mark.slow, pytest.mark.emulator]


def test_evaluate_on_the_emulated_device_matches_the_host(arm_gcc: str, qemu_arm: str, tmp_path: Path) -> None:
    """12 of the default bundle's own test clips (one per class) as WAVs, evaluated on the host (TFLite
    Micro) and in QEMU (device frontend + kernels): both sets of figures, decisions clip by clip equal."""
    del arm_gcc, qemu_arm
    bundle = tmp_path / "bundle"  # a copy: building from a bundle writes memory figures into its report.json
    bundle.mkdir()
    for f in DEFAULT.iterdir():
        if f.is_file():
            shutil.copy(f, bundle / f.name)
    meta = json.loads((bundle / "bundle.json").read_text())
    ts = np.load(bundle / "testset.npz")
    data = tmp_path / "clips"
    for k in range(len(meta["labels"])):
        i = int(np.flatnonzero(ts["y"] == k)[0])
        write_clip(data / meta["labels"][k] / f"{i:08x}_nohash_0.wav", ts["audio_int16"][i])
    report = tmp_path / "report.json"
    entry = evaluate_bundle(EvalConfig(bundle=bundle, data=data, name="own12", out=report, emulate=True,
                                       build_dir=tmp_path / "fw", progress=False), note=lambda m: None)
    dev = entry["device"]["mps2_an500"]
    assert entry["clips"] == dev["clips"] == 12
    assert dev["unit"] == "instructions" and dev["frontend"]["median"] > 0
    assert dev["decision_agreement_with_host"] == 1.0 and dev["decisions_differing_from_host"] == 0
    assert dev["confusion"] == entry["confusion"]
    assert dev["accuracy"] == entry["accuracy"] and entry["accuracy"]["n"] == 12
    stored = json.loads(report.read_text())["evaluations"]["own12"]
    assert stored["device"]["mps2_an500"]["accuracy"] == dev["accuracy"]
