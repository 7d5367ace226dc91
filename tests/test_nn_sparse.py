"""Sparse kernels (firmware/src/nn/sparse/) against ref: identical int8 outputs on random sparse layers.

Sparsity patterns: element (unstructured) at 50-95 %, 1x4 blocks, whole zero
filters, fully zero layers, dense; the compressed formats come from the
exporter's registry (edgekws.export.kernels), so a wrong record or row pointer
shows up as a mismatch here.
"""

from __future__ import annotations

import ctypes
import zlib

import numpy as np
import pytest

import cbuild
import nn_kernel_harness as h
from edgekws.export import kernels


@pytest.fixture(scope="module")
def lib(tmp_path_factory, host_cc) -> ctypes.CDLL:
    del host_cc
    out = tmp_path_factory.mktemp("nnsparse") / "libkernels.so"
    return ctypes.CDLL(str(cbuild.compile_shared(cbuild.nn_sources(("ref", "simd", "sparse")), out)))


def case_seed(backend: str, op: str) -> int:
    """The same seed in every process for one (backend, op), so a failure reproduces."""
    return zlib.crc32(f"{backend}/{op}".encode())


# every (op, sparse backend) the registry has: skipzero for all three, wp for all three, block for conv and FC
SPARSE_KERNELS = sorted((op, b) for (op, b) in kernels.REGISTRY if b in kernels.SPARSE_BACKENDS)


@pytest.mark.parametrize(("op", "backend"), SPARSE_KERNELS, ids=[f"{o}-{b}" for o, b in SPARSE_KERNELS])
def test_sparse_matches_ref(lib, op, backend):
    # zlib.crc32, not hash(): str hashes change per process (PYTHONHASHSEED), so would the cases
    rng = np.random.default_rng(case_seed(backend, op))
    compared = 0
    for i in range(200):
        sp = h.SPARSITIES[i % len(h.SPARSITIES)]
        case = h.random_fc(rng, sp) if op == "FULLY_CONNECTED" else \
            h.random_conv(rng, sp, depthwise=op == "DEPTHWISE_CONV_2D")
        if backend in kernels.eligible_backends(case.layer()):
            compared += h.compare(lib, case, backend)
    assert compared > 3000


def test_all_zero_and_dense_layers(lib):
    rng = np.random.default_rng(4)
    for level in (1.0, 0.0):
        for _ in range(20):
            case = h.random_conv(rng, ("element", level))
            for b in ("wp", "block", "skipzero"):
                h.compare(lib, case, b)


def test_sparse_kernels_check_their_inputs(lib):
    rng = np.random.default_rng(8)
    case = h.random_conv(rng, ("element", 0.8), max_hw=5)
    for b in ("wp", "block"):
        assert h.run_kernel(lib, case, b)[0] == 0
        assert h.run_kernel(lib, case, b, scratch_delta=-1)[0] == -1
        assert h.run_kernel(lib, case, b, drop_aux=True)[0] == -1


def test_bad_row_pointers_are_rejected(lib):
    rng = np.random.default_rng(9)
    case = h.random_conv(rng, ("element", 0.5), max_hw=5)
    while case.filter_dims[0] < 2 or not np.count_nonzero(case.weights):
        case = h.random_conv(rng, ("element", 0.5), max_hw=5)
    spec = kernels.REGISTRY[("CONV_2D", "wp")]
    good = spec.aux
    try:
        def bad_aux(w, layer):
            rp = good(w, layer).view("<u4").copy()
            rp[1] = rp[-1] + 1  # decreasing row pointer
            return rp.view(np.uint8)

        kernels.REGISTRY[("CONV_2D", "wp")] = kernels.KernelSpec(**{**spec.__dict__, "aux": bad_aux})
        assert h.run_kernel(lib, case, "wp")[0] == -1
    finally:
        kernels.REGISTRY[("CONV_2D", "wp")] = spec


