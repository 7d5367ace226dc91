"""The layer-by-layer check can fail: a planted +1 LSB in one channel of one layer is caught and named.

Why this test exists: the self-test used to compare only the softmax output of
4 vectors, three of them saturated, so an off-by-one kernel passed. Now the
runner reports a CRC-32 of every layer's output and the pre-softmax logits
(nn_invoke_checked), the exporter embeds TFLite Micro's values for 16 vectors,
and the self-test names the first mismatching layer with its backend.

The mutation hook (firmware/src/nn/runner.c, EDGEKWS_MUTATE_LAYER /
EDGEKWS_MUTATE_CHANNEL) exists only in images built with those defines; the
normal image has no trace of it (checked below on the host build and on the
QEMU ELF).

Host builds (the real app/selftest.c, main.c and board/host on x86) cover
every kernel backend family on the trained default model: one layer per
backend (ref, simd, block, skipzero, wp and cmsisnn when CMSIS-NN is
available), one image per planted layer. QEMU runs the mutated Cortex-M7
self-test image once (the clean one runs in test_firmware_qemu.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import cbuild
from edgekws.device.emulator import parse_selftest
from edgekws.errors import FirmwareError
from edgekws.export.layer_check import LayerReference, crc32, first_mismatch

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "models" / "default"
SRC = cbuild.FIRMWARE / "src"
CHANNEL = 7  # the planted channel (every mutated layer has 64 output channels)

# layer index -> backend, one layer per backend family (index 5 takes cmsisnn when it is available)
PLAN = {0: "ref", 1: "simd", 2: "block", 3: "skipzero", 4: "wp", 5: "cmsisnn"}


def _cmsisnn_root() -> Path | None:
    from edgekws.export import kernels_cmsisnn as kc

    try:
        return kc.cmsisnn_dir()
    except FirmwareError:
        return None


def _assignment(n_layers: int, with_cmsisnn: bool) -> list[str]:
    from edgekws.export.autotune import bundle_layers

    layers = bundle_layers(BUNDLE)
    out = []
    for layer in layers:
        want = PLAN.get(layer.index)
        if want == "cmsisnn" and not with_cmsisnn:
            want = "simd"
        if want is None:
            want = "simd" if "simd" in layer.eligible else "ref"
        assert want in layer.eligible, f"{want} cannot run layer {layer.index} ({layer.op})"
        out.append(want)
    assert len(out) == n_layers
    return out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The default model with one layer per backend, exported, and every object but the runner built."""
    if not (BUNDLE / "bundle.json").is_file():
        pytest.skip("models/default is not in this checkout")
    from edgekws.export.autotune import write_variant_bundle
    from edgekws.export.codegen_c import export_c

    work = tmp_path_factory.mktemp("layercheck")
    root = _cmsisnn_root()
    n_layers = len(LayerReference(BUNDLE / "model.tflite").out_tensors)
    backends = _assignment(n_layers, root is not None)
    view = write_variant_bundle(BUNDLE, backends, work / "bundle")
    gen = work / "gen"
    export_c(view, gen)
    defines = ["-DEDGEKWS_SELFTEST_ONLY=1", "-DEDGEKWS_BOARD_HOST=1"]
    incs = [gen]
    srcs = [SRC / "app" / "main.c", SRC / "app" / "selftest.c", SRC / "protocol" / "crc32.c",
            SRC / "board" / "host" / "board_host.c", *sorted(gen.glob("*.c"))]
    for d in ("ref", "simd", "sparse"):
        srcs += sorted((SRC / "nn" / d).glob("*.c"))
    objs: list[Path] = []
    if root is not None:
        from edgekws.export import kernels_cmsisnn as kc

        inc = list(kc.include_dirs(root))
        cdefs = tuple(f"-D{d}" for d in kc.compile_definitions(root))
        third_party = cbuild.compile_objects(kc.cmsisnn_sources(root), work / "cmsisnn_lib", inc,
                                             ("-std=c11", "-O2"))  # Arm's code: its own flags
        archive = work / "libcmsisnn.a"  # linked as a library: only what the wrappers call
        subprocess.run(["ar", "rcs", str(archive), *map(str, third_party)], check=True)
        objs += cbuild.compile_objects(kc.wrapper_sources(cbuild.FIRMWARE), work / "cmsisnn_wrap", inc,
                                       (*cbuild.STRICT_FLAGS, *cdefs))
        incs += inc
    objs = [*cbuild.compile_objects(srcs, work / "obj", incs, (*cbuild.STRICT_FLAGS, *defines)), *objs]
    libs = [archive] if root is not None else []
    return {"work": work, "gen": gen, "objs": objs, "libs": libs, "incs": incs, "defines": defines, "backends": backends,
            "cmsisnn": root is not None}


