"""The C streaming core (firmware/src/stream, host gcc, -Werror) against its Python twin.

Both are fed the same int8 frames and the same posteriors (replayed sequences,
or a small integer "model" computed from the window so the frame ring's order
is checked too) and must report identical detections: same frame, same
millisecond, same class, same score.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

from cbuild import FIRMWARE, STRICT_FLAGS, compile_arm_objects, compile_shared
from edgekws.stream import DetectorParams, StreamConfig, StreamDetector, pack_config, unpack_events
from edgekws.stream.wire import EVENT_WIRE_SIZE

STREAM_SOURCES = sorted((FIRMWARE / "src" / "stream").glob("*.c"))
#: the detector core without the model binding (stream_nn.c needs the nn runner)
CORE_SOURCES = [p for p in STREAM_SOURCES if p.name != "stream_nn.c"]

HARNESS = r"""
#include <string.h>
#include "edgekws/stream.h"

typedef struct {
    int mode;                /* 0: replay posteriors, 1: toy model of the window, 2: fail at call fail_at */
    const int8_t *posts;
    uint32_t n_posts, idx, fail_at;
    uint32_t classes, frames, feats;
    int8_t *outputs;         /* every output produced, in order */
    uint32_t max_outputs, n_outputs;
} ctx_t;

static int infer(void *vctx, const int8_t *window, int8_t *out)
{
    ctx_t *c = (ctx_t *)vctx;
    if (c->mode == 2 && c->idx == c->fail_at) {
        c->idx++;
        return 7;
    }
    if (c->mode == 0 || c->mode == 2) {
        if (c->idx >= c->n_posts) {
            return 1;
        }
        memcpy(out, c->posts + c->idx * c->classes, c->classes);
    } else {
        for (uint32_t k = 0; k < c->classes; ++k) {
            int32_t acc = 0;
            for (uint32_t i = 0; i < c->frames * c->feats; ++i) {
                acc += (int32_t)window[i] * (int32_t)((int32_t)((i * 7u + k * 13u) % 5u) - 2);
            }
            acc = acc / 16;
            out[k] = (int8_t)(acc < -128 ? -128 : (acc > 127 ? 127 : acc));
        }
    }
    c->idx++;
    if (c->n_outputs < c->max_outputs) {
        memcpy(c->outputs + c->n_outputs * c->classes, out, c->classes);
        c->n_outputs++;
    }
    return 0;
}

/* returns the number of events (>= 0) or a negative stream error; *stop = frames consumed */
int harness_run(const uint8_t *cfgbuf, uint32_t cfg_len, const int8_t *frames, uint32_t n_frames, int mode,
                const int8_t *posts, uint32_t n_posts, uint32_t fail_at, uint8_t *events, uint32_t max_events,
                int8_t *outputs, uint32_t max_outputs, uint32_t *n_outputs)
{
    static stream_t st; /* large: keep it off the stack like the firmware does */
    stream_config_t cfg;
    if (stream_config_decode(&cfg, cfgbuf, cfg_len) != STREAM_OK) {
        return -100;
    }
    int rc = stream_init(&st, &cfg);
    if (rc != STREAM_OK) {
        return rc;
    }
    ctx_t ctx = {mode, posts, n_posts, 0u, fail_at, cfg.num_classes, cfg.num_frames, cfg.num_features,
                 outputs, max_outputs, 0u};
    uint32_t n_ev = 0;
    for (uint32_t t = 0; t < n_frames; ++t) {
        stream_event_t ev;
        rc = stream_push_frame(&st, frames + t * cfg.num_features, infer, &ctx, &ev);
        if (rc < 0) {
            *n_outputs = ctx.n_outputs;
            return rc * 1000 - (int)t;  /* error code and frame index */
        }
        if (rc == STREAM_EVENT && n_ev < max_events) {
            stream_event_encode(&ev, events + n_ev * STREAM_EVENT_WIRE_SIZE);
            n_ev++;
        }
    }
    *n_outputs = ctx.n_outputs;
    return (int)n_ev;
}

