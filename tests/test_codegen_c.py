"""C code generation: determinism, the header contract, arena plan, cross-compilation, errors, CLI, sanitizers."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cbuild
from edgekws.errors import BundleError, ConfigError, ModelError
from edgekws.export.arena import Buffer, greedy_offsets, plan_arena
from edgekws.export.codegen_c import ExportOptions, export_c, summarize_export
from edgekws.export.tflite_graph import read_graph
from edgekws.tflm import TflmModel
from test_nn_ops import ACT, INT8, TfliteBuilder, chain_model, conv_model, write_bundle

CONTRACT_MACROS = ("EDGEKWS_MODEL_NAME", "EDGEKWS_BUNDLE_HASH", "EDGEKWS_NUM_LABELS", "EDGEKWS_INPUT_SIZE",
                   "EDGEKWS_OUTPUT_SIZE", "EDGEKWS_INPUT_SCALE", "EDGEKWS_INPUT_ZERO_POINT", "EDGEKWS_OUTPUT_SCALE",
                   "EDGEKWS_OUTPUT_ZERO_POINT", "EDGEKWS_ARENA_SIZE", "EDGEKWS_WEIGHTS_BYTES",
                   "EDGEKWS_SELFTEST_COUNT", "EDGEKWS_BACKENDS")


@pytest.fixture(scope="module")
def chain_tflite() -> bytes:
    return chain_model(np.random.default_rng(5), zero_fraction=0.5)


@pytest.fixture()
def bundle(tmp_path, chain_tflite):
    return write_bundle(tmp_path / "b", chain_tflite, 12, input_norm={"mean": [0.5] * 10, "std": [2.0] * 10},
                        frontend={"sample_rate": 16000, "n_mfcc": 10, "window_ms": 30.0, "kind": "mfcc"})


def test_export_is_byte_identical(bundle, tmp_path):
    a = export_c(bundle, tmp_path / "a")
    b = export_c(bundle, tmp_path / "b2")
    assert [p.name for p in a] == ["edgekws_model.c", "edgekws_model.h", "edgekws_selftest.c"]
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()


def test_header_has_the_contract(bundle, tmp_path):
    export_c(bundle, tmp_path / "g")
    h = (tmp_path / "g" / "edgekws_model.h").read_text()
    for m in CONTRACT_MACROS:
        assert f"#define {m} " in h
    for decl in ("extern const nn_model_t edgekws_model;", "extern const char *const edgekws_labels",
                 "edgekws_selftest_input[EDGEKWS_SELFTEST_COUNT][EDGEKWS_INPUT_SIZE]",
                 "edgekws_selftest_expected[EDGEKWS_SELFTEST_COUNT][EDGEKWS_OUTPUT_SIZE]"):
        assert decl in h
    assert "#define EDGEKWS_FRONTEND_SAMPLE_RATE 16000" in h
    c = (tmp_path / "g" / "edgekws_model.c").read_text()
    assert "__attribute__((aligned(16)))" in c and "EDGEKWS_ARENA_SECTION" in c
    info = summarize_export(tmp_path / "g")
    assert info["backends"] == "ref" and info["layers"] == len(read_graph(bundle / "model.tflite").operators)


def test_selftest_vectors_come_from_testset(bundle, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(6, 49, 10, 1)).astype(np.int8)
    np.savez(bundle / "testset.npz", x_int8=x, y=np.zeros(6, np.int64))
    export_c(bundle, tmp_path / "g", ExportOptions(selftest_count=3))
    src = (tmp_path / "g" / "edgekws_selftest.c").read_text()
    first = ", ".join(str(int(v)) for v in x[0].reshape(-1)[:20])
    assert first in src
    want = TflmModel(bundle / "model.tflite").run(x[2]).reshape(-1)
    assert ", ".join(str(int(v)) for v in want) in src


def test_runner_api_and_layer_ticks(bundle, tmp_path):
    export_c(bundle, tmp_path / "g")
    lib = cbuild.build_model_lib(tmp_path / "g", tmp_path / "build")
    assert lib.selftest() == 0
    rows = lib.layer_strings()
    graph = read_graph(bundle / "model.tflite")
    assert [r[1] for r in rows] == [op.op for op in graph.operators]
    assert rows[0] == ("conv2d_0", "CONV_2D", "ref")
    assert {r[2] for r in rows} == {"ref"}
    # nn_invoke with a counter: one tick per counter() call pair -> every layer reports exactly 1
    state = {"t": 0}

    @ctypes.CFUNCTYPE(ctypes.c_uint32)
    def counter():
        state["t"] += 1
        return state["t"]

    ticks = (ctypes.c_uint32 * len(rows))()
    model = ctypes.addressof(ctypes.c_uint8.in_dll(lib.lib, "edgekws_model"))
    lib.lib.nn_invoke.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    assert lib.lib.nn_invoke(model, ctypes.cast(counter, ctypes.c_void_p), ticks) == 0
    assert list(ticks) == [1] * len(rows)
    assert lib.lib.nn_invoke(model, None, None) == 0
    lib.lib.nn_layer_name.restype = ctypes.c_char_p
    assert lib.lib.nn_layer_name(ctypes.c_void_p(model), ctypes.c_uint32(len(rows))) is None


def test_arena_plan_never_overlaps_live_tensors(chain_tflite):
    graph = read_graph(chain_tflite)
    plan = plan_arena(graph)
    bufs = plan.buffers
    for i, a in enumerate(bufs):
        assert plan.offsets[a.key] % 16 == 0
        assert plan.offsets[a.key] + a.size <= plan.size
        for b in bufs[i + 1:]:
            if a.last < b.first or b.last < a.first:
                continue
            oa, ob = plan.offsets[a.key], plan.offsets[b.key]
            assert oa + a.size <= ob or ob + b.size <= oa, (a, b)
    # reshape output aliases its input
    for op in graph.operators:
        if op.op == "RESHAPE":
            assert plan.offsets[op.inputs[0]] == plan.offsets[op.outputs[0]]
    assert plan.size < sum(b.size for b in bufs)


def test_greedy_offsets_reuses_dead_memory():
    offs, total = greedy_offsets([Buffer(0, 100, 0, 0), Buffer(1, 100, 0, 1), Buffer(2, 100, 1, 2),
                                  Buffer(3, 50, 2, 3)], alignment=16)
    assert offs[1] != offs[0] and offs[2] != offs[1] and offs[3] != offs[2]
    assert total == 224  # two 100-byte slots (112 aligned) suffice


def test_generated_c_cross_compiles_for_cortex_m7(bundle, tmp_path, arm_gcc):
    del arm_gcc
    export_c(bundle, tmp_path / "g")
    srcs = [*cbuild.nn_sources(), *sorted((tmp_path / "g").glob("*.c"))]
    objs = cbuild.compile_arm_objects(srcs, tmp_path, [tmp_path / "g"])
    assert len(objs) == len(srcs)
    # and with the arena placed in a named section, as the board build does for DTCM
    proc = subprocess.run(["arm-none-eabi-gcc", *cbuild.ARM_FLAGS, f"-I{cbuild.INCLUDE}", f"-I{tmp_path / 'g'}",
                           '-DEDGEKWS_ARENA_SECTION=".dtcm_bss"', "-c", str(tmp_path / "g" / "edgekws_model.c"),
                           "-o", str(tmp_path / "m.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    sections = subprocess.run(["arm-none-eabi-objdump", "-h", str(tmp_path / "m.o")], capture_output=True,
                              text=True).stdout
    assert ".dtcm_bss" in sections


def test_sanitizers_clean_and_identical(bundle, tmp_path, host_cc):
    del host_cc
    export_c(bundle, tmp_path / "g")
    exe = cbuild.build_model_exe(tmp_path / "g", tmp_path / "asan", flags=(*cbuild.SANITIZE_FLAGS, "-std=c11",
                                                                            "-Wall", "-Wextra", "-Werror"))
    rng = np.random.default_rng(9)
    xs = rng.integers(-128, 128, size=(10, 490)).astype(np.int8)
    (tmp_path / "in.bin").write_bytes(xs.tobytes())
    proc = subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.frombuffer((tmp_path / "out.bin").read_bytes(), np.int8).reshape(10, -1)
    tm = TflmModel(bundle / "model.tflite")
    assert np.array_equal(got, np.stack([tm.run(x).reshape(-1) for x in xs]))


# ---- errors: one line, the right class ----

def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


def test_unsupported_op_is_one_line(tmp_path):
    b = TfliteBuilder()
    x = b.act((1, 8), 0.1, 0)
    y = b.act((1, 8), 1.0 / 128, 0)
    b.op("TANH", [x], [y])
    with pytest.raises(ModelError) as e:
        export_c(write_bundle(tmp_path / "b", b.build([x], [y]), 8), tmp_path / "o")
    assert "TANH" in _one_line(e)


def test_float_model_is_refused(tmp_path):
    b = TfliteBuilder()
    x = b._tensor((1, 4), 0, 0, None, None)
    y = b._tensor((1, 4), 0, 0, None, None)
    b.op("RELU", [x], [y])
    with pytest.raises(ModelError) as e:
        export_c(write_bundle(tmp_path / "b", b.build([x], [y]), 4), tmp_path / "o")
    assert "int8" in _one_line(e)


def test_label_count_mismatch(tmp_path, chain_tflite):
    with pytest.raises(BundleError) as e:
        export_c(write_bundle(tmp_path / "b", chain_tflite, 5), tmp_path / "o")
    assert "labels" in _one_line(e)


def test_missing_and_corrupt_files(tmp_path, chain_tflite):
    with pytest.raises(BundleError):
        export_c(tmp_path / "nope", tmp_path / "o")
    b = write_bundle(tmp_path / "b", chain_tflite, 12)
    (b / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError) as e:
        export_c(b, tmp_path / "o")
    _one_line(e)
    b = write_bundle(tmp_path / "c", b"garbage-bytes-not-a-model", 12)
    with pytest.raises(ModelError) as e:
        export_c(b, tmp_path / "o")
    _one_line(e)
    b = write_bundle(tmp_path / "d", chain_tflite, 12, schema_version=7)
    with pytest.raises(BundleError):
        export_c(b, tmp_path / "o")


def test_hash_mismatch_and_bad_backend(tmp_path, chain_tflite):
    b = write_bundle(tmp_path / "b", chain_tflite, 12, bundle_hash="0" * 64)
    with pytest.raises(BundleError) as e:
        export_c(b, tmp_path / "o")
    assert "bundle_hash" in _one_line(e)
    n = len(read_graph(chain_tflite).operators)
    layers = [{"backend": "ref"} for _ in range(n)]
    layers[0]["backend"] = "warp"
    b = write_bundle(tmp_path / "c", chain_tflite, 12, layers=layers)
    with pytest.raises(ModelError) as e:
        export_c(b, tmp_path / "o")
    assert "warp" in _one_line(e)
    b = write_bundle(tmp_path / "d", chain_tflite, 12, layers=layers[:2])
    with pytest.raises(BundleError):
        export_c(b, tmp_path / "o")


def test_too_big_is_refused(tmp_path, chain_tflite):
    b = write_bundle(tmp_path / "b", chain_tflite, 12)
    with pytest.raises(ModelError) as e:
        export_c(b, tmp_path / "o", ExportOptions(max_arena_bytes=1000))
    assert "arena" in _one_line(e)
    with pytest.raises(ModelError) as e:
        export_c(b, tmp_path / "o", ExportOptions(max_weights_bytes=100))
    assert "constants" in _one_line(e)
    with pytest.raises(ConfigError):
        export_c(b, tmp_path / "o", ExportOptions(selftest_count=0))


def test_unsupported_activation(tmp_path):
    rng = np.random.default_rng(0)
    b = TfliteBuilder()
    x = b.act((1, 4, 4, 2), 0.1, 0)
    w = b.const(rng.integers(-127, 128, (2, 1, 1, 2)).astype(np.int8), INT8, np.full(2, 0.01), np.zeros(2))
    y = b.act((1, 4, 4, 2), 0.1, 0)
    b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", padding=0, strideH=1, strideW=1, dilationHFactor=1,
         dilationWFactor=1, fusedActivationFunction=4)
    with pytest.raises(ModelError) as e:
        export_c(write_bundle(tmp_path / "b", b.build([x], [y]), 32), tmp_path / "o")
    assert "TANH" in _one_line(e)
    assert ACT["RELU"] == 1


def test_cli_export_c(tmp_path):
    rng = np.random.default_rng(1)
    b = write_bundle(tmp_path / "b", conv_model(rng, in_shape=(1, 4, 4, 2), out_c=2), 32)
    code = "from edgekws.cli import main; import sys; main(sys.argv[1:])"
    ok = subprocess.run([sys.executable, "-c", code, "export", "c", str(b), str(tmp_path / "o")],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "o" / "edgekws_model.h").is_file()
    bad = subprocess.run([sys.executable, "-c", code, "export", "c", str(tmp_path / "missing"), str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
    assert bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1
    assert json.loads(json.dumps(summarize_export(tmp_path / "o")))["layers"] == 1


# ---- other backends through the registry (edgekws.export.kernels): same entry points, identical outputs ----

def _backend_choices(tflite: bytes, pick: int) -> list[str]:
    from edgekws.export import kernels
    from edgekws.export.codegen_c import build_layers

    g = read_graph(tflite)
    rows = build_layers(g, ["ref"] * len(g.operators))
    out = []
    for r in rows:
        el = kernels.eligible_backends(r) if r.kernel is not None else ["ref"]
        el = [b for b in el if b in kernels.BACKENDS]  # in-tree kernels; cmsisnn: tests/test_nn_cmsisnn.py
        out.append(el[pick % len(el)])
    return out


@pytest.mark.parametrize("pick", [1, 2, 3, 4])
def test_mixed_backends_identical_and_planned(pick, tmp_path, chain_tflite):
    from test_nn_ops import check_identical

    backends = _backend_choices(chain_tflite, pick)
    assert set(backends) - {"ref"}
    assert check_identical(chain_tflite, tmp_path, None, n_inputs=8, per_layer=True, backends=backends) > 0
    src = (tmp_path / "gen" / "edgekws_model.c").read_text()
    for b in set(backends) - {"ref"}:
        assert f"_s8_{b}}}" in src
    info = summarize_export(tmp_path / "gen")
    assert set(info["backends"].split(",")) == set(backends)


def test_mixed_backends_cross_compile(tmp_path, chain_tflite, arm_gcc):
    del arm_gcc
    backends = _backend_choices(chain_tflite, 3)
    b = write_bundle(tmp_path / "b", chain_tflite, 12, layers=[{"backend": x} for x in backends])
    export_c(b, tmp_path / "g")
    srcs = [*cbuild.nn_sources(tuple(backends)), *sorted((tmp_path / "g").glob("*.c"))]
    assert len(cbuild.compile_arm_objects(srcs, tmp_path, [tmp_path / "g"])) == len(srcs)


def test_scratch_is_planned_inside_the_arena(tmp_path, chain_tflite):
    from edgekws.export.arena import scratch_key
    from edgekws.export.codegen_c import build_layers

    g = read_graph(chain_tflite)
    # the chain's convs take the simd 3x2 block (columns on the stack, no scratch); its FC takes 4*K4 bytes
    backends = ["simd" if op.op in ("CONV_2D", "FULLY_CONNECTED") else "ref" for op in g.operators]
    rows = build_layers(g, backends)
    scratch = {r.index: r.kernel.scratch_size for r in rows if r.kernel is not None and r.kernel.scratch_size}
    assert scratch
    plan = plan_arena(g, 16, scratch)
    for i, size in scratch.items():
        off = plan.offsets[scratch_key(i)]
        assert off + size <= plan.size
        op = g.operators[i]
        for t in (*op.inputs, *op.outputs):
            if t >= 0 and not g.tensors[t].is_const:
                to, tn = plan.offsets[t], g.tensors[t].nbytes
                assert off + size <= to or to + tn <= off


def test_sixteen_vectors_span_the_labels_and_random_ones_are_unsaturated():
    """The default model: 12 test-set clips, one per label (least saturated first), and 4 random inputs
    whose softmax is not pinned to its rails; every expected value is TFLite Micro's, layer by layer."""
    from edgekws.export.codegen_c import _unsaturated, selftest_vectors
    from edgekws.export.layer_check import LayerReference

    bundle = Path(__file__).resolve().parents[1] / "models" / "default"
    if not (bundle / "testset.npz").is_file():
        pytest.skip("models/default is not in this checkout")
    z = np.load(bundle / "testset.npz")
    tflite = (bundle / "model.tflite").read_bytes()
    v = selftest_vectors(tflite, z["x_int8"], 16, 0, (1, *z["x_int8"].shape[1:]), z["y"], 4)
    assert len(v.inputs) == 16 and len(v.sources) == 16
    real = [s for s in v.sources if s.startswith("testset[")]
    assert len(real) == 12 and {int(s.split("label ")[1]) for s in real} == set(range(12))
    assert all(s.startswith("random seed 0") and s.endswith("(unsaturated)") for s in v.sources[12:])
    assert all(_unsaturated(o) for o in v.outputs[12:])
    # per label the least saturated clip of the test set (the exporter used to embed the first clips as
    # they came, most of them pinned to the rails, where an output-only check sees little)
    from edgekws.export.codegen_c import _output_score

    m = TflmModel(tflite)
    scores = np.array([_output_score(m.run(x).reshape(-1)) for x in z["x_int8"]])
    for src, out in zip(v.sources[:12], v.outputs[:12], strict=True):
        label = int(src.split("label ")[1])
        assert _output_score(out) == scores[z["y"] == label].max(), src
    ref = LayerReference(tflite)
    for i in (0, 7, 15):
        want = ref.check(v.inputs[i])
        assert list(v.layer_crc[i]) == list(want.layer_crc) and np.array_equal(v.logits[i], want.logits)
        assert np.array_equal(v.outputs[i], want.output)
