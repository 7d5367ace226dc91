"""Streaming-incremental inference (firmware/src/nn/stream_runner.c) vs TFLite Micro on the full window.

A DS-CNN-S valid in time (the ds-cnn-s-stream recipe's layers, He-initialised, int8) is exported,
its streaming schedule and the runner are built for the host, and a random int8 frame stream is
classified every k_hops frames: after EVERY classification the int8 outputs must equal TFLite
Micro's Python interpreter run on the full window (bit-identity), on the ref kernels and on the
simd ones. The same through the device's callback (stream.c + stream_nn.c in incremental mode)
against the full-window mode, and the plan refuses what cannot stream.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np
import pytest

from cbuild import FIRMWARE, compile_shared, model_backends, nn_sources
from edgekws.errors import ModelError

#: the stream bundle's input: 49 frames of the default model's 10-feature frontend (1 s of audio), so its
#: first conv leaves one frame over (phase 1); its output rows go 20 -> 18 -> 16 -> 14 -> 12
WINDOW, FEATURES, CLASSES = 49, 10, 12
P = ctypes.c_void_p
STREAM_SOURCES = sorted((FIRMWARE / "src" / "stream").glob("*.c"))

HARNESS = r"""
#include <string.h>
#include "edgekws/stream.h"
#include "edgekws_model.h"

static nn_stream_t st;
static stream_t det;
static stream_nn_t snn;

int h_init(void) { return nn_stream_init(&st, &edgekws_stream_model); }
int h_run(const int8_t *window, uint32_t n_new, int8_t *out) { return nn_stream_run(&st, window, n_new, out, NULL, NULL); }
uint32_t h_primes(void) { return st.primes; }

/* stream.c + stream_nn.c on n frames: every model output, full-window (incremental 0) or incremental mode */
int h_stream(int incremental, uint16_t k_hops, const int8_t *frames, uint32_t n, int8_t *outs, uint32_t *n_outs)
{
    const stream_config_t cfg = {.num_frames = EDGEKWS_INPUT_FRAMES, .num_features = EDGEKWS_INPUT_FEATURES,
                                 .num_classes = EDGEKWS_OUTPUT_SIZE, .k_hops = k_hops, .smooth_window = 1,
                                 .hop_samples = 320, .win_samples = 480, .sample_rate = 16000,
                                 .threshold = 1 << 30, .refractory_hops = 0, .ignore_mask = 0,
                                 .out_zero_point = EDGEKWS_OUTPUT_ZERO_POINT};
    if (stream_init(&det, &cfg) != STREAM_OK) {
        return -100;
    }
    const int rc0 = incremental ? stream_nn_init_incremental(&snn, &edgekws_stream_model, &cfg, NULL)
                                : stream_nn_init(&snn, &edgekws_model, &cfg, NULL);
    if (rc0 != STREAM_OK) {
        return -101;
    }
    *n_outs = 0;
    for (uint32_t t = 0; t < n; ++t) {
        stream_event_t ev;
        const int rc = stream_push_frame(&det, frames + t * cfg.num_features, stream_nn_infer, &snn, &ev);
        if (rc < 0) {
            return rc;
        }
        if (det.ran_inference) {
            memcpy(outs + *n_outs * cfg.num_classes, det.last_output, cfg.num_classes);
            (*n_outs)++;
        }
    }
    return 0;
}
"""


def _he_init(model, seed: int = 0) -> None:
    """Seeded He-normal kernels so an untrained deep stack keeps its activation scale (see test_nn_models)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws and ws[0].ndim == 4:
            k = ws[0]
            fan_in = k.shape[0] * k.shape[1] * (1 if "depthwise" in type(layer).__name__.lower() else k.shape[2])
            layer.set_weights([rng.standard_normal(k.shape).astype(np.float32) * np.sqrt(2.0 / fan_in), *ws[1:]])


def write_stream_bundle(path: Path, tflite: bytes, backend: str = "ref") -> Path:
    """A minimal bundle; backend "simd": every layer the simd backend takes runs on it, the rest on ref."""
    from edgekws.export import kernels
    from edgekws.export.codegen_c import build_layers
    from edgekws.export.tflite_graph import read_graph

    path.mkdir(parents=True, exist_ok=True)
    (path / "model.tflite").write_bytes(tflite)
    meta: dict = {"schema_version": 1, "name": "stream_test", "labels": [f"l{i}" for i in range(CLASSES)]}
    if backend != "ref":
        rows = build_layers(read_graph(tflite), ["ref"] * len(read_graph(tflite).operators))
        meta["layers"] = [{"backend": backend if backend in kernels.eligible_backends(r) else "ref"} for r in rows]
    (path / "bundle.json").write_text(json.dumps(meta))
    return path