uint32_t harness_hops(const uint8_t *bytes, const uint32_t *chunks, uint32_t n_chunks, uint16_t hop,
                      int16_t *out, uint32_t max_hops)
{
    static stream_hops_t h;
    if (stream_hops_init(&h, hop) != STREAM_OK) {
        return 0xFFFFFFFFu;
    }
    uint32_t n_hops = 0;
    for (uint32_t c = 0; c < n_chunks; ++c) {
        uint32_t left = chunks[c];
        while (left > 0u) {
            int ready = 0;
            const uint32_t used = stream_hops_feed_le16(&h, bytes, left, &ready);
            if (used == 0u) {
                return 0xFFFFFFFEu;
            }
            bytes += used;
            left -= used;
            if (ready && n_hops < max_hops) {
                memcpy(out + n_hops * hop, h.buf, hop * sizeof(int16_t));
                n_hops++;
            }
        }
    }
    return n_hops;
}

uint32_t harness_time_ms(const uint8_t *cfgbuf, uint32_t hop)
{
    stream_config_t cfg;
    if (stream_config_decode(&cfg, cfgbuf, STREAM_CONFIG_WIRE_SIZE) != STREAM_OK) {
        return 0xFFFFFFFFu;
    }
    return stream_time_ms(&cfg, hop);
}