def _selftest_exe(mixed, name: str, mutate: tuple[int, int] | None) -> Path:
    """Link the host self-test program; the runner is compiled with the mutation defines (or without)."""
    out = mixed["work"] / name
    out.mkdir(exist_ok=True)
    flags = [*cbuild.STRICT_FLAGS, *mixed["defines"]]
    if mutate is not None:
        flags += [f"-DEDGEKWS_MUTATE_LAYER={mutate[0]}", f"-DEDGEKWS_MUTATE_CHANNEL={mutate[1]}"]
    runner = cbuild.compile_objects([SRC / "nn" / "runner.c"], out, mixed["incs"], tuple(flags))
    return cbuild.compile_executable([*mixed["objs"], *runner, *mixed["libs"]], out / "selftest", mixed["incs"],
                                     (*cbuild.STRICT_FLAGS, "-lm"))


def _run(exe: Path) -> tuple[int, dict]:
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return proc.returncode, parse_selftest(proc.stdout)


@pytest.mark.slow
def test_clean_image_passes_layer_by_layer_and_has_no_hook(mixed):
    exe = _selftest_exe(mixed, "clean", None)
    code, rep = _run(exe)
    assert code == 0 and rep["result"] == "pass" and rep["check"] == "layers", rep
    assert rep["n_vectors"] == 16 and len(rep["vectors"]) == 16 and rep["layer_mismatches"] == 0
    assert [row["backend"] for row in rep["layers"]] == mixed["backends"]
    nm = shutil.which("nm")
    if nm is not None:
        syms = subprocess.run([nm, str(exe)], capture_output=True, text=True, check=True).stdout
        assert "nn_mutation_planted" not in syms
        planted = _selftest_exe(mixed, "probe", (0, CHANNEL))
        assert "nn_mutation_planted" in subprocess.run([nm, str(planted)], capture_output=True, text=True,
                                                       check=True).stdout  # the probe sees it when it is there


@pytest.mark.slow
@pytest.mark.parametrize("layer", sorted(PLAN))
def test_planted_error_is_named_with_layer_and_backend(mixed, layer):
    backend = mixed["backends"][layer]
    if PLAN[layer] == "cmsisnn" and not mixed["cmsisnn"]:
        pytest.skip("CMSIS-NN is not available (run tools/fetch_cmsisnn.py or set EDGEKWS_CMSISNN_DIR); "
                    "layer 5 runs simd instead, which layer 1 already covers")
    exe = _selftest_exe(mixed, f"mut{layer}", (layer, CHANNEL))
    code, rep = _run(exe)
    assert code == 1 and rep["result"] == "fail", rep
    bad = [v for v in rep["vectors"] if v["status"] == "fail"]
    assert len(bad) == 16 and rep["layer_mismatches"] == 16
    for v in bad:  # every vector names the planted layer: the first whose CRC differs
        assert (v["layer"], v["backend"], v["op"]) == (layer, backend, rep["layers"][layer]["op"]), v
        assert re.fullmatch(r"0x[0-9a-f]{8}", v["crc"]) and v["crc"] != v["want"]


