"""Pure summaries of bench records (lists of dicts in, dicts out); no device, no I/O.

Counter figures always travel with their unit ("cycles" on a board,
"instructions" in QEMU, "ns" on the host build) and are never converted into
each other. Milliseconds are given only where they are honest: from cycles at
the board's clock, or, for instructions, as an *estimate* at 216 MHz and one
instruction per cycle, labelled as such.
"""

from __future__ import annotations

from typing import Any

import numpy as np

REFERENCE_CLOCK_HZ = 216_000_000  # the Nucleo-F767ZI's core clock


def _mmm(values: list[int] | np.ndarray) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {"min": float(a.min()), "median": float(np.median(a)), "max": float(a.max()), "mean": float(a.mean())}


def summarize_latency(records: list[dict[str, Any]], unit: str, clock_hz: int,
                      layers: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """min/median/max per frame and per layer over the recorded warm runs.

    records: ``{"total": int, "layers": [int, ...]}`` per run. layers: name/op/backend per index,
    optionally macs and sparsity (from bundle.json), which add ticks per MAC.
    """
    if not records:
        return {"runs": 0, "unit": unit}
    totals = [int(r["total"]) for r in records]
    out: dict[str, Any] = {"runs": len(records), "unit": unit, "frame": _mmm(totals)}
    if unit == "cycles" and clock_hz:
        out["frame_ms"] = {k: v * 1e3 / clock_hz for k, v in out["frame"].items()}
        out["clock_hz"] = clock_hz
    elif unit == "instructions":
        out["frame_ms_estimate_at_216mhz_1ipc"] = {k: v * 1e3 / REFERENCE_CLOCK_HZ for k, v in out["frame"].items()}
    elif unit == "ns":
        out["frame_ms"] = {k: v / 1e6 for k, v in out["frame"].items()}
    n_layers = min((len(r.get("layers", [])) for r in records), default=0)
    rows = []
    for i in range(n_layers):
        row: dict[str, Any] = {"index": i}
        if layers and i < len(layers):
            row.update({k: layers[i][k] for k in ("name", "op", "backend", "macs", "sparsity")
                        if layers[i].get(k) is not None})
        row.update(_mmm([int(r["layers"][i]) for r in records]))
        if row.get("macs"):
            row["per_mac"] = row["median"] / float(row["macs"])  # ticks per multiply-accumulate
        rows.append(row)
    if rows:
        med_total = sum(r["median"] for r in rows) or 1.0
        for r in rows:
            r["share"] = r["median"] / med_total
    out["layers"] = rows
    return out


def summarize_layer_check(records: list[dict[str, Any]],
                          layers: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """How many clips were bit-exact with TFLite Micro at every layer (CRC-32 of each layer's output,
    logits, output), with the 95 % Wilson interval, and where the others first differed.

    records: accuracy records with ``layers_exact`` and, when false, ``first_mismatch`` {layer, what};
    records without ``layers_exact`` (logs from before the layer check) count as not checked.
    layers: the device's name/op/backend per index (LAYER_INFO), to name the first mismatching layer.
    """
    from edgekws.metrics import wilson_interval

    checked = [r for r in records if "layers_exact" in r]
    exact = sum(bool(r["layers_exact"]) for r in checked)
    low, high = wilson_interval(exact, len(checked))
    firsts: dict[str, dict[str, Any]] = {}
    examples = []
    for r in checked:
        fm = r.get("first_mismatch")
        if r["layers_exact"] or not isinstance(fm, dict):
            continue
        li = int(fm.get("layer", -1))
        row: dict[str, Any] = {"layer": li, "what": fm.get("what")}
        if layers and 0 <= li < len(layers):
            row.update({k: layers[li].get(k) for k in ("name", "op", "backend")})
        key = f"{li}:{row.get('name', fm.get('what'))}"
        agg = firsts.setdefault(key, {**row, "items": 0})
        agg["items"] += 1
        if len(examples) < 20:
            examples.append({"index": int(r["index"]), **row, "got": fm.get("got"), "want": fm.get("want")})
    return {
        "items_checked": len(checked),
        "items_not_checked": len(records) - len(checked),
        "layers": max((int(r.get("layers_checked", 0)) for r in checked), default=0),
        "exact_items": exact,
        "exact_fraction": exact / len(checked) if checked else None,
        "exact_ci95": [low, high],
        "first_mismatch": sorted(firsts.values(), key=lambda d: (d["layer"], str(d.get("what")))),
        "mismatch_examples": examples,
    }


def summarize_accuracy(records: list[dict[str, Any]], labels: list[str],
                       layers: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """On-device accuracy and bit-exact agreement with TFLite Micro, output and layer by layer.

    records: ``{"index", "label", "pred", "ref_pred", "match"}`` per test item
    (match: the device's int8 output equals TFLite Micro's, every byte), plus the layer check
    (``layers_exact``, ``first_mismatch``; see :func:`summarize_layer_check`).
    """
    n = len(records)
    if n == 0:
        return {"items": 0}
    y = np.array([int(r["label"]) for r in records])
    pred = np.array([int(r["pred"]) for r in records])
    ref = np.array([int(r["ref_pred"]) for r in records])
    match = np.array([bool(r["match"]) for r in records])
    k = len(labels)
    conf = np.zeros((k, k), dtype=np.int64)
    for t, p in zip(y, pred, strict=True):
        if 0 <= t < k and 0 <= p < k:
            conf[t, p] += 1
    return {
        "items": n,
        "device_accuracy": float((pred == y).mean()),
        "tflm_accuracy": float((ref == y).mean()),
        "bit_exact_agreement": float(match.mean()),
        "bit_exact_items": int(match.sum()),
        "decision_agreement": float((pred == ref).mean()),
        "mismatched_indices": [int(r["index"]) for r in records if not r["match"]][:20],
        "layer_check": summarize_layer_check(records, layers),
        "confusion": conf.tolist(),
    }


def summarize_audio(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Device feature extraction + inference vs the label and vs the host int8 pipeline."""
    n = len(records)
    if n == 0:
        return {"items": 0}
    y = np.array([int(r["label"]) for r in records])
    pred = np.array([int(r["pred"]) for r in records])
    ref = np.array([int(r["ref_pred"]) for r in records])
    fe = [int(r["frontend_ticks"]) for r in records]
    inf = [int(r["total"]) for r in records]
    return {
        "items": n,
        "device_accuracy": float((pred == y).mean()),
        "host_accuracy": float((ref == y).mean()),
        "decision_agreement_with_host": float((pred == ref).mean()),
        "frontend": _mmm(fe),
        "inference": _mmm(inf),
        "unit": records[0].get("unit", ""),
    }
