"""The device's whole decision path on the host: C code vs the Python twin + TFLite Micro.

1. C detector + exported C model fed the int8 frames of a generated stream: posteriors equal
   TFLite Micro's, detections equal the host twin's.
2. The full chain a stream command runs (int16 LE chunks of odd sizes -> C hop assembler ->
   C frontend fe_push_hop -> C detector -> C model) equals ``run_stream`` on the same samples:
   the device side of the 60 s emulator equality check, minus the serial link and QEMU.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np
import pytest

from cbuild import FIRMWARE, compile_shared, model_backends, nn_sources
from edgekws.audio import float_to_pcm16, pcm16_to_float
from edgekws.frontend import FrontendConfig
from edgekws.stream import (
    StreamConfig,
    StreamSpec,
    generate_stream,
    open_session,
    pack_config,
    run_stream,
    unpack_events,
)
from edgekws.stream.wire import EVENT_WIRE_SIZE
from stream_fixtures import make_tone_dataset, tone_bundle
from test_stream_c import STREAM_SOURCES

pytestmark = pytest.mark.slow
FRONTEND_SOURCES = sorted((FIRMWARE / "src" / "frontend").glob("*.c"))

HARNESS = r"""
#include <string.h>
#include "edgekws/stream.h"
#include "edgekws/nn.h"
#include "edgekws_model.h"

static stream_t st;
static stream_nn_t nn;

/* events written (>= 0), or a negative error; outs receives every model output */
int harness_stream(const uint8_t *cfgbuf, uint32_t len, const int8_t *frames, uint32_t n, uint8_t *events,
                   uint32_t max_events, int8_t *outs, uint32_t max_outs, uint32_t *n_outs)
{
    stream_config_t cfg;
    if (stream_config_decode(&cfg, cfgbuf, len) != STREAM_OK || stream_init(&st, &cfg) != STREAM_OK) {
        return -100;
    }
    if (stream_nn_init(&nn, &edgekws_model, &cfg, NULL) != STREAM_OK) {
        return -101;
    }
    uint32_t n_ev = 0;
    *n_outs = 0;
    for (uint32_t t = 0; t < n; ++t) {
        stream_event_t ev;
        const int rc = stream_push_frame(&st, frames + t * cfg.num_features, stream_nn_infer, &nn, &ev);
        if (rc < 0) {
            return rc;
        }
        if (st.ran_inference && *n_outs < max_outs) {
            memcpy(outs + *n_outs * cfg.num_classes, st.last_output, cfg.num_classes);
            (*n_outs)++;
        }
        if (rc == STREAM_EVENT && n_ev < max_events) {
            stream_event_encode(&ev, events + n_ev * STREAM_EVENT_WIRE_SIZE);
            n_ev++;
        }
    }
    return (int)n_ev;
}
"""
DEVICE_HARNESS = r"""
#include <string.h>
#include "edgekws/frontend.h"
#include "edgekws/stream.h"
#include "edgekws/nn.h"
#include "edgekws_model.h"

static stream_t st;
static stream_nn_t nn;
static stream_hops_t hops;
static fe_state_t fe;

/* What the device's stream commands do: int16 LE chunks of any size -> hops -> fe_push_hop ->
 * stream_push_frame with the exported model. Returns events written or a negative error. */
