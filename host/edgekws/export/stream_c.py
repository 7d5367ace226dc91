"""C emission of the streaming schedule (:mod:`edgekws.export.stream_plan`) next to the layer table.

Why generated: the stream runner (firmware/src/nn/stream_runner.c) only walks tables, as the
full-window runner does; every ring offset, row count and the tail's re-placed layer rows are
constants the exporter already knows. A model that cannot stream gets ``EDGEKWS_STREAMABLE 0``
and the reason as a comment, so the firmware keeps its full-window mode and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from edgekws.export.stream_plan import StreamPlan

#: formats one nn_layer_t initializer: (row, in1_offset, in2_offset, out_offset, scratch_offset, scratch_size)
EntryFn = Callable[[Any, int, int, int, int, int], list[str]]


def header_lines(plan: StreamPlan | None, reason: str | None) -> list[str]:
    """The streaming part of ``edgekws_model.h``."""
    if plan is None:
        why = (reason or "unknown").replace("*/", "* /")
        return ["/* Streaming-incremental inference: " + why + " */", "#define EDGEKWS_STREAMABLE 0"]
    return [
        "/* Streaming-incremental inference (edgekws/nn_stream.h): each classification computes only the",
        " * rows that are new; bit-identical to nn_invoke on the full window. */",
        "#define EDGEKWS_STREAMABLE 1",
        f"#define EDGEKWS_STREAM_ARENA_SIZE {plan.arena_size}u",
        f"#define EDGEKWS_STREAM_TIME_STRIDE {plan.time_stride}",
        f"#define EDGEKWS_STREAM_MAX_NEW_ROWS {plan.max_new_rows()}",
        '#include "edgekws/nn_stream.h"',
        "extern uint8_t edgekws_stream_arena[EDGEKWS_STREAM_ARENA_SIZE];",
        "extern const nn_stream_model_t edgekws_stream_model;",
    ]


def source_lines(plan: StreamPlan | None, layers: Sequence[Any], entry: EntryFn) -> list[str]:
    """The streaming part of ``edgekws_model.c`` (nothing for a model that does not stream)."""
    if plan is None:
        return []
    out = ["/* ---- streaming schedule (edgekws/nn_stream.h, host/edgekws/export/stream_plan.py) ---- */",
           "uint8_t edgekws_stream_arena[EDGEKWS_STREAM_ARENA_SIZE] EDGEKWS_ARENA_ATTR;", "",
           f"static const nn_stream_stage_t edgekws_stream_stages[{len(plan.stages)}] = {{"]
    for s in plan.stages:
        out.append(f"    {{.layer = {s.layer}u, .rows = {s.rows}u, .stride = {s.stride}u, .out_rows = {s.out_rows}u, "
                   f".in_row_bytes = {s.in_row_bytes}u, .ring_offset = {s.ring_offset}u}}, "
                   f"/* {s.name}: phase {s.phase}, ring {s.ring_bytes} B */")
    out += ["};", "", "/* the pool and the layers after it, their tensors in the stream arena */",
            f"static const nn_layer_t edgekws_stream_tail[{len(plan.tail)}] = {{"]
    for i, (in_off, out_off) in zip(plan.tail, plan.tail_offsets, strict=True):
        row = layers[i]
        scratch = int(row.kernel.scratch_size) if row.kernel is not None else 0
        out += entry(row, in_off, 0, out_off, plan.scratch_offset if scratch else 0, scratch)
    last_out = plan.tail_offsets[-1][1]
    out += [
        "};", "",
        "const nn_stream_model_t edgekws_stream_model = {",
        "    .model = &edgekws_model,",
        "    .arena = edgekws_stream_arena,",
        "    .arena_size = EDGEKWS_STREAM_ARENA_SIZE,",
        f"    .window_rows = {plan.window_rows}u,",
        f"    .frame_bytes = {plan.frame_bytes}u,",
        "    .time_stride = EDGEKWS_STREAM_TIME_STRIDE,",
        f"    .num_stages = {len(plan.stages)}u,",
        "    .stages = edgekws_stream_stages,",
        f"    .pool_offset = {plan.pool_offset}u,",
        f"    .pool_rows = {plan.pool_rows}u,",
        f"    .pool_row_bytes = {plan.pool_row_bytes}u,",
        f"    .scratch_offset = {plan.scratch_offset}u,",
        f"    .scratch_size = {plan.scratch_size}u,",
        f"    .tail_first = {plan.pool_layer}u,",
        "    .tail = {",
        "        .name = EDGEKWS_MODEL_NAME,",
        "        .bundle_hash = EDGEKWS_BUNDLE_HASH,",
        "        .arena = edgekws_stream_arena,",
        "        .arena_size = EDGEKWS_STREAM_ARENA_SIZE,",
        f"        .input_offset = {plan.pool_offset}u,",
        f"        .input_size = {plan.pool_rows * plan.pool_row_bytes}u,",
        f"        .output_offset = {last_out}u,",
        "        .output_size = EDGEKWS_OUTPUT_SIZE,",
        f"        .num_layers = {len(plan.tail)}u,",
        "        .layers = edgekws_stream_tail,",
        "    },",
        "};",
        "",
    ]
    return out