def test_parse_selftest_reads_a_layer_mismatch():
    text = ("selftest begin model=m board=host unit=ns clock_hz=0 vectors=2 layers=3 check=layers\r\n"
            "layer 0 CONV_2D simd ns=10 name=conv2d_0\r\n"
            "selftest vector 0 fail ns=30 layer=0 name=conv2d_0 op=CONV_2D backend=simd crc=0x0000000a "
            "want=0x0000000b mismatched=2\r\n"
            "selftest vector 1 fail ns=30 logit=4 got=-3 want=-4\r\n"
            "selftest result fail vectors=2 mismatches=2 layer_mismatches=1 ns=30\r\n")
    rep = parse_selftest(text)
    assert rep["check"] == "layers" and rep["layer_mismatches"] == 1 and rep["result"] == "fail"
    v0, v1 = rep["vectors"]
    assert (v0["layer"], v0["backend"], v0["crc"], v0["want"], v0["count"]) == (0, "simd", "0x0000000a",
                                                                              "0x0000000b", 30)
    assert (v1["logit"], v1["got"], v1["want"]) == (4, -3, -4)


def test_reference_crcs_match_the_c_runner_layer_by_layer(mixed):
    """The host reference (TFLM preserved tensors -> zlib.crc32) equals the arena bytes the C runner leaves."""
    lib = cbuild.build_model_lib(BUNDLE / "c", mixed["work"] / "lib")
    ref = LayerReference(BUNDLE / "model.tflite")
    x = np.load(BUNDLE / "testset.npz")["x_int8"][3]
    want = ref.check(x)
    sizes = [int(np.prod(ref._tm.tensor(t).shape)) for t in ref.out_tensors]
    got = [crc32(lib.run_prefix(x, i, n)) for i, n in enumerate(sizes)]
    assert got == list(want.layer_crc)
    assert first_mismatch(want, got, want.logits, want.output) is None
    bad = list(got)
    bad[4] ^= 1
    m = first_mismatch(want, bad, want.logits, want.output)
    assert m is not None and (m.layer, m.what) == (4, "layer")
    assert first_mismatch(want, got[:-1]) is not None  # a short CRC list never passes
    logits = want.logits.copy()
    logits[2] += 1
    m = first_mismatch(want, got, logits)
    assert m is not None and (m.what, m.got, m.want) == ("logits", int(logits[2]), int(want.logits[2]))


@pytest.mark.slow
@pytest.mark.emulator
def test_qemu_selftest_names_the_planted_layer(tmp_path):
    """The real emulator: the committed default model's self-test image with one simd channel off by one."""
    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import run_selftest

    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("qemu-system-arm / arm-none-eabi-gcc not installed")
    from elftools.elf.elffile import ELFFile

    gen = BUNDLE / "c"
    layer = 4  # conv2d_2, simd in the committed bundle
    elf = build_firmware("mps2_an500", gen, tmp_path / "mut", selftest_only=True,
                         defines=[f"EDGEKWS_MUTATE_LAYER={layer}", f"EDGEKWS_MUTATE_CHANNEL={CHANNEL}"],
                         check_memory=False)
    rep = run_selftest(elf, timeout=300)
    assert not rep["passed"] and rep["result"] == "fail" and rep["exit_code"] != 0
    want = rep["layers"][layer]
    bad = [v for v in rep["vectors"] if v["status"] == "fail"]
    assert len(bad) == rep["n_vectors"] >= 16
    assert all((v["layer"], v["name"], v["backend"]) == (layer, want["name"], want["backend"]) for v in bad)
    with open(elf, "rb") as fh:
        syms = ELFFile(fh).get_section_by_name(".symtab")
        assert syms.get_symbol_by_name("nn_mutation_planted")  # the hook is in this image ...
    clean = build_firmware("mps2_an500", gen, tmp_path / "clean", selftest_only=True, check_memory=False)
    with open(clean, "rb") as fh:
        assert not ELFFile(fh).get_section_by_name(".symtab").get_symbol_by_name("nn_mutation_planted")  # ... only
    rep = run_selftest(clean, timeout=300)
    assert rep["passed"] and rep["layer_mismatches"] == 0, rep["output"][-2000:]
