"""Streaming-incremental inference plan: which rows each time-axis layer keeps between calls.

Why: a keyword spotter classifies every ``k_hops`` frontend hops, and the model window moves by
only those frames; re-running the whole window repeats ~96 % of the work. When every
time-axis layer is *valid in time* (no padding above or below: each output row depends only
on input rows inside the window), output row ``r`` of a layer is the same numbers whichever
window it is computed in, so the device can keep each layer's last input rows (a ring of
``rows`` = the effective kernel height), compute only the output rows that became complete,
keep the last layer's rows for the whole-map average pool (a sum, so the ring's order does not
matter), and run only the pool and the layers after it on every classification. The
results are bit-identical to running the full window, because the very same kernels compute
the very same rows (a kernel called on ``rows`` input rows with one output row).

The plan is computed on the host from the exporter's layer rows (codegen_c.LayerC) and turned
into the C schedule next to the layer table (firmware/include/edgekws/nn_stream.h). A model that
cannot stream (SAME in time, a max pool or residual add in the time chain, ...) is refused in one
:class:`~edgekws.errors.ModelError` line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import ModelError
from edgekws.export import kernels

STAGE_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")
TAIL_OPS = ("AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX")
#: mirrors NN_STREAM_MAX_STAGES in firmware/include/edgekws/nn_stream.h
MAX_STAGES = 16


@dataclass(frozen=True)
class StreamStage:
    """One convolution of the time chain.

    ``rows``: input rows one output row reads ((kh - 1) * dilation + 1); ``stride``: time stride;
    ``in_rows`` / ``out_rows``: rows of the full-window tensors; ``phase``: input rows after the span
    of the last full-window output ((in_rows - rows) % stride), which wait for the next frames.
    ``ring_offset`` / ``ring_bytes``: this stage's input ring in the stream arena (stage 0 reads the
    model window itself: no ring); ``scratch``: kernel scratch bytes for one output row.
    """

    layer: int
    name: str
    op: str
    rows: int
    stride: int
    in_rows: int
    out_rows: int
    phase: int
    in_row_bytes: int
    out_row_bytes: int
    ring_offset: int
    ring_bytes: int
    scratch: int


@dataclass(frozen=True)
class StreamPlan:
    """The whole streaming schedule and its arena.

    ``time_stride``: product of the stages' strides; the window must move by a multiple of it.
    ``pool_*``: the average pool over the last stage's whole map and its ring of ``pool_rows`` rows.
    ``tail``: layer indices from the pool to the end (run once per classification);
    ``tail_offsets``: arena offsets (in1, out) of each of them; ``arena_size`` includes everything.
    """

    stages: tuple[StreamStage, ...]
    window_rows: int
    frame_bytes: int
    time_stride: int
    pool_layer: int
    pool_rows: int
    pool_row_bytes: int
    pool_offset: int
    tail: tuple[int, ...]
    tail_offsets: tuple[tuple[int, int], ...]
    scratch_offset: int
    scratch_size: int
    arena_size: int

    def max_new_rows(self) -> int:
        """Most new frames one incremental call can take (more: the runner primes again from the window)."""
        s0 = self.stages[0]
        return self.window_rows - s0.rows + s0.stride - s0.phase

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _align(n: int, a: int) -> int:
    return (int(n) + a - 1) // a * a


def _conv_stage_reason(row: Any) -> str | None:
    """None when a conv / depthwise layer is valid in time, else why not."""
    p = row.params
    _, kh, _, _ = row.filter_dims
    rows = (kh - 1) * p["dilation"][0] + 1
    ih, oh, sh = row.in1_dims[1], row.out_dims[1], p["stride"][0]
    top = p["padding"][0]
    bottom = max(0, (oh - 1) * sh + rows - ih - top)
    if top or bottom:
        return (f"layer {row.index} ({row.name}) pads in time (top {top}, bottom {bottom}); "
                "train it valid in time (model.time_padding: valid)")
    if oh != (ih - rows) // sh + 1:
        return f"layer {row.index} ({row.name}) has {oh} output rows, valid in time gives {(ih - rows) // sh + 1}"
    if row.in1_dims[0] != 1:
        return f"layer {row.index} ({row.name}) has batch {row.in1_dims[0]}, 1 expected"
    return None


def _one_row_kernel(row: Any, rows: int) -> int:
    """Scratch of the layer's kernel called on ``rows`` input rows and one output row; ModelError when the
    backend would lay its weights out differently for that shape (the table's weights would then be wrong)."""
    one = dataclasses.replace(row, in1_dims=(1, rows, *row.in1_dims[2:]), out_dims=(1, 1, *row.out_dims[2:]))
    try:
        k1 = kernels.prepare(one, row.backend)
    except ModelError as exc:
        raise ModelError(f"not streamable: layer {row.index} ({row.name}) on {row.backend} cannot run one row "
                         f"({exc})") from None
    k = row.kernel

    def same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))

    if k1.function != k.function or not same(k1.weights, k.weights) or not same(k1.aux, k.aux):
        raise ModelError(f"not streamable: layer {row.index} ({row.name}): the {row.backend} kernel lays out its "
                         "weights differently for one output row; choose another backend for it")
    return int(k1.scratch_size)