def build_stream_lib(bundle: Path, work: Path) -> ctypes.CDLL:
    from edgekws.export.codegen_c import export_c

    gen = work / "gen"
    export_c(bundle, gen)
    (work / "harness.c").write_text(HARNESS)
    srcs = [*nn_sources(model_backends(gen)), *sorted(gen.glob("*.c")), *STREAM_SOURCES, work / "harness.c"]
    lib = ctypes.CDLL(str(compile_shared(srcs, work / "libstreaminc.so", [gen])))
    lib.h_run.argtypes = [P, ctypes.c_uint32, P]
    lib.h_primes.restype = ctypes.c_uint32
    lib.h_stream.argtypes = [ctypes.c_int, ctypes.c_uint16, P, ctypes.c_uint32, P, P]
    assert lib.h_init() == 0
    return lib


def stream_bundle(base: Path) -> Path:
    """The dscnn_stream_bundle under ``base`` (pytest's session temp dir), built once per session."""
    out = base / "dscnn_stream_bundle"
    if not (out / "bundle.json").is_file():
        dscnn_stream_bundle(out)
    return out


@pytest.fixture(scope="module")
def tflite(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return (stream_bundle(tmp_path_factory.getbasetemp()) / "model.tflite").read_bytes()


@pytest.fixture(scope="module", params=["ref", "simd"])
def lib(request: pytest.FixtureRequest, tflite: bytes, host_cc: str,
        tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    work = tmp_path_factory.mktemp(f"stream_inc_{request.param}")
    lib = build_stream_lib(write_stream_bundle(work / "bundle", tflite, request.param), work)
    lib.bundle = stream_bundle(tmp_path_factory.getbasetemp())  # its frontend makes the test frames
    return lib


def _frames(n: int, seed: int, bundle: Path) -> np.ndarray:
    """n int8 feature frames as the device computes them, of tone words at random levels in noise (uniform
    random int8 frames pin this model's softmax to one class, which would hide most differences)."""
    from edgekws.stream import open_session
    from stream_fixtures import WORD_HZ, tone_clip

    rng = np.random.default_rng(seed)
    clips = [tone_clip(w, rng) * rng.uniform(0.05, 1.5) for w in rng.choice(list(WORD_HZ), n // 50 + 2)]
    frames = open_session(bundle).features.push(np.concatenate(clips))
    assert len(frames) >= n
    return np.ascontiguousarray(frames[:n], np.int8)


@pytest.mark.slow
def test_every_classification_equals_tflm_on_the_full_window(lib: ctypes.CDLL, tflite: bytes) -> None:
    from edgekws.tflm import TflmModel

    tm = TflmModel(tflite)
    k = 2
    frames = _frames(WINDOW + 30 * k, 1, lib.bundle)
    assert lib.h_init() == 0
    outs = []
    for t in range(31):
        window = np.ascontiguousarray(frames[t * k: t * k + WINDOW])
        out = np.zeros(CLASSES, np.int8)
        assert lib.h_run(window.ctypes.data_as(P), k, out.ctypes.data_as(P)) == 0
        want = tm.run(window.reshape(1, WINDOW, FEATURES, 1)).reshape(-1)
        assert np.array_equal(out, want), f"classification {t}: {out} vs TFLM {want}"
        outs.append(out)
    assert lib.h_primes() == 1  # only the first call computed the whole window
    assert len({o.tobytes() for o in outs}) >= 5  # the outputs do move with the window


@pytest.mark.slow
def test_a_larger_or_too_large_step_is_still_identical(lib: ctypes.CDLL, tflite: bytes) -> None:
    """k_hops 4 and 6 stay incremental; a jump of 42 frames is more than the kept rows reach (primes
    again); an odd step is refused (the window would not move by whole rows)."""
    from edgekws.tflm import TflmModel

    tm = TflmModel(tflite)
    frames = _frames(WINDOW + 200, 2, lib.bundle)
    assert lib.h_init() == 0
    start, out = 0, np.zeros(CLASSES, np.int8)
    for step in (0, 4, 6, 4, 42, 2, 2):
        start += step
        window = np.ascontiguousarray(frames[start: start + WINDOW])
        assert lib.h_run(window.ctypes.data_as(P), step, out.ctypes.data_as(P)) == 0
        assert np.array_equal(out, tm.run(window.reshape(1, WINDOW, FEATURES, 1)).reshape(-1)), step
    assert lib.h_primes() == 2
    window = np.ascontiguousarray(frames[start + 3: start + 3 + WINDOW])
    assert lib.h_run(window.ctypes.data_as(P), 3, out.ctypes.data_as(P)) != 0


@pytest.mark.slow
def test_stream_callback_incremental_equals_full_window_mode(lib: ctypes.CDLL) -> None:
    frames = _frames(WINDOW + 120, 3, lib.bundle)
    got = {}
    for mode in (0, 1):
        outs = np.zeros((len(frames), CLASSES), np.int8)
        n = ctypes.c_uint32()
        assert lib.h_stream(mode, 2, frames.ctypes.data_as(P), len(frames), outs.ctypes.data_as(P),
                            ctypes.byref(n)) == 0
        got[mode] = outs[: n.value]
    assert len(got[1]) == 61  # (49 + 120 - 49) / 2 + 1
    np.testing.assert_array_equal(got[1], got[0])
    n = ctypes.c_uint32()
    assert lib.h_stream(1, 3, frames.ctypes.data_as(P), len(frames), got[0].ctypes.data_as(P), ctypes.byref(n)) == -101


@pytest.mark.slow
def test_plan_of_the_stream_model(tflite: bytes) -> None:
    from edgekws.export.codegen_c import build_layers
    from edgekws.export.stream_plan import check_k_hops, plan_stream
    from edgekws.export.tflite_graph import read_graph

    g = read_graph(tflite)
    plan = plan_stream(build_layers(g, ["ref"] * len(g.operators)))
    assert [(s.op, s.rows, s.stride, s.out_rows, s.phase) for s in plan.stages] == [("CONV_2D", 10, 2, 20, 1)] + [
        (op, rows, 1, r, 0) for r in (18, 16, 14, 12) for op, rows in (("DEPTHWISE_CONV_2D", 3), ("CONV_2D", 1))]
    assert (plan.time_stride, plan.pool_rows, plan.max_new_rows()) == (2, 12, 40)
    check_k_hops(plan, 2)
    with pytest.raises(ModelError, match="multiple of the model's time stride 2"):
        check_k_hops(plan, 3)


@pytest.mark.slow
def test_same_in_time_is_refused_in_one_line(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The tone model (SAME in time: conv 5x3 stride 2 on 49 rows pads 2 above and 2 below) cannot stream;
    neither can a k_hops that is not a multiple of the time stride (test_plan_of_the_stream_model)."""
    from edgekws.export.codegen_c import build_layers
    from edgekws.export.stream_plan import plan_stream, stream_reason
    from edgekws.export.tflite_graph import read_graph
    from stream_fixtures import tone_bundle

    g = read_graph(tone_bundle(tmp_path_factory.getbasetemp()) / "model.tflite")
    layers = build_layers(g, ["ref"] * len(g.operators))
    with pytest.raises(ModelError, match=r"layer 0 \(.*\) pads in time \(top 2, bottom 2\)"):
        plan_stream(layers)
    assert "\n" not in stream_reason(layers)


def dscnn_stream_bundle(out: Path, backend: str = "simd", seed: int = 0) -> Path:
    """A device-streamable bundle: the ds-cnn-s-stream network (He-initialised, int8, calibrated on the
    default model's frontend features of noise and tone clips) with that frontend and input_norm, the
    simd kernels where they apply. Its outputs are not trained, but every output is compared, not detections."""
    import dataclasses

    from edgekws.compress.quantize import quantize_int8, to_float_tflite
    from edgekws.export import kernels
    from edgekws.export.bundle import write_bundle
    from edgekws.export.codegen_c import build_layers
    from edgekws.export.tflite_graph import layer_summary, read_graph
    from edgekws.frontend import FrontendConfig, compute_features
    from edgekws.train.models import build_model
    from edgekws.train.recipe import load_recipe
    from stream_fixtures import tone_clip

    default = json.loads((Path(__file__).resolve().parents[1] / "models" / "default" / "bundle.json").read_text())
    fe = FrontendConfig.from_dict(default["frontend"])
    norm = default["input_norm"]
    rng = np.random.default_rng(seed)
    clips = [tone_clip(w, rng) * rng.uniform(0.1, 1.5) for w in ("yes", "no", "up", "cat") for _ in range(4)]
    feats = compute_features(np.stack(clips), fe)
    x = ((feats - np.array(norm["mean"])) / np.array(norm["std"])).astype(np.float32)[..., None]
    spec = dataclasses.replace(load_recipe("ds-cnn-s-stream").model, dropout=0.0)
    model = build_model(spec, (x.shape[1], x.shape[2]), CLASSES)
    _he_init(model, seed)
    # the dense layer scaled so its logits spread by about one unit on these inputs: an untrained net's
    # softmax is otherwise pinned to one class for every window, which would hide most differences
    import tf_keras as keras

    pooled = keras.Model(model.input, model.get_layer("flatten").output)(x).numpy()
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][-1]
    k, b = dense.get_weights()
    k = rng.standard_normal(k.shape).astype(np.float32) / (np.sqrt(k.shape[0]) * (pooled.std(axis=0).mean() + 1e-6))
    dense.set_weights([k, np.zeros_like(b)])
    tfl = quantize_int8(model, x)
    g = read_graph(tfl)
    rows = build_layers(g, ["ref"] * len(g.operators))
    layers = layer_summary(tfl)
    for lay, row in zip(layers, rows, strict=True):
        lay["backend"] = backend if backend in kernels.eligible_backends(row) else "ref"
    write_bundle(out, name="dscnn_stream_test", labels=["_silence_", "_unknown_", *[f"w{i}" for i in range(10)]],
                 frontend=fe.to_dict(), frontend_hash=fe.hash(), input_norm=norm, tflite_int8=tfl,
                 tflite_float=to_float_tflite(model), report={}, compression={}, recipe={"name": "ds-cnn-s-stream"},
                 layers=layers)
    return out


def test_audio_reply_with_outputs_is_length_checked() -> None:
    """STREAM_AUDIO replies carry n_outputs x num_classes int8 after the events; a reply whose length
    does not match what its header announces is one DeviceError."""
    import struct

    from edgekws.errors import DeviceError
    from edgekws.stream.device import unpack_audio_reply

    outs = np.arange(-6, 6, dtype=np.int8).reshape(2, 6)
    ev = struct.pack("<IIHHi", 1000, 49, 2, 0, 300)
    body = struct.pack("<IIIIHH", 60, 6, 1, 2, 1, 2) + ev + outs.tobytes()
    r = unpack_audio_reply(body, None, 6)
    np.testing.assert_array_equal(r.outputs, outs)
    assert [d.hop for d in r.detections] == [49]
    with pytest.raises(DeviceError, match="2 outputs"):
        unpack_audio_reply(body[:-1], None, 6)
    with pytest.raises(DeviceError, match="no class count"):
        unpack_audio_reply(body, None, 0)


def test_selftest_report_streaming_step_is_parsed() -> None:
    """The self-test of a streamable image prints one incremental step per layer and a summary line."""
    from edgekws.device.emulator import parse_selftest

    text = ("selftest begin model=m board=mps2_an500 unit=instructions vectors=1 layers=2 check=layers\r\n"
            "stream layer 0 CONV_2D simd instructions=17993 name=conv2d_0\r\n"
            "stream layer 1 SOFTMAX ref instructions=2867 name=softmax_0\r\n"
            "stream step rows=2 instructions=239310 arena_bytes=13152 full_arena_bytes=12288 result=pass\r\n"
            "selftest result pass vectors=1 mismatches=0 layer_mismatches=0 instructions=5\r\n")
    r = parse_selftest(text)
    assert [(x["index"], x["op"], x["count"]) for x in r["stream_layers"]] == [(0, "CONV_2D", 17993),
                                                                               (1, "SOFTMAX", 2867)]
    assert r["stream_step"] == {"rows": 2, "count": 239310, "arena_bytes": 13152, "full_arena_bytes": 12288,
                                "result": "pass"}
    assert r["layers"] == [] and r["count"] == 5
