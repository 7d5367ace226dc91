"""What incremental inference saves for a streaming-aware bundle: MACs per classification, both modes.

Why on the host: a user listening with a model wants to know, before flashing anything, whether the
device's incremental mode (``edgekws stream device --incremental``) applies and how much of the
window it recomputes. The figures follow from the exporter's streaming plan: convolution ``i`` of the
time chain gets ``k_hops / (stride_0 * ... * stride_i)`` new output rows per classification, each
costing that layer's MACs divided by its full-window rows; the pool and the layers after it run once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekws.errors import ModelError


@dataclass(frozen=True)
class IncrementalCost:
    """MACs of one classification in each mode, and the streaming plan's time stride."""

    k_hops: int
    time_stride: int
    full_window_macs: int
    incremental_macs: int

    @property
    def fraction(self) -> float:
        return self.incremental_macs / max(1, self.full_window_macs)


def incremental_cost(bundle_dir: str | Path, k_hops: int) -> IncrementalCost | None:
    """The bundle's per-classification MACs in both modes; None when its model cannot stream.

    ModelError when it can stream but not with this ``k_hops`` (not a multiple of the time stride).
    """
    from edgekws.export.bundle import load_bundle
    from edgekws.export.stream_plan import bundle_stream_plan, check_k_hops

    try:
        plan = bundle_stream_plan(bundle_dir)
    except ModelError:
        return None
    check_k_hops(plan, k_hops)
    layers = load_bundle(bundle_dir).meta["layers"]
    full = sum(int(layer.get("macs", 0)) for layer in layers)
    inc, stride = 0, 1
    for stage in plan.stages:
        stride *= stage.stride
        inc += int(layers[stage.layer]["macs"]) // stage.out_rows * (k_hops // stride)
    inc += sum(int(layers[i].get("macs", 0)) for i in plan.tail)
    return IncrementalCost(k_hops, plan.time_stride, full, inc)