def stream_reason(layers: Sequence[Any]) -> str | None:
    """None when the layer chain can stream, else one line saying why not."""
    try:
        plan_stream(layers)
    except ModelError as exc:
        return str(exc)
    return None


def plan_stream(layers: Sequence[Any], alignment: int = 16) -> StreamPlan:
    """The streaming schedule of the exporter's layer rows (codegen_c.build_layers), or ModelError.

    Streamable: a chain of CONV_2D / DEPTHWISE_CONV_2D layers valid in time, then an AVERAGE_POOL_2D over
    all of the last one's rows, then only RESHAPE / FULLY_CONNECTED / SOFTMAX on single rows.
    """
    if not layers:
        raise ModelError("not streamable: the model has no layers")
    n_stages = 0
    while n_stages < len(layers) and layers[n_stages].op in STAGE_OPS:
        n_stages += 1
    if n_stages == 0:
        raise ModelError(f"not streamable: layer 0 ({layers[0].name}) is {layers[0].op}; the time chain must "
                         "start with a convolution")
    if n_stages > MAX_STAGES:
        raise ModelError(f"not streamable: {n_stages} convolutions in the time chain, at most {MAX_STAGES}")
    for i, row in enumerate(layers):
        if i and row.in1_tensor != layers[i - 1].out_tensor:
            raise ModelError(f"not streamable: layer {row.index} ({row.name}) does not read the previous layer "
                             "(only a plain chain streams)")
    if n_stages == len(layers) or layers[n_stages].op != "AVERAGE_POOL_2D":
        nxt = layers[n_stages] if n_stages < len(layers) else None
        what = f"layer {nxt.index} ({nxt.name}) is {nxt.op}" if nxt else "the model ends"
        raise ModelError(f"not streamable: after the time chain {what}; an AVERAGE_POOL_2D over the whole map "
                         "is needed (a max pool or residual in time cannot stream)")
    for row in layers[:n_stages]:
        reason = _conv_stage_reason(row)
        if reason:
            raise ModelError(f"not streamable: {reason}")
    pool = layers[n_stages]
    p = pool.params
    if p["filter"][0] != pool.in1_dims[1] or p["padding"][0] != 0 or pool.out_dims[1] != 1:
        raise ModelError(f"not streamable: layer {pool.index} ({pool.name}) pools {p['filter'][0]} of "
                         f"{pool.in1_dims[1]} rows; the pool must cover every row")
    for row in layers[n_stages + 1:]:
        if row.op not in TAIL_OPS or row.op == "AVERAGE_POOL_2D":
            raise ModelError(f"not streamable: layer {row.index} ({row.name}) is {row.op} after the pool")
    # ---- arena: stage rings, pool ring, tail tensors, one shared scratch (all live for the whole stream)
    off = 0
    stages: list[StreamStage] = []
    scratch = 0
    for i, row in enumerate(layers[:n_stages]):
        _, kh, _, _ = row.filter_dims
        rows = (kh - 1) * row.params["dilation"][0] + 1
        sh = row.params["stride"][0]
        ih, oh = row.in1_dims[1], row.out_dims[1]
        in_row = row.in1_dims[2] * row.in1_dims[3]
        out_row = row.out_dims[2] * row.out_dims[3]
        ring = 0 if i == 0 else rows * in_row * (2 if rows > 1 else 1)  # rows > 1: every row stored twice
        ring_off = off if ring else 0
        off = _align(off + ring, alignment)
        one_row = _one_row_kernel(row, rows)
        scratch = max(scratch, one_row)
        stages.append(StreamStage(i, row.name, row.op, rows, sh, ih, oh, (ih - rows) % sh, in_row, out_row,
                                  ring_off, ring, one_row))
    pool_rows, pool_row = pool.in1_dims[1], pool.in1_dims[2] * pool.in1_dims[3]
    if stages[-1].out_rows != pool_rows or stages[-1].out_row_bytes != pool_row:
        raise ModelError(f"not streamable: layer {pool.index} ({pool.name}) does not pool the last convolution's map")
    pool_off = off
    off = _align(off + pool_rows * pool_row, alignment)
    tensor_off: dict[int, int] = {pool.in1_tensor: pool_off}
    tail = tuple(range(n_stages, len(layers)))
    offsets = []
    for i in tail:
        row = layers[i]
        if row.kernel is not None and row.kernel.scratch_size:
            scratch = max(scratch, int(row.kernel.scratch_size))
        in_off = tensor_off[row.in1_tensor]
        if row.op == "RESHAPE":
            tensor_off[row.out_tensor] = in_off  # the runner aliases a reshape's output and input
        else:
            tensor_off[row.out_tensor] = off
            off = _align(off + int(np.prod(row.out_dims)), alignment)
        offsets.append((in_off, tensor_off[row.out_tensor]))
    scratch_off = off if scratch else 0
    off = _align(off + scratch, alignment)
    time_stride = int(np.prod([s.stride for s in stages]))
    first = layers[0]
    return StreamPlan(tuple(stages), first.in1_dims[1], first.in1_dims[2] * first.in1_dims[3], time_stride,
                      n_stages, pool_rows, pool_row, pool_off, tail, tuple(offsets), scratch_off, scratch, off)


