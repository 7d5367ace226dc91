"""The host's account of incremental inference (edgekws.stream.incremental, shown by `edgekws listen`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekws.errors import ModelError
from edgekws.stream.incremental import incremental_cost
from test_stream_incremental_c import stream_bundle

REPO = Path(__file__).resolve().parents[1]


def test_incremental_macs_of_the_streaming_ds_cnn(tmp_path_factory: pytest.TempPathFactory) -> None:
    bundle = stream_bundle(tmp_path_factory.getbasetemp())
    cost = incremental_cost(bundle, 2)
    assert cost is not None and cost.time_stride == 2
    # full window of F frames: conv (R = (F - 10) // 2 + 1 rows) x 5x64x40, then 4 x (dw 3x3 valid in time: 2 rows
    # fewer each, x 5x64x9 + pw x 5x64x64), then FC 64x12
    frames = json.loads((bundle / "bundle.json").read_text())["input"]["shape"][1]
    r0 = (frames - 10) // 2 + 1
    rows = (r0 - 2, r0 - 4, r0 - 6, r0 - 8)
    full = r0 * 5 * 64 * 40 + sum(r * 5 * 64 * 9 + r * 5 * 64 * 64 for r in rows) + 64 * 12
    assert cost.full_window_macs == full
    # two new frames = one new row of every layer (stride 2 once), then the classifier
    assert cost.incremental_macs == 5 * 64 * 40 + 4 * (5 * 64 * 9 + 5 * 64 * 64) + 64 * 12
    four = incremental_cost(bundle, 4)
    assert four is not None and four.incremental_macs == 2 * cost.incremental_macs - 64 * 12
    with pytest.raises(ModelError, match="multiple of the model's time stride 2, got 3"):
        incremental_cost(bundle, 3)


def test_a_model_same_in_time_has_no_incremental_mode() -> None:
    assert incremental_cost(REPO / "models" / "default", 2) is None
