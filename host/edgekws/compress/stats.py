"""Size and sparsity figures of a deployed model, from its TFLite layer table.

Dense int8 storage does not shrink when weights become zero, so the report
gives both the dense size and an *estimate* of the compressed size each sparse
format would need (what the C exporter's sparse backends store), so granularities
can be compared on size as well as accuracy.
"""

from __future__ import annotations

from typing import Any

WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def weight_stats(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over weight layers of a ``layer_summary`` table: weights, nonzeros, sparsity, MACs."""
    weights = nonzeros = macs = params = 0
    for row in layers:
        params += int(row.get("params", 0))
        macs += int(row.get("macs", 0))
        if row["op"] in WEIGHT_OPS:
            # params = weights + biases; the bias count is the output channel count
            w = int(row["params"]) - int(row["output_shape"][-1])
            weights += w
            nonzeros += int(row["nonzeros"])
    return {
        "params": params,
        "weights": weights,
        "nonzero_weights": nonzeros,
        "sparsity": (1.0 - nonzeros / weights) if weights else 0.0,
        "macs": macs,
    }


def compressed_weight_bytes(layers: list[dict[str, Any]], granularity: str, block: int = 4) -> int:
    """Estimated bytes of int8 weights in the sparse format that suits ``granularity``.

    element/kernel: value + 1-byte relative index per nonzero (CSR-like with delta indices);
    nm (2:4): value + 2-bit position per kept weight; block: 4-byte block + 1-byte index per kept block;
    filter/none: dense (a structurally pruned model is already dense and smaller).
    """
    total = 0
    for row in layers:
        if row["op"] not in WEIGHT_OPS:
            continue
        bias = int(row["output_shape"][-1])
        dense = int(row["params"]) - bias
        nz = int(row["nonzeros"])
        if granularity in ("element", "kernel"):
            total += min(dense, 2 * nz)
        elif granularity == "nm":
            total += min(dense, nz + (nz + 3) // 4)
        elif granularity == "block":
            blocks = (nz + block - 1) // block
            total += min(dense, blocks * (block + 1))
        else:
            total += dense
    return total


def size_figures(layers: list[dict[str, Any]], tflite_bytes: int, granularity: str) -> dict[str, Any]:
    """The report's ``size`` entry."""
    st = weight_stats(layers)
    bias_bytes = 4 * sum(int(r["output_shape"][-1]) for r in layers if r["op"] in WEIGHT_OPS)
    return {
        "tflite_bytes": int(tflite_bytes),
        "weight_bytes_dense": st["weights"] + bias_bytes,
        "weight_bytes_compressed": compressed_weight_bytes(layers, granularity) + bias_bytes,
        **st,
    }
