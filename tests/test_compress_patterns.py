"""N:M, block and kernel masks follow the TFLite weight layout and hit their sparsity."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.compress.sparsity_patterns import (
    Pattern,
    block_mask_rows,
    cubic_schedule,
    from_rows,
    kernel_mask,
    nm_mask_rows,
    parse_block,
    to_rows,
)
from edgekws.compress.stats import compressed_weight_bytes, weight_stats
from edgekws.errors import ConfigError

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("kind, shape", [("Conv2D", (3, 3, 8, 16)), ("Dense", (32, 12)),
                                         ("DepthwiseConv2D", (3, 3, 8, 1))])
def test_rows_round_trip(kind: str, shape: tuple[int, ...]) -> None:
    w = RNG.normal(size=shape).astype(np.float32)
    assert np.array_equal(from_rows(to_rows(w, kind), shape, kind), w)


def test_conv_rows_follow_tflite_ohwi_order() -> None:
    w = RNG.normal(size=(2, 3, 4, 5))
    rows = to_rows(w, "Conv2D")
    ohwi = np.transpose(w, (3, 0, 1, 2))  # what the TFLite converter stores
    assert np.array_equal(rows, ohwi.reshape(5, -1))


def test_nm_keeps_two_largest_of_every_four() -> None:
    rows = RNG.normal(size=(6, 18))  # 18 = 4 full groups + a tail of 2
    keep = nm_mask_rows(rows, 2, 4)
    for r in range(6):
        for g in range(0, 16, 4):
            grp = np.abs(rows[r, g:g + 4])
            assert keep[r, g:g + 4].sum() == 2
            assert set(np.flatnonzero(keep[r, g:g + 4])) == set(np.argsort(-grp)[:2])
        assert keep[r, 16:].sum() == 2  # tail group padded with zeros keeps both real values


@pytest.mark.parametrize("block", [(1, 4), (4, 1), (2, 2)])
def test_block_masks_are_whole_blocks(block: tuple[int, int]) -> None:
    rows = RNG.normal(size=(16, 32))
    keep = block_mask_rows(rows, 0.75, block)
    br, bc = block
    blocks = keep.reshape(16 // br, br, 32 // bc, bc).transpose(0, 2, 1, 3).reshape(-1, br * bc)
    assert np.all(blocks.all(axis=1) | ~blocks.any(axis=1))
    assert (~blocks.any(axis=1)).mean() == pytest.approx(0.75)


def test_block_mask_prunes_the_weakest_blocks() -> None:
    rows = np.ones((1, 8))
    rows[0, 4:] = 0.1
    keep = block_mask_rows(rows, 0.5, (1, 4))
    assert keep.tolist() == [[True] * 4 + [False] * 4]


def test_kernel_mask_zeroes_whole_kernels() -> None:
    w = RNG.normal(size=(3, 3, 6, 10))
    keep = kernel_mask(w, "Conv2D", 0.5)
    per_kernel = keep.reshape(9, 60)
    assert np.all(per_kernel.all(axis=0) | ~per_kernel.any(axis=0))
    assert (~per_kernel.any(axis=0)).mean() == pytest.approx(0.5)
    dw = kernel_mask(RNG.normal(size=(3, 3, 8, 1)), "DepthwiseConv2D", 0.25)
    assert (~dw.reshape(9, 8).any(axis=0)).sum() == 2


def test_pattern_mask_dispatch_and_applicability() -> None:
    w = RNG.normal(size=(1, 1, 16, 8))
    nm = Pattern("nm")
    assert nm.fixed_sparsity == 0.5
    assert (nm.mask(w, "Conv2D", 0.5) == 0).mean() == pytest.approx(0.5)
    assert not nm.applies_to("DepthwiseConv2D") and nm.applies_to("Dense")
    assert Pattern("kernel").applies_to("DepthwiseConv2D") and not Pattern("kernel").applies_to("Dense")
    with pytest.raises(ConfigError):
        Pattern("bogus").mask(w, "Conv2D", 0.5)


def test_parse_block_and_schedule() -> None:
    assert parse_block("1x4") == (1, 4) and parse_block("4X1") == (4, 1)
    for bad in ("4", "ax4", "0x4"):
        with pytest.raises(ConfigError):
            parse_block(bad)
    s = cubic_schedule(0.8, 4)
    vals = [s(e) for e in range(6)]
    assert vals == sorted(vals) and vals[3] == pytest.approx(0.8) and vals[0] < 0.8


def test_size_estimates() -> None:
    layers = [{"op": "CONV_2D", "params": 100 + 4, "nonzeros": 20, "output_shape": [1, 5, 5, 4], "macs": 10},
              {"op": "SOFTMAX", "params": 0, "nonzeros": 0, "output_shape": [1, 4], "macs": 0}]
    st = weight_stats(layers)
    assert st["weights"] == 100 and st["sparsity"] == pytest.approx(0.8)
    assert compressed_weight_bytes(layers, "element") == 40
    assert compressed_weight_bytes(layers, "filter") == 100
    assert compressed_weight_bytes(layers, "block") == 25