int harness_device(const uint8_t *cfgbuf, uint32_t len, const uint8_t *pcm, const uint32_t *chunks,
                   uint32_t n_chunks, uint8_t *events, uint32_t max_events, uint32_t *n_frames)
{
    stream_config_t cfg;
    if (stream_config_decode(&cfg, cfgbuf, len) != STREAM_OK || stream_init(&st, &cfg) != STREAM_OK ||
        cfg.hop_samples != FE_HOP_LENGTH || cfg.num_features != FE_NUM_FEATURES ||
        stream_nn_init(&nn, &edgekws_model, &cfg, NULL) != STREAM_OK ||
        stream_hops_init(&hops, cfg.hop_samples) != STREAM_OK) {
        return -100;
    }
    fe_init(&fe);
    uint32_t n_ev = 0;
    *n_frames = 0;
    for (uint32_t c = 0; c < n_chunks; ++c) {
        uint32_t left = chunks[c];
        while (left > 0u) {
            int ready = 0;
            const uint32_t used = stream_hops_feed_le16(&hops, pcm, left, &ready);
            if (used == 0u) {
                return -101;
            }
            pcm += used;
            left -= used;
            int8_t frame[FE_NUM_FEATURES];
            if (!ready || fe_push_hop(&fe, hops.buf, frame) != FE_FRAME_READY) {
                continue;
            }
            (*n_frames)++;
            stream_event_t ev;
            const int rc = stream_push_frame(&st, frame, stream_nn_infer, &nn, &ev);
            if (rc < 0) {
                return rc;
            }
            if (rc == STREAM_EVENT && n_ev < max_events) {
                stream_event_encode(&ev, events + n_ev * STREAM_EVENT_WIRE_SIZE);
                n_ev++;
            }
        }
    }
    return (int)n_ev;
}
"""
P = ctypes.c_void_p


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone_bundle(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def device_lib(bundle: Path, host_cc: str, tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    from edgekws.export.codegen_c import export_c

    work = tmp_path_factory.mktemp("stream_model_c")
    gen = work / "model_c"
    export_c(bundle, gen)
    (work / "harness.c").write_text(HARNESS)
    srcs = [*nn_sources(model_backends(gen)), *sorted(gen.glob("*.c")), *STREAM_SOURCES, work / "harness.c"]
    lib = ctypes.CDLL(str(compile_shared(srcs, work / "libstreamdev.so", [gen])))
    lib.harness_stream.restype = ctypes.c_int
    lib.harness_stream.argtypes = [P, ctypes.c_uint32, P, ctypes.c_uint32, P, ctypes.c_uint32, P, ctypes.c_uint32, P]
    return lib


@pytest.fixture(scope="module")
def full_device_lib(bundle: Path, host_cc: str, tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """Exported model + frontend tables + nn runner + C frontend + streaming core, built for the host."""
    from edgekws.export.codegen_c import export_c
    from edgekws.frontend import FrontendConfig
    from edgekws.frontend.ctables import write_frontend_c

    meta = json.loads((bundle / "bundle.json").read_text())
    work = tmp_path_factory.mktemp("stream_device_c")
    gen = work / "model_c"
    export_c(bundle, gen)
    if not (gen / "edgekws_frontend_tables.h").is_file():  # until the exporter writes them
        write_frontend_c(gen, FrontendConfig.from_dict(meta["frontend"]), meta["input_norm"],
                         meta["input"]["scale"], meta["input"]["zero_point"])
    (work / "harness.c").write_text(DEVICE_HARNESS)
    srcs = [*nn_sources(model_backends(gen)), *sorted(gen.glob("*.c")), *FRONTEND_SOURCES, *STREAM_SOURCES,
            work / "harness.c"]
    lib = ctypes.CDLL(str(compile_shared(srcs, work / "libstreamfull.so", [gen, FIRMWARE / "src" / "frontend"])))
    lib.harness_device.restype = ctypes.c_int
    lib.harness_device.argtypes = [P, ctypes.c_uint32, P, P, ctypes.c_uint32, P, ctypes.c_uint32, P]
    return lib


def test_full_device_chain_audio_in_equals_host_streaming_mode(full_device_lib: ctypes.CDLL, bundle: Path,
                                                               tmp_path: Path) -> None:
    """int16 audio in odd-sized chunks through the C hop assembler, C frontend, C detector and C model:
    the detections equal ``run_stream`` (device-exact features, TFLite Micro) on the same samples."""
    root = make_tone_dataset(tmp_path / "data", per_word=5, seed=12)
    audio = generate_stream(root, StreamSpec(duration_s=30, seed=9, keywords=("yes", "no", "up")), split=None).audio
    pcm = float_to_pcm16(audio)
    cfg = StreamConfig()
    want = run_stream(pcm16_to_float(pcm), bundle, cfg)
    rng = np.random.default_rng(0)
    raw = pcm.astype("<i2").tobytes()
    sizes, left = [], len(raw)
    while left:
        sizes.append(min(left, 2 * int(rng.integers(1, 500))))
        left -= sizes[-1]
    chunks = np.array(sizes, np.uint32)
    cfgb = pack_config(open_session(bundle, cfg).params)
    events = np.zeros(1024 * EVENT_WIRE_SIZE, np.uint8)
    n_frames = ctypes.c_uint32()
    rc = full_device_lib.harness_device(cfgb, len(cfgb), raw, chunks.ctypes.data_as(P), len(chunks),
                                        events.ctypes.data_as(P), 1024, ctypes.byref(n_frames))
    assert rc >= 0, rc
    assert n_frames.value == FrontendConfig().num_frames(len(pcm))
    got = unpack_events(events[: rc * EVENT_WIRE_SIZE].tobytes(), open_session(bundle, cfg).labels)
    assert len(want) >= 8
    assert got == want


@pytest.mark.parametrize("cfg", [StreamConfig(k_hops=2, smooth_window=4, threshold=0.55),
                                 StreamConfig(k_hops=1, smooth_window=8, threshold=0.4, refractory_ms=600)])
def test_c_device_path_equals_host_twin(device_lib: ctypes.CDLL, bundle: Path, tmp_path: Path,
                                        cfg: StreamConfig) -> None:
    root = make_tone_dataset(tmp_path / "data", per_word=5, seed=11)
    audio = generate_stream(root, StreamSpec(duration_s=25, seed=2, keywords=("yes", "no", "up")), split=None).audio
    session = open_session(bundle, cfg)
    frames = session.features.push(audio)
    outputs: list[np.ndarray] = []

    def infer(window: np.ndarray) -> np.ndarray:
        outputs.append(session.infer(window))
        return outputs[-1]

    want = session.detector.run(frames, infer)
    p = session.params
    cfgb = pack_config(p)
    fr = np.ascontiguousarray(frames, np.int8)
    events = np.zeros(1024 * EVENT_WIRE_SIZE, np.uint8)
    outs = np.zeros((len(frames), p.num_classes), np.int8)
    n_outs = ctypes.c_uint32()
    rc = device_lib.harness_stream(cfgb, len(cfgb), fr.ctypes.data_as(P), len(fr), events.ctypes.data_as(P), 1024,
                                   outs.ctypes.data_as(P), len(frames), ctypes.byref(n_outs))
    assert rc >= 0, rc
    np.testing.assert_array_equal(outs[: n_outs.value], np.array(outputs))
    got = unpack_events(events[: rc * EVENT_WIRE_SIZE].tobytes(), session.labels)
    assert got == want
    assert len(want) >= 5
