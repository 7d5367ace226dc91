"""A trained asc scene CNN through the int8 path: bundle (TFLite Micro accuracy) -> C -> QEMU self-test.

Tiny (one subset, one method, one epoch, 8-channel CNN): it proves the scene network is
made only of ops the firmware runs and that the device computes it exactly as TFLite Micro
does, layer by layer; its accuracy means nothing at this size.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekws.compress.finalize import FIRMWARE_OPS
from edgekws.errors import ConfigError
from edgekws.tasks import get_task
from edgekws.tasks.runner import run_data, run_train


@pytest.mark.slow  # trains one tiny CNN, converts it, builds the firmware and runs it in QEMU (~1.5 min wall)
def test_scene_cnn_runs_on_the_emulated_device(tmp_path: Path, arm_gcc: str, qemu_arm: str) -> None:
    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import run_selftest
    from edgekws.export.codegen_c import export_c
    from edgekws.tasks.asc.export import export_bundle

    task = get_task("asc")
    data, run = tmp_path / "data", tmp_path / "run"
    run_data(task, data, ["sample_rate=16000", "cities=2", "train_locations=1", "train_segments_per_scene=3",
                          "test_segments_per_scene=1", "clips_per_segment=1"])
    run_train(task, data, run, ["subsets=100", "methods=baseline", "epochs=1", "model.channels=8,8,8"])
    with pytest.raises(ConfigError, match="no 'ddsc' model for split100"):
        export_bundle(run, tmp_path / "nope", 100, "ddsc")
    bundle = export_bundle(run, tmp_path / "bundle", 100, "baseline")
    report = json.loads((tmp_path / "bundle" / "report.json").read_text())
    assert set(report["ops"]) <= FIRMWARE_OPS and report["firmware_unsupported_ops"] == []
    assert {"CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "SOFTMAX"} <= set(report["ops"])
    assert report["accuracy"]["n_test"] == 90 and bundle.meta["labels"][0] == "airport"
    assert bundle.meta["recipe"]["method"] == "baseline" and bundle.meta["recipe"]["macs"] > 0
    export_c(tmp_path / "bundle", tmp_path / "c")
    elf = build_firmware("mps2_an500", tmp_path / "c", tmp_path / "fw", selftest_only=True)
    st = run_selftest(elf, timeout=300)
    assert st["passed"] and len(st["vectors"]) == 16 and st["count"] > 0