def check_k_hops(plan: StreamPlan, k_hops: int) -> None:
    """ModelError unless the window moves by whole output rows of every layer (k_hops a multiple of the
    total time stride) and a classification's new frames stay inside the window."""
    if k_hops < 1 or k_hops % plan.time_stride:
        raise ModelError(f"incremental streaming needs k_hops to be a multiple of the model's time stride "
                         f"{plan.time_stride}, got {k_hops}")
    if k_hops > plan.max_new_rows():
        raise ModelError(f"incremental streaming: k_hops {k_hops} moves the window by more than the "
                         f"{plan.max_new_rows()} frames it can take in one step")


def bundle_stream_plan(bundle_dir: str | Path) -> StreamPlan:
    """The streaming plan of a bundle's int8 model on its layers' backends (what ``export c`` emits), or
    ModelError saying why it cannot stream; the host checks this before asking a device for incremental mode."""
    from edgekws.export.bundle import MODEL_TFLITE, load_bundle
    from edgekws.export.codegen_c import build_layers
    from edgekws.export.tflite_graph import read_graph

    b = load_bundle(bundle_dir)
    graph = read_graph(b.path / MODEL_TFLITE)
    rows = b.meta.get("layers")
    backends = [str(r.get("backend", "ref")) if isinstance(r, dict) else "ref" for r in rows] \
        if isinstance(rows, list) and len(rows) == len(graph.operators) else ["ref"] * len(graph.operators)
    try:
        return plan_stream(build_layers(graph, backends))
    except ModelError as exc:
        raise ModelError(f"bundle {bundle_dir}: {exc}") from None