@pytest.mark.slow
@pytest.mark.parametrize("choice", [
    {"CONV_2D": "wp", "FULLY_CONNECTED": "wp", "DEPTHWISE_CONV_2D": "wp"},
    {"CONV_2D": "block", "FULLY_CONNECTED": "block", "DEPTHWISE_CONV_2D": "simd"},
    {"CONV_2D": "skipzero", "FULLY_CONNECTED": "skipzero", "DEPTHWISE_CONV_2D": "skipzero"},
], ids=["wp", "block", "skipzero"])
def test_whole_sparse_dscnn_identical_to_tflite_micro(choice, tmp_path):
    """A DS-CNN with 80 % of its weights zeroed, exported with sparse backends per layer (bundle.json
    layers[i].backend): the host-built C equals TFLite Micro, layer by layer."""
    from test_nn_models import _convert, _zero_weights, dscnn
    from test_nn_ops import check_identical
    from test_nn_simd import backends_for

    model = dscnn(channels=24, blocks=2)
    _zero_weights(model, 0.8, seed=3)
    tflite = _convert(model, (49, 10, 1), seed=3)
    backends = backends_for(tflite, choice)
    assert check_identical(tflite, tmp_path, None, n_inputs=20, per_layer=True, backends=backends) > 0


def test_case_seed_is_stable_across_processes():
    """Two interpreters with different PYTHONHASHSEED must draw the same cases (hash() would not)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; sys.path.insert(0, 'tests'); import test_nn_sparse as t; "
            "print(t.case_seed('wp', 'CONV_2D'))")
    seeds = set()
    for hs in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hs}
        seeds.add(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                 text=True, cwd=Path(__file__).resolve().parent.parent).stdout.strip())
    assert len(seeds) == 1, seeds


@pytest.mark.parametrize(("op", "backend"), [("CONV_2D", "wp"), ("CONV_2D", "block"), ("FULLY_CONNECTED", "wp"),
                                             ("FULLY_CONNECTED", "block"), ("DEPTHWISE_CONV_2D", "wp")])
def test_corrupted_aux_blobs_are_rejected(lib, op, backend):
    """nn_sparse_check_aux bounds row_ptr[out_c] by the records really stored: a blob whose last row
    pointer runs past the records, starts past 0, is truncated, or breaks the block pairing is refused
    (NN_ERR_ARG) before any record is read."""
    rng = np.random.default_rng(zlib.crc32(f"aux/{op}/{backend}".encode()))
    while True:
        case = h.random_fc(rng, ("element", 0.6)) if op == "FULLY_CONNECTED" else \
            h.random_conv(rng, ("element", 0.6), depthwise=op == "DEPTHWISE_CONV_2D", max_hw=5)
        if backend in kernels.eligible_backends(case.layer()) and np.count_nonzero(case.weights) > 2:
            break
    good = kernels.prepare(case.layer(), backend).aux.view("<u4")
    out_c = case.out_dims[3]
    assert h.run_kernel(lib, case, backend, aux_override=good)[0] == 0
    step = 2 if backend == "block" else 1

    def planted(edit) -> np.ndarray:
        rp = good.copy()
        edit(rp)
        return rp

    def past_end(rp):  # monotonic, but the last channel runs past the stored records
        rp[out_c] += 4 * step

    def huge(rp):  # the same with an end far outside memory (and a matching count, if one is stored)
        rp[out_c:] = 1 << 28

    def nonzero_start(rp):
        rp[0] = step

    bad = {"past_end": planted(past_end), "huge": planted(huge), "nonzero_start": planted(nonzero_start),
           "truncated": good[:out_c].copy(), "decreasing": planted(lambda rp: rp.__setitem__(1, rp[out_c] + step))}
    if backend == "block":
        def odd(rp):  # half a block record in channel 0, the rest shifted
            rp[1:out_c + 1] += 1
            if rp.size > out_c + 1:
                rp[out_c + 1] += 1
        bad["odd_block"] = planted(odd)
    for name, blob in bad.items():
        assert h.run_kernel(lib, case, backend, aux_override=blob)[0] == -1, f"{name} accepted"