uint32_t harness_sizeof_stream(void) { return (uint32_t)sizeof(stream_t); }
"""

LABELS = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
P = ctypes.c_void_p


UBSAN_FLAGS = ("-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-fsanitize=undefined",
               "-fno-sanitize-recover=all")


@pytest.fixture(scope="module", params=["O2", "ubsan"])
def lib(request: pytest.FixtureRequest, host_cc: str, tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """The core built twice: release flags, and with UndefinedBehaviorSanitizer (aborts on any UB)."""
    work = tmp_path_factory.mktemp(f"stream_c_{request.param}")
    harness = work / "harness.c"
    harness.write_text(HARNESS)
    flags = UBSAN_FLAGS if request.param == "ubsan" else STRICT_FLAGS
    so = compile_shared([*CORE_SOURCES, harness], work / "libstream.so", flags=flags)
    lib = ctypes.CDLL(str(so))
    lib.harness_run.restype = ctypes.c_int
    lib.harness_run.argtypes = [P, ctypes.c_uint32, P, ctypes.c_uint32, ctypes.c_int, P, ctypes.c_uint32,
                                ctypes.c_uint32, P, ctypes.c_uint32, P, ctypes.c_uint32, P]
    lib.harness_hops.restype = ctypes.c_uint32
    lib.harness_hops.argtypes = [P, P, ctypes.c_uint32, ctypes.c_uint16, P, ctypes.c_uint32]
    lib.harness_time_ms.restype = ctypes.c_uint32
    lib.harness_time_ms.argtypes = [P, ctypes.c_uint32]
    return lib


def _ptr(a: np.ndarray | bytes) -> ctypes.c_void_p:
    if isinstance(a, bytes):
        return ctypes.cast(ctypes.c_char_p(a), ctypes.c_void_p)
    return a.ctypes.data_as(ctypes.c_void_p)


def run_c(lib: ctypes.CDLL, params: DetectorParams, frames: np.ndarray, *, mode: int = 0,
          posts: np.ndarray | None = None, fail_at: int = 0xFFFFFFFF) -> tuple[int, list, np.ndarray]:
    """(return code, detections, outputs) of the C core."""
    cfg = pack_config(params)
    frames = np.ascontiguousarray(frames, np.int8)
    posts_a = np.ascontiguousarray(posts if posts is not None else np.zeros((1, params.num_classes)), np.int8)
    max_ev = 4096
    events = np.zeros(max_ev * EVENT_WIRE_SIZE, np.uint8)
    max_out = len(frames) + 1
    outputs = np.zeros((max_out, params.num_classes), np.int8)
    n_out = ctypes.c_uint32(0)
    rc = lib.harness_run(_ptr(cfg), len(cfg), _ptr(frames), len(frames), mode, _ptr(posts_a), len(posts_a),
                         fail_at, _ptr(events), max_ev, _ptr(outputs), max_out, ctypes.byref(n_out))
    n = max(rc, 0)
    return rc, unpack_events(events[: n * EVENT_WIRE_SIZE].tobytes(), LABELS[: params.num_classes]), \
        outputs[: n_out.value]


def toy_model(window: np.ndarray, classes: int) -> np.ndarray:
    """Python twin of the harness's integer toy model (C division truncates toward zero)."""
    flat = window.reshape(-1).astype(np.int64)
    i = np.arange(flat.size)
    out = []
    for k in range(classes):
        acc = int(np.sum(flat * (((i * 7 + k * 13) % 5) - 2)))
        acc = int(acc / 16) if acc >= 0 else -int(-acc // 16)
        out.append(min(127, max(-128, acc)))
    return np.array(out, np.int8)


def replay(posts: np.ndarray):
    it = iter(posts)
    return lambda window: next(it)


def params_for(cfg: StreamConfig, *, frames: int = 49, feats: int = 10, labels: list[str] = LABELS,
               scale: float = 1 / 256, zp: int = -128) -> DetectorParams:
    return DetectorParams.derive(cfg, labels=labels, num_frames=frames, num_features=feats, out_scale=scale,
                                 out_zero_point=zp, hop_samples=320, win_samples=640, sample_rate=16000)


def n_inferences(p: DetectorParams, n_frames: int) -> int:
    return 0 if n_frames < p.num_frames else (n_frames - p.num_frames) // p.k_hops + 1


def random_posteriors(rng: np.random.Generator, n: int, classes: int) -> np.ndarray:
    """Softmax-like int8 outputs with bursts where one keyword dominates (so detections happen)."""
    post = np.full((n, classes), -128, np.int8)
    post[:, 0] = rng.integers(40, 127, n)  # mostly silence
    t = 0
    while t < n:
        length = int(rng.integers(3, 25))
        cls = int(rng.integers(0, classes))
        level = rng.integers(-30, 128, length)
        post[t:t + length, cls] = level[: max(0, min(length, n - t))]
        if cls != 0:
            post[t:t + length, 0] = -128
        post[t:t + length, int(rng.integers(0, classes))] = rng.integers(-128, 0, min(length, n - t))
        t += length + int(rng.integers(0, 30))
    return post


@pytest.mark.parametrize("seed", range(6))
def test_random_posteriors_identical_detections(lib: ctypes.CDLL, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cfg = StreamConfig(k_hops=int(rng.integers(1, 4)), smooth_window=int(rng.integers(1, 9)),
                       threshold=float(rng.uniform(0.3, 0.8)), refractory_ms=float(rng.choice([0, 300, 1000])))
    p = params_for(cfg)
    n_frames = 1500
    frames = rng.integers(-128, 128, (n_frames, p.num_features)).astype(np.int8)
    posts = random_posteriors(rng, n_inferences(p, n_frames), p.num_classes)
    rc, c_dets, c_out = run_c(lib, p, frames, posts=posts)
    py = StreamDetector(p, LABELS).run(frames, replay(posts))
    assert rc == len(c_dets) == len(py)
    assert len(py) >= 3, "the sequence should produce detections, or the test compares nothing"
    assert c_dets == py
    np.testing.assert_array_equal(c_out, posts)


@pytest.mark.parametrize(("k_hops", "frames", "feats"), [(1, 49, 10), (3, 49, 10), (2, 16, 40), (5, 64, 1)])
def test_window_order_and_schedule_toy_model(lib: ctypes.CDLL, k_hops: int, frames: int, feats: int) -> None:
    """Outputs of a model that depends on every window element match: the ring hands out frames in order."""
    rng = np.random.default_rng(k_hops * 100 + frames)
    p = params_for(StreamConfig(k_hops=k_hops, smooth_window=3, threshold=0.05, refractory_ms=200),
                   frames=frames, feats=feats, zp=-20)
    x = rng.integers(-128, 128, (frames * 3 + 7, feats)).astype(np.int8)
    x[frames:] = np.clip(x[frames:].astype(int) + rng.integers(-3, 4, x[frames:].shape), -128, 127)
    _, c_dets, c_out = run_c(lib, p, x, mode=1)
    det = StreamDetector(p, LABELS)
    py_out: list[np.ndarray] = []

    def infer(window: np.ndarray) -> np.ndarray:
        # independent check of the window: the last num_frames frames, oldest first
        np.testing.assert_array_equal(window, x[det.frames_seen - frames: det.frames_seen])
        py_out.append(toy_model(window, p.num_classes))
        return py_out[-1]

    py = det.run(x, infer)
    assert len(c_out) == len(py_out) == n_inferences(p, len(x))
    np.testing.assert_array_equal(c_out, np.array(py_out))
    assert c_dets == py


def _crafted(p: DetectorParams, outputs: list[np.ndarray]) -> tuple[list, list]:
    n_frames = p.num_frames + (len(outputs) - 1) * p.k_hops
    frames = np.zeros((n_frames, p.num_features), np.int8)
    posts = np.array(outputs, np.int8)
    return frames, posts


def _out(classes: int, **levels: int) -> np.ndarray:
    o = np.full(classes, -128, np.int8)
    for name, v in levels.items():
        o[LABELS.index(name)] = v
    return o


def test_crafted_threshold_refractory_ignore(lib: ctypes.CDLL) -> None:
    # W=2, threshold 0.5 -> sum of (q+128) over 2 outputs >= 256; refractory 100 ms = 5 hops; K=1
    p = params_for(StreamConfig(k_hops=1, smooth_window=2, threshold=0.5, refractory_ms=100), frames=4, feats=2)
    assert p.threshold == 256 and p.refractory_hops == 5 and p.ignore_mask == 0b11
    c = p.num_classes
    outs = [
        _out(c, _silence_=127), _out(c, _silence_=127),       # hops 3, 4: silence is ignored, never fires
        _out(c, yes=0), _out(c, yes=-1),                      # hop 5: 128; hop 6: 128+127 = 255 < 256
        _out(c, yes=0),                                       # hop 7: 127+128 = 255 ... still below
        _out(c, yes=1),                                       # hop 8: 128+129 = 257 -> fires (yes)
        _out(c, yes=127), _out(c, no=127), _out(c, no=127),   # hops 9-11 inside refractory (8 + 5 = 13)
        _out(c, no=127), _out(c, no=127),                     # hop 12 still blocked, hop 13 fires (no)
        _out(c), _out(c), _out(c),                            # hops 14-16: nothing
        _out(c, up=127, down=127), _out(c, up=127, down=127), # hop 17 blocked; hop 18: up/down tie -> up
    ]
    frames, posts = _crafted(p, outs)
    _, c_dets, _ = run_c(lib, p, frames, posts=posts)
    py = StreamDetector(p, LABELS).run(frames, replay(posts))
    assert c_dets == py
    assert [(d.hop, d.name, d.score) for d in py] == [(8, "yes", 257), (13, "no", 510), (18, "up", 510)]
    assert [d.time_ms for d in py] == [(h * 320 + 640) // 16 for h in (8, 13, 18)]


def test_smoothing_counts_missing_outputs_as_zero(lib: ctypes.CDLL) -> None:
    """The first outputs are averaged with zeros (no warm-up special case): one output of q=127
    (probability 255/256) out of W=4 averages to 0.249, which passes 0.249 but not 0.25."""
    for thr, expect in ((0.249, 1), (0.25, 0)):
        p = params_for(StreamConfig(k_hops=1, smooth_window=4, threshold=thr, refractory_ms=0), frames=3, feats=1)
        frames, posts = _crafted(p, [_out(p.num_classes, go=127)])
        _, c_dets, _ = run_c(lib, p, frames, posts=posts)
        assert c_dets == StreamDetector(p, LABELS).run(frames, replay(posts))
        assert len(c_dets) == expect


def test_infer_error_is_reported(lib: ctypes.CDLL) -> None:
    p = params_for(StreamConfig(k_hops=1, smooth_window=1), frames=5, feats=3)
    frames = np.zeros((20, 3), np.int8)
    posts = np.zeros((20, p.num_classes), np.int8)
    rc, _, out = run_c(lib, p, frames, mode=2, posts=posts, fail_at=2)
    assert rc == -2 * 1000 - 6  # STREAM_ERR_INFER at frame 6 (third inference: frames 4, 5, 6)
    assert len(out) == 2


@pytest.mark.parametrize("field", ["num_frames", "num_features", "num_classes", "smooth_window"])
def test_init_rejects_out_of_capacity(lib: ctypes.CDLL, field: str) -> None:
    p = params_for(StreamConfig(), frames=8, feats=4)
    cfg = bytearray(pack_config(p))
    offset = {"num_frames": 2, "num_features": 4, "num_classes": 6, "smooth_window": 10}[field]
    cfg[offset:offset + 2] = (1000).to_bytes(2, "little")
    rc = lib.harness_run(_ptr(bytes(cfg)), len(cfg), _ptr(np.zeros(8, np.int8)), 0, 0, _ptr(np.zeros(12, np.int8)),
                         1, 0, _ptr(np.zeros(16, np.uint8)), 1, _ptr(np.zeros(12, np.int8)), 0,
                         ctypes.byref(ctypes.c_uint32()))
    assert rc == -1


def test_config_decode_rejects_bad_size_and_version(lib: ctypes.CDLL) -> None:
    good = pack_config(params_for(StreamConfig(), frames=8, feats=4))
    for bad in (good[:-1], b"\x02\x00" + good[2:]):
        rc = lib.harness_run(_ptr(bad), len(bad), _ptr(np.zeros(8, np.int8)), 0, 0, _ptr(np.zeros(12, np.int8)),
                             1, 0, _ptr(np.zeros(16, np.uint8)), 1, _ptr(np.zeros(12, np.int8)), 0,
                             ctypes.byref(ctypes.c_uint32()))
        assert rc == -100


def test_time_ms_matches_python(lib: ctypes.CDLL) -> None:
    for rate, hop, win in ((16000, 320, 640), (16000, 160, 480), (22050, 441, 882), (8000, 333, 999)):
        p = DetectorParams(num_frames=49, num_features=10, num_classes=12, k_hops=1, smooth_window=1,
                           hop_samples=hop, win_samples=win, sample_rate=rate, threshold=1, refractory_hops=0,
                           ignore_mask=0, out_zero_point=0)
        cfg = pack_config(p)
        for h in (0, 1, 7, 49, 12345, 180000, 10_000_000):
            assert lib.harness_time_ms(_ptr(cfg), h) == p.time_ms(h)


def test_hop_assembly_any_chunking(lib: ctypes.CDLL) -> None:
    rng = np.random.default_rng(3)
    hop = 320
    pcm = rng.integers(-32768, 32768, hop * 17 + 100).astype("<i2")
    raw = pcm.tobytes()
    chunks = []
    left = len(raw)
    while left:
        c = min(left, 2 * int(rng.integers(1, 600)))
        chunks.append(c)
        left -= c
    ch = np.array(chunks, np.uint32)
    out = np.zeros((40, hop), np.int16)
    n = lib.harness_hops(_ptr(raw), _ptr(ch), len(ch), hop, _ptr(out), 40)
    assert n == 17
    np.testing.assert_array_equal(out[:17], pcm[: 17 * hop].reshape(17, hop))


def test_odd_byte_chunk_is_refused(lib: ctypes.CDLL) -> None:
    raw = bytes(10)
    ch = np.array([3], np.uint32)
    assert lib.harness_hops(_ptr(raw), _ptr(ch), 1, 4, _ptr(np.zeros(8, np.int16)), 2) == 0xFFFFFFFE


def test_builds_for_cortex_m7(arm_gcc: str, tmp_path: Path) -> None:
    """The streaming core is portable firmware: it must also build with the target's flags."""
    objs = compile_arm_objects(STREAM_SOURCES, tmp_path)
    assert all(o.stat().st_size > 0 for o in objs)
