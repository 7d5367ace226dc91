"""The firmware end to end: a real int8 KWS model, built for both boards, self-tested in QEMU.

The model is a small DS-CNN (conv, depthwise conv, pointwise conv, average
pool, reshape, fully connected, softmax) with random weights, quantized to
int8 by the TFLite converter, so every op the firmware runs appears; the
exporter embeds test vectors with TFLite Micro's outputs, and the firmware
must reproduce them byte for byte in the emulated Cortex-M7.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from edgekws.device.build import build_firmware
from edgekws.device.emulator import EXIT_MISMATCH, Emulator, run_selftest
from edgekws.device.memory import elf_memory
from edgekws.errors import FirmwareError

pytestmark = [pytest.mark.slow, pytest.mark.emulator]

REPO = Path(__file__).resolve().parents[1]
LABELS = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]


def _kws_tflite(seed: int = 0) -> bytes:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    inp = layers.Input((49, 10, 1))
    x = layers.Conv2D(16, (10, 4), strides=(2, 2), padding="same", activation="relu")(inp)
    for _ in range(2):
        x = layers.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
        x = layers.Conv2D(16, 1, activation="relu")(x)
    x = layers.AveragePooling2D(pool_size=(25, 5))(x)
    x = layers.Flatten()(x)
    out = layers.Softmax()(layers.Dense(len(LABELS))(x))
    model = tf.keras.Model(inp, out)
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(16):
            yield [rng.standard_normal((1, 49, 10, 1)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, arm_gcc: str, qemu_arm: str) -> Path:
    """A minimal bundle (model.tflite + bundle.json) the C exporter accepts."""
    del arm_gcc, qemu_arm
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    path = tmp_path_factory.mktemp("kws") / "bundle"
    path.mkdir()
    (path / "model.tflite").write_bytes(_kws_tflite())
    (path / "bundle.json").write_text(json.dumps({"schema_version": 1, "name": "kws_test", "labels": LABELS}))
    return path


@pytest.fixture(scope="module")
def selftest_elf(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_firmware("mps2_an500", bundle, tmp_path_factory.mktemp("fw_mps2"), selftest_only=True)


def _model_dir(elf: Path) -> Path:
    return elf.parent / "model_c"


def _header_int(model_dir: Path, name: str) -> int:
    match = re.search(rf"#define {name} \(?(-?\d+)", (model_dir / "edgekws_model.h").read_text())
    assert match, name
    return int(match.group(1))


def test_selftest_identical_to_tflite_micro_in_qemu(selftest_elf: Path) -> None:
    report = run_selftest(selftest_elf, timeout=120)
    assert report["exit_code"] == 0 and report["passed"], report["output"][-2000:]
    n_vectors = _header_int(_model_dir(selftest_elf), "EDGEKWS_SELFTEST_COUNT")
    assert len(report["vectors"]) == n_vectors >= 1
    assert all(v["status"] == "pass" for v in report["vectors"])
    assert report["unit"] == "instructions" and report["board"] == "mps2_an500"
    ops = [layer["op"] for layer in report["layers"]]
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"} <= set(ops)
    assert len(ops) == _header_int(_model_dir(selftest_elf), "EDGEKWS_NUM_LAYERS")
    per_layer = [layer["count"] for layer in report["layers"]]
    assert all(c > 0 for c in per_layer if c is not None)
    # the layers account for the inference, the runner's own overhead is small
    assert 0.95 * report["vectors"][0]["count"] <= sum(per_layer) <= report["vectors"][0]["count"]
    mem = report["memory"]
    assert 0 < mem["stack_high_water"] < mem["stack_size"] == 16384
    assert mem["arena_bytes"] == _header_int(_model_dir(selftest_elf), "EDGEKWS_ARENA_SIZE")
    assert 0.5 * mem["arena_bytes"] < mem["arena_high_water"] <= mem["arena_bytes"]


def test_instruction_counts_are_repeatable(selftest_elf: Path) -> None:
    a = run_selftest(selftest_elf, timeout=120)
    b = run_selftest(selftest_elf, timeout=120)
    assert [layer["count"] for layer in a["layers"]] == [layer["count"] for layer in b["layers"]]
    assert [v["count"] for v in a["vectors"]] == [v["count"] for v in b["vectors"]]


def _corrupt_symbol_byte(elf_in: Path, elf_out: Path, symbol: str, index: int) -> None:
    """Flip one byte of a const array inside the ELF image (what QEMU loads)."""
    data = bytearray(elf_in.read_bytes())
    with elf_in.open("rb") as fh:
        elf = ELFFile(fh)
        sym = elf.get_section_by_name(".symtab").get_symbol_by_name(symbol)[0]
        addr = sym["st_value"]
        assert index < sym["st_size"]
        sec = next(s for s in elf.iter_sections()
                   if s["sh_addr"] <= addr < s["sh_addr"] + s["sh_size"] and s["sh_type"] == "SHT_PROGBITS")
        offset = sec["sh_offset"] + (addr - sec["sh_addr"]) + index
    data[offset] ^= 0x5A
    elf_out.write_bytes(bytes(data))


def test_corrupted_expected_vector_fails_with_nonzero_exit(selftest_elf: Path, tmp_path: Path) -> None:
    n_out = _header_int(_model_dir(selftest_elf), "EDGEKWS_OUTPUT_SIZE")
    bad = tmp_path / "corrupt.elf"
    _corrupt_symbol_byte(selftest_elf, bad, "edgekws_selftest_expected", n_out + 3)  # vector 1, output 3
    report = run_selftest(bad, timeout=120)
    assert report["exit_code"] == EXIT_MISMATCH and not report["passed"]
    assert report["result"] == "fail"
    status = {v["index"]: v for v in report["vectors"]}
    assert status[1]["status"] == "fail" and status[1]["first"] == 3 and status[1]["mismatched"] == 1
    assert all(v["status"] == "pass" for i, v in status.items() if i != 1)


def test_cli_selftest_json_and_exit_status(bundle: Path, tmp_path: Path) -> None:
    code = "from edgekws.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code, "firmware", "selftest", "--bundle", str(bundle),
                          "--out", str(tmp_path / "fw"), "--json"], capture_output=True, text=True)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-1000:])
    report = json.loads(out.stdout[: out.stdout.rindex("}") + 1])
    assert report["passed"] and report["elf_memory"]["board"] == "mps2_an500"
    assert "-icount" in report["qemu_command"]
    figures = json.loads((bundle / "report.json").read_text())
    assert figures["firmware_selftest"]["mps2_an500"]["unit"] == "instructions"
    assert figures["firmware_selftest"]["mps2_an500"]["per_inference"] == report["count"] > 0
    assert figures["firmware_memory"]["mps2_an500"]["flash_bytes"] == report["elf_memory"]["flash_bytes"]


def test_nucleo_image_links_with_arena_in_dtcm(bundle: Path, tmp_path: Path) -> None:
    elf = build_firmware("nucleo_f767zi", bundle, tmp_path)
    mem = elf_memory(elf, "nucleo_f767zi")
    regions = {r["name"]: r for r in mem["regions"]}
    assert 0 < regions["FLASH"]["used"] < regions["FLASH"]["size"]
    assert regions["DTCM"]["used"] == mem["stack_bytes"] + mem["arena_bytes"]  # only those two in DTCM
    assert mem["arena_bytes"] > 0 and mem["stack_bytes"] == 16384
    with elf.open("rb") as fh:
        f = ELFFile(fh)
        syms = f.get_section_by_name(".symtab")
        arena = syms.get_symbol_by_name("edgekws_arena")[0]["st_value"]
        vectors = f.get_section_by_name(".isr_vector")["sh_addr"]
        weights_in_flash = all(0x08000000 <= s["st_value"] < 0x08200000
                               for s in syms.iter_symbols() if s.name.startswith("edgekws_selftest_"))
    assert 0x20000000 <= arena < 0x20020000, "arena must be in DTCM"
    assert vectors == 0x08000000 and weights_in_flash
    bin_size = (tmp_path / "edgekws_nucleo_f767zi.bin").stat().st_size  # what st-flash writes
    assert mem["flash_bytes"] <= bin_size <= mem["flash_bytes"] + 1024


def test_nucleo_arena_too_big_fails_the_build_clearly(selftest_elf: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model_c"
    shutil.copytree(_model_dir(selftest_elf), model_dir)
    header = model_dir / "edgekws_model.h"
    header.write_text(re.sub(r"#define EDGEKWS_ARENA_SIZE \d+u?", "#define EDGEKWS_ARENA_SIZE 600000u",
                             header.read_text()))
    with pytest.raises(FirmwareError) as exc:
        build_firmware("nucleo_f767zi", model_dir, tmp_path / "fw")
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("firmware does not fit nucleo_f767zi: data + model arena do not fit SRAM (384 KB)")


def test_server_image_talks_over_tcp(bundle: Path, tmp_path: Path) -> None:
    if not (REPO / "firmware" / "src" / "app" / "server.c").is_file():
        pytest.skip("the serial server (src/app/server.c) is not in the tree yet")
    import serial

    elf = build_firmware("mps2_an500", bundle, tmp_path)
    with Emulator(elf, serial="tcp") as emu:
        assert emu.url.startswith("socket://127.0.0.1:")
        port = serial.serial_for_url(emu.url, timeout=5)
        try:
            banner = port.read(16)
        finally:
            port.close()
    assert len(banner) > 0, "the firmware said nothing on the TCP serial line"


def test_host_board_runs_the_same_selftest(bundle: Path, tmp_path: Path) -> None:
    exe = build_firmware("host", bundle, tmp_path, selftest_only=True)
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "selftest result pass" in proc.stdout


def test_default_model_selftest(tmp_path: Path) -> None:
    """`make test`'s promise: the committed default model is identical to TFLite Micro in QEMU."""
    default = REPO / "models" / "default"
    if not (default / "bundle.json").is_file():
        msg = "models/default is not committed yet"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    report = run_selftest(build_firmware("mps2_an500", default / "c" if (default / "c").is_dir() else default,
                                         tmp_path / "fw", selftest_only=True),
                          timeout=300)
    assert report["passed"], report["output"][-2000:]
