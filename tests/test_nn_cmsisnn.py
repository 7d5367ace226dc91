"""cmsisnn backend (firmware/src/nn/cmsisnn/ over Arm CMSIS-NN): identical to ref and to TFLite Micro.

CMSIS-NN comes from tools/fetch_cmsisnn.py (run by tools/setup.sh: CMSIS-NN
12.5.1 from a pinned PyPI wheel into ~/.cache/edgekws/cmsis-nn-12.5.1) or from
a checkout named by ``EDGEKWS_CMSISNN_DIR``. Without either these tests skip,
and under CI=true they fail (the registry/scratch-rule tests at the top run
regardless). With it, the wrappers (strict flags, plus the definitions the
build derives from the library's header) and CMSIS-NN's int8 sources (its own
flags; on x86 it takes its portable C paths) are built with the host gcc and
checked:

* kernel by kernel against ref on random shapes (the simd/sparse harness);
* the host's scratch plan against CMSIS-NN's own ``*_get_buffer_size``;
* single-op and whole models exported with backend cmsisnn against the TFLite
  Micro runtime, layer by layer;
* the firmware's CMake module (firmware/cmake/cmsisnn.cmake) in a small CMake
  project, and the Cortex-M7 cross-compile of the wrappers under -Werror.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import cbuild
import nn_kernel_harness as h
from edgekws.errors import FirmwareError
from edgekws.export import kernels
from edgekws.export import kernels_cmsisnn as kc

CMSIS_FLAGS = ("-std=c11", "-O2")  # CMSIS-NN is third-party code: its own flags, no -Werror
NN_ERR_ARG = -1
NN_ERR_UNSUPPORTED = -2
INCLUDE_LINE = f'#include "{kc.HEADER}"'


# ----------------------------------------------------------------------------- without CMSIS-NN


def test_missing_cmsisnn_is_a_one_line_error(monkeypatch, tmp_path):
    monkeypatch.delenv(kc.ENV_VAR, raising=False)
    monkeypatch.setenv(kc.CACHE_ENV, str(tmp_path / "no_cache"))
    assert not kc.available()
    with pytest.raises(FirmwareError, match=re.escape("CMSIS-NN not available: set EDGEKWS_CMSISNN_DIR or run "
                                                      "tools/fetch_cmsisnn.py")):
        kc.cmsisnn_dir()
    monkeypatch.setenv(kc.ENV_VAR, str(tmp_path))
    with pytest.raises(FirmwareError, match="is not a CMSIS-NN checkout"):
        kc.cmsisnn_dir()


def test_cache_is_the_default_and_the_variable_overrides_it(monkeypatch, tmp_path):
    """No EDGEKWS_CMSISNN_DIR: the fetched cache; EDGEKWS_CMSISNN_DIR wins over it; "off" turns both off."""
    fake = tmp_path / "cache"
    (fake / "Include").mkdir(parents=True)
    (fake / "Source").mkdir()
    (fake / "Include" / "arm_nnfunctions.h").write_text("/* $Revision:    V.12.5.1 */\n")
    other = tmp_path / "other"
    (other / "Include").mkdir(parents=True)
    (other / "Source").mkdir()
    (other / "Include" / "arm_nnfunctions.h").write_text("/* $Revision:    V.18.0.0 */\n")
    monkeypatch.delenv(kc.ENV_VAR, raising=False)
    monkeypatch.setenv(kc.CACHE_ENV, str(fake))
    assert kc.cmsisnn_dir() == fake.resolve()
    monkeypatch.setenv(kc.ENV_VAR, str(other))
    assert kc.cmsisnn_dir() == other.resolve()
    monkeypatch.setenv(kc.ENV_VAR, "off")
    assert not kc.available()
    with pytest.raises(FirmwareError, match="turned off by EDGEKWS_CMSISNN_DIR=off"):
        kc.cmsisnn_dir()


def _fetch_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("fetch_cmsisnn", cbuild.REPO_ROOT / "tools" / "fetch_cmsisnn.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fetch_script_and_exporter_agree_on_the_cache(monkeypatch, tmp_path):
    fetch = _fetch_script()
    monkeypatch.delenv(kc.CACHE_ENV, raising=False)
    assert fetch.default_dir() == kc.cache_dir()
    assert fetch.CMSISNN_VERSION == kc.CACHE_VERSION and fetch.CACHE_ENV == kc.CACHE_ENV
    monkeypatch.setenv(kc.CACHE_ENV, str(tmp_path))
    assert fetch.default_dir() == kc.cache_dir() == tmp_path


def test_fetch_script_checks_what_it_extracts(tmp_path):
    """Offline parts of tools/fetch_cmsisnn.py: a wheel that is not the pinned one is refused; only Include/
    and Source/ under the wheel's CMSIS-NN folder come out (no Tests/, no path escaping the target); a cache
    whose files differ from the pinned tree does not pass the check."""
    import zipfile

    fetch = _fetch_script()
    fake = tmp_path / fetch.WHEEL_NAME
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr(fetch.WHEEL_PREFIX + "Include/arm_nnfunctions.h", "/* SPDX-License-Identifier: Apache-2.0 */")
        zf.writestr(fetch.WHEEL_PREFIX + "Source/X/a_s8.c", "/* SPDX-License-Identifier: Apache-2.0 */")
        zf.writestr(fetch.WHEEL_PREFIX + "Tests/t.c", "")
        zf.writestr(fetch.WHEEL_PREFIX + "Source/../../escape.c", "")
        zf.writestr("aidge_export_arm_cortexm/other.py", "")
    with pytest.raises(fetch.FetchError, match="has sha256"):
        fetch.verify_wheel(fake)
    out = tmp_path / "out"
    assert fetch.extract(fake, out) == 2
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["Include/arm_nnfunctions.h", "Source/X/a_s8.c"]
    with pytest.raises(fetch.FetchError, match="no manifest.json"):
        fetch.check(out)
    (out / fetch.MANIFEST).write_text(json.dumps({"cmsis_nn_version": fetch.CMSISNN_VERSION,
                                                  "upstream_commit": fetch.UPSTREAM_COMMIT,
                                                  "wheel_sha256": fetch.WHEEL_SHA256,
                                                  "tree_sha256": fetch.TREE_SHA256, "license": "Apache-2.0"}))
    with pytest.raises(fetch.FetchError, match="differ from CMSIS-NN 12.5.1"):
        fetch.check(out)


def test_fetched_cache_is_the_pinned_tree(cmsisnn_root):
    """When the configured CMSIS-NN is the fetched cache, it passes the script's own check (version, commit,
    wheel and tree sha256, licence files)."""
    fetch = _fetch_script()
    if cmsisnn_root != kc.cache_dir().resolve():
        pytest.skip(f"CMSIS-NN comes from {kc.ENV_VAR}={cmsisnn_root}, not the fetched cache")
    manifest = fetch.check(cmsisnn_root)
    assert manifest["license"] == "Apache-2.0" and kc.features(cmsisnn_root).version_text == "12.5.1"
    assert "Apache-2.0" in (cmsisnn_root / "NOTICE").read_text()


def _header(tmp_path: Path, name: str, revision: str, extra: str = "",
            vector_sum: str = "int32_t *b, const int32_t c, const int32_t r, const int8_t *d") -> Path:
    root = tmp_path / name
    (root / "Include").mkdir(parents=True)
    (root / "Source").mkdir()
    (root / "Include" / "arm_nnfunctions.h").write_text(
        f"/* $Revision:    V.{revision} */\narm_cmsis_nn_status arm_vector_sum_s8({vector_sum});\n{extra}\n")
    return root


def test_features_are_read_from_the_header(tmp_path):
    """Version, per-channel FC and arm_vector_sum_s8's arity come from the header, never from the path."""
    old = kc.features(_header(tmp_path, "old", "12.5.1"))
    assert (old.version, old.fc_per_channel, old.grouped_conv, old.vector_sum_args) == ((12, 5, 1), False, False, 4)
    mid = kc.features(_header(tmp_path, "mid", "13.0.0", vector_sum="int32_t *b, int32_t c, int32_t r, "
                                                                    "const int8_t *d, int32_t o, const int32_t *x"))
    assert (mid.grouped_conv, mid.fc_per_channel, mid.vector_sum_args) == (True, False, 6)
    new = kc.features(_header(tmp_path, "new", "18.0.0", extra="arm_cmsis_nn_status arm_fully_connected_per_channel_s8"
                                                               "(const cmsis_nn_context *ctx);",
                              vector_sum="int32_t *b, int32_t c, int32_t r, const int8_t *d, int32_t o, int32_t f, "
                                         "const int32_t *x"))
    assert (new.fc_per_channel, new.grouped_conv, new.vector_sum_args) == (True, True, 7)
    assert "EDGEKWS_CMSISNN_VERSION=180000" in kc.compile_definitions(tmp_path / "new")
    with pytest.raises(FirmwareError, match="names no"):
        kc.features(_header(tmp_path, "norev", "x"))


def test_registry_rows_match_the_c_header():
    """One row per op, named like the prototypes in nn_cmsisnn.h, TFLite weights untouched, no aux."""
    rows: dict = {}
    kc.register(rows, kernels.KernelSpec)
    header = (cbuild.INCLUDE / kc.HEADER).read_text()
    assert set(rows) == {(op, "cmsisnn") for op in kc.OPS}
    for (op, _), spec in rows.items():
        assert re.search(rf"\bint {spec.function}\(", header), spec.function
        assert spec.member == kernels.REGISTRY[(op, "ref")].member
        assert spec.relayout is None and spec.aux is None


def _layer(op, in_dims, filter_dims, out_dims, **params):
    return kernels.KernelLayer(op, in_dims, filter_dims, out_dims, params)


def test_planned_scratch_for_ds_cnn_s():
    """The DS-CNN-S layers: im2col for the 10x4 conv, none for 3x3 depthwise, the Arm Compiler 1x1 column,
    one int32 per channel for the average pool."""
    conv1 = _layer("CONV_2D", (1, 49, 10, 1), (64, 10, 4, 1), (1, 25, 5, 64), stride=(2, 2), padding=(4, 1))
    dw = _layer("DEPTHWISE_CONV_2D", (1, 25, 5, 64), (1, 3, 3, 64), (1, 25, 5, 64), padding=(1, 1))
    pw = _layer("CONV_2D", (1, 25, 5, 64), (64, 1, 1, 64), (1, 25, 5, 64))
    pool = _layer("AVERAGE_POOL_2D", (1, 25, 5, 64), (0, 0, 0, 0), (1, 1, 1, 64), filter=(25, 5))
    fc = _layer("FULLY_CONNECTED", (1, 1, 1, 64), (12, 1, 1, 64), (1, 1, 1, 12))
    assert [kc.planned_scratch(x) for x in (conv1, dw, pw, pool, fc)] == [160, 0, 256, 256, 0]
    assert kc.scratch_bytes(pw, "dsp") == 0 and kc.scratch_bytes(pool, "c") == 0
    dw5 = _layer("DEPTHWISE_CONV_2D", (1, 25, 5, 64), (1, 5, 3, 64), (1, 25, 5, 64), padding=(2, 1))
    assert kc.planned_scratch(dw5) == 64 * 15 * 2  # arm_depthwise_conv_s8_opt's int16 columns


def test_eligibility(monkeypatch, tmp_path):
    add = kernels.KernelLayer("ADD", (1, 4, 5, 3), (0, 0, 0, 0), (1, 4, 5, 3), {})
    assert not kc.eligible(add)  # no in2_dims: treated as broadcasting
    assert not kc.eligible(_layer("SOFTMAX", (1, 1, 1, 12), (0, 0, 0, 0), (1, 1, 1, 12), input_left_shift=31))
    grouped = _layer("CONV_2D", (1, 5, 5, 8), (6, 3, 3, 4), (1, 5, 5, 6), padding=(1, 1))
    bad_groups = _layer("CONV_2D", (1, 5, 5, 8), (5, 3, 3, 4), (1, 5, 5, 5), padding=(1, 1))
    plain = _layer("CONV_2D", (1, 5, 5, 8), (6, 3, 3, 8), (1, 5, 5, 6), padding=(1, 1))
    # grouped convolution only where arm_convolve_s8 takes groups (V.12.6.0 and later)
    monkeypatch.setenv(kc.ENV_VAR, str(_header(tmp_path, "v13", "13.0.0")))
    assert kc.eligible(grouped) and not kc.eligible(bad_groups) and kc.eligible(plain)
    monkeypatch.setenv(kc.ENV_VAR, str(_header(tmp_path, "v12", "12.5.1")))
    assert not kc.eligible(grouped) and kc.eligible(plain)


# ----------------------------------------------------------------------------- with CMSIS-NN


@pytest.fixture(scope="module")
def cmsisnn_root() -> Path:
    """The configured CMSIS-NN; skip without one, fail under CI (tools/setup.sh fetches it there)."""
    if not kc.available():
        if os.environ.get("CI"):
            pytest.fail(f"{kc.UNAVAILABLE} (CI runs tools/setup.sh, which fetches it)")
        pytest.skip(kc.UNAVAILABLE)
    return kc.cmsisnn_dir()


def wrapper_flags(root: Path) -> tuple[str, ...]:
    """The project's strict flags plus the definitions the build derives from this CMSIS-NN's header."""
    return (*cbuild.STRICT_FLAGS, *(f"-D{d}" for d in kc.compile_definitions(root)))


@pytest.fixture(scope="module")
def registered() -> Iterator[None]:
    """The cmsisnn rows in the exporter's registry for these tests (kernels_cmsisnn.register, the call the
    registry makes itself once it lists the backend); the registry is restored afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        if ("CONV_2D", kc.BACKEND) not in kernels.REGISTRY:
            rows: dict = {}
            kc.register(rows, kernels.KernelSpec)
            for key, spec in rows.items():
                mp.setitem(kernels.REGISTRY, key, spec)
        yield


@pytest.fixture(scope="module")
def objects(tmp_path_factory, cmsisnn_root: Path, host_cc: str) -> list[Path]:
    """runner + ref + cmsisnn wrappers (strict flags) as objects, then CMSIS-NN's int8 sources as an archive."""
    del host_cc
    work = tmp_path_factory.mktemp("cmsisnn")
    inc = kc.include_dirs(cmsisnn_root)
    third_party = cbuild.compile_objects(kc.cmsisnn_sources(cmsisnn_root), work / "cmsisnn", inc, CMSIS_FLAGS)
    archive = work / "libcmsisnn.a"
    subprocess.run(["ar", "rcs", str(archive), *map(str, third_party)], check=True)
    ours = cbuild.compile_objects([*cbuild.nn_sources(), *kc.wrapper_sources(cbuild.FIRMWARE)], work / "edgekws",
                                  inc, wrapper_flags(cmsisnn_root))
    return [*ours, archive]


SHIM_C = r"""
#include <string.h>
#include "arm_nnfunctions.h"
/* v: in[4] filter[4] out[4] stride(h,w) padding(h,w) dilation(h,w) ch_mult */
static cmsis_nn_dims dims(const int32_t *v) { cmsis_nn_dims d = {v[0], v[1], v[2], v[3]}; return d; }
int32_t shim_conv(const int32_t *v, int dsp) {
    cmsis_nn_conv_params p;
    memset(&p, 0, sizeof p);
    p.stride.h = v[12]; p.stride.w = v[13]; p.padding.h = v[14]; p.padding.w = v[15];
    p.dilation.h = v[16]; p.dilation.w = v[17];
    const cmsis_nn_dims i = dims(v), f = dims(v + 4), o = dims(v + 8);
    return dsp ? arm_convolve_wrapper_s8_get_buffer_size_dsp(&p, &i, &f, &o)
               : arm_convolve_wrapper_s8_get_buffer_size(&p, &i, &f, &o);
}
int32_t shim_dw(const int32_t *v, int dsp) {
    cmsis_nn_dw_conv_params p;
    memset(&p, 0, sizeof p);
    p.stride.h = v[12]; p.stride.w = v[13]; p.padding.h = v[14]; p.padding.w = v[15];
    p.dilation.h = v[16]; p.dilation.w = v[17]; p.ch_mult = v[18];
    const cmsis_nn_dims i = dims(v), f = dims(v + 4), o = dims(v + 8);
    return dsp ? arm_depthwise_conv_wrapper_s8_get_buffer_size_dsp(&p, &i, &f, &o)
               : arm_depthwise_conv_wrapper_s8_get_buffer_size(&p, &i, &f, &o);
}
int32_t shim_avgpool(int32_t out_w, int32_t ch, int dsp) {
    return dsp ? arm_avgpool_s8_get_buffer_size_dsp(out_w, ch) : arm_avgpool_s8_get_buffer_size(out_w, ch);
}
int32_t shim_fc(int32_t depth, int32_t units, int dsp) {
    const cmsis_nn_dims f = {depth, 1, 1, units};
    return dsp ? arm_fully_connected_s8_get_buffer_size_dsp(&f) : arm_fully_connected_s8_get_buffer_size(&f);
}
"""


@pytest.fixture(scope="module")
def lib(tmp_path_factory, objects: list[Path], cmsisnn_root: Path, registered) -> ctypes.CDLL:
    del registered
    work = tmp_path_factory.mktemp("cmsisnn_lib")
    shim = work / "shim.c"
    shim.write_text(SHIM_C)
    *ours, archive = objects
    so = cbuild.compile_shared([*ours, shim, archive], work / "libcmsisnn_kernels.so",
                               kc.include_dirs(cmsisnn_root))
    lib = ctypes.CDLL(str(so))
    for name in ("shim_conv", "shim_dw", "shim_avgpool", "shim_fc"):
        getattr(lib, name).restype = ctypes.c_int32
    return lib


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"])
def test_cmsisnn_matches_ref_on_random_layers(lib, op):
    """Random shapes, strides, paddings, dilations, groups of channels, offsets, activations, batches."""
    rng = np.random.default_rng({"CONV_2D": 21, "DEPTHWISE_CONV_2D": 22, "FULLY_CONNECTED": 23}[op])
    compared = cases = 0
    for _ in range(250):
        case = h.random_case(rng, op)
        if kc.eligible(case.layer()):
            compared += h.compare(lib, case, kc.BACKEND)
            cases += 1
    assert cases >= 200 and compared > 5000


def test_cmsisnn_special_paths(lib, cmsisnn_root):
    """Shapes that steer CMSIS-NN's wrappers to each specialised kernel: 1x1 (stride 1 and 2), 1xN on a
    one-row input, grouped conv, 3x3 depthwise, depthwise with multiplier, per-tensor and per-channel FC."""
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(40):
        for stride in ((1, 1), (2, 2)):
            case = h.random_conv(rng)
            c = case.in_dims[3]
            oc = int(rng.integers(1, 12))
            hh, ww = case.in_dims[1], case.in_dims[2]
            out = (1, (hh - 1) // stride[0] + 1, (ww - 1) // stride[1] + 1, oc)
            cm = h._common(rng, oc, c)
            w = rng.integers(-127, 128, (oc, 1, 1, c)).astype(np.int8)
            p = dict(case.params, stride=stride, padding=(0, 0), dilation=(1, 1), depth_multiplier=1)
            x = rng.integers(-128, 128, hh * ww * c).astype(np.int8)
            checked += h.compare(lib, h.Case("CONV_2D", (1, hh, ww, c), (oc, 1, 1, c), out, p, w, cm["bias"],
                                             cm["mult"], cm["shift"], x), kc.BACKEND)
        # 1xN: one input row, stride*channels a multiple of 4
        c, kw, ow = 4 * int(rng.integers(1, 4)), int(rng.integers(1, 6)), int(rng.integers(1, 9))
        iw = ow + kw - 1
        oc = int(rng.integers(1, 9))
        cm = h._common(rng, oc, kw * c)
        p = dict(input_offset=cm["in_off"], output_offset=cm["out_off"], stride=(1, 1), padding=(0, 0),
                 dilation=(1, 1), depth_multiplier=1, act_min=cm["act"][0], act_max=cm["act"][1])
        checked += h.compare(lib, h.Case("CONV_2D", (1, 1, iw, c), (oc, 1, kw, c), (1, 1, ow, oc), p,
                                         rng.integers(-127, 128, (oc, 1, kw, c)).astype(np.int8), cm["bias"],
                                         cm["mult"], cm["shift"], rng.integers(-128, 128, iw * c).astype(np.int8)),
                             kc.BACKEND)
        # grouped: in_c = groups * f_c, out_c = groups * m
        groups, f_c, m = int(rng.integers(2, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
        hh, ww = int(rng.integers(2, 7)), int(rng.integers(2, 7))
        cm = h._common(rng, groups * m, 9 * f_c)
        p = dict(input_offset=cm["in_off"], output_offset=cm["out_off"], stride=(1, 1), padding=(1, 1),
                 dilation=(1, 1), depth_multiplier=1, act_min=cm["act"][0], act_max=cm["act"][1])
        grouped = h.Case("CONV_2D", (1, hh, ww, groups * f_c), (groups * m, 3, 3, f_c), (1, hh, ww, groups * m), p,
                         rng.integers(-127, 128, (groups * m, 3, 3, f_c)).astype(np.int8), cm["bias"], cm["mult"],
                         cm["shift"], rng.integers(-128, 128, hh * ww * groups * f_c).astype(np.int8))
        if kc.features(cmsisnn_root).grouped_conv:
            checked += h.compare(lib, grouped, kc.BACKEND)
        else:  # before V.12.6.0: never eligible, and the wrapper refuses it rather than compute it wrong
            assert not kc.eligible(grouped.layer())
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(kc, "configured_features", lambda: dataclasses.replace(kc.features(cmsisnn_root),
                                                                                  grouped_conv=True))
                assert h.run_kernel(lib, grouped, kc.BACKEND)[0] == NN_ERR_UNSUPPORTED
        # 3x3 depthwise with SAME padding (arm_depthwise_conv_3x3_s8) and a depth multiplier (generic kernel)
        for dm in (1, 2):
            c = int(rng.integers(1, 20))
            hh, ww = int(rng.integers(1, 9)), int(rng.integers(1, 9))
            cm = h._common(rng, c * dm, 9)
            p = dict(input_offset=cm["in_off"], output_offset=cm["out_off"], stride=(1, 1), padding=(1, 1),
                     dilation=(1, 1), depth_multiplier=dm, act_min=cm["act"][0], act_max=cm["act"][1])
            checked += h.compare(lib, h.Case("DEPTHWISE_CONV_2D", (1, hh, ww, c), (1, 3, 3, c * dm),
                                             (1, hh, ww, c * dm), p,
                                             rng.integers(-127, 128, (1, 3, 3, c * dm)).astype(np.int8),
                                             cm["bias"], cm["mult"], cm["shift"],
                                             rng.integers(-128, 128, hh * ww * c).astype(np.int8)), kc.BACKEND)
        # FC with one requantization for all units (arm_fully_connected_s8)
        fc = h.random_fc(rng)
        fc.multiplier[:] = fc.multiplier[0]
        fc.shift[:] = fc.shift[0]
        checked += h.compare(lib, fc, kc.BACKEND)
        # per-channel FC whose units share requantizations in runs (the path without
        # arm_fully_connected_per_channel_s8 makes one call per run and batch), several batches, with and
        # without bias
        fc = h.random_fc(rng)
        units = fc.filter_dims[0]
        run_of = np.sort(rng.integers(0, min(4, units), units))
        fc.multiplier[:] = fc.multiplier[run_of]
        fc.shift[:] = fc.shift[run_of]
        fc = dataclasses.replace(fc, in_dims=(3, 1, 1, fc.in_dims[3]), out_dims=(3, 1, 1, units),
                                 x=rng.integers(-128, 128, 3 * fc.in_dims[3]).astype(np.int8),
                                 bias=None if rng.random() < 0.3 else fc.bias)
        checked += h.compare(lib, fc, kc.BACKEND)
    assert checked > 10000


def _vec(layer) -> np.ndarray:
    p = layer.params
    return np.array([*layer.in1_dims, *layer.filter_dims, *layer.out_dims, *p.get("stride", (1, 1)),
                     *p.get("padding", (0, 0)), *p.get("dilation", (1, 1)), p.get("depth_multiplier", 1)],
                    np.int32)


def _c_sizes(lib, fn: str, layer) -> tuple[int, int]:
    v = _vec(layer)
    f = getattr(lib, fn)
    return tuple(int(f(v.ctypes.data_as(ctypes.c_void_p), dsp)) for dsp in (0, 1))  # type: ignore[return-value]


def _random_shape(rng: np.random.Generator, depthwise: bool) -> kernels.KernelLayer:
    """A conv / depthwise layer shape reaching every branch of CMSIS-NN's wrappers (1x1, 1xN, 3x3, groups)."""
    while True:
        n = 2 if rng.random() < 0.1 else 1
        ih = 1 if rng.random() < 0.25 else int(rng.integers(1, 12))
        iw, c = int(rng.integers(1, 12)), int(rng.choice([1, 3, 4, 8, 16, 17]))
        r = rng.random()
        k = (1, 1) if r < 0.3 else (3, 3) if r < 0.55 else (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        s = (1, 1) if rng.random() < 0.6 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        d = (1, 1) if rng.random() < 0.8 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        p = (0, 0) if rng.random() < 0.4 else (int(rng.integers(0, k[0])), int(rng.integers(0, k[1])))
        oh = (ih + 2 * p[0] - (d[0] * (k[0] - 1) + 1)) // s[0] + 1
        ow = (iw + 2 * p[1] - (d[1] * (k[1] - 1) + 1)) // s[1] + 1
        if oh >= 1 and ow >= 1:
            break
    params = dict(stride=s, padding=p, dilation=d, depth_multiplier=1)
    if depthwise:
        dm = 1 if rng.random() < 0.8 else 2
        params["depth_multiplier"] = dm
        return kernels.KernelLayer("DEPTHWISE_CONV_2D", (n, ih, iw, c), (1, *k, c * dm), (n, oh, ow, c * dm), params)
    groups = int(rng.choice([g for g in (1, 1, 1, 2, 4) if c % g == 0]))
    oc = groups * int(rng.integers(1, 5))
    return kernels.KernelLayer("CONV_2D", (n, ih, iw, c), (oc, *k, c // groups), (n, oh, ow, oc), params)


def test_scratch_rules_match_cmsisnn(lib):
    """The host's copy of CMSIS-NN's buffer-size rules gives the same bytes as CMSIS-NN itself, on the
    plain-C and the DSP target; the plan always covers both."""
    rng = np.random.default_rng(3)
    seen = {"conv_zero": 0, "conv_im2col": 0, "dw_zero": 0, "dw_opt": 0}
    for i in range(600):
        depthwise = i % 2 == 1
        layer = _random_shape(rng, depthwise)
        c_plain, c_dsp = _c_sizes(lib, "shim_dw" if depthwise else "shim_conv", layer)
        assert kc.planned_scratch(layer) >= max(c_plain, c_dsp), layer
        if depthwise or layer.in1_dims[3] == layer.filter_dims[3]:
            # (CMSIS-NN v7.0.0 sizes a grouped 1x1 conv like an ungrouped one: only the bound holds there)
            assert (kc.scratch_bytes(layer, "c"), kc.scratch_bytes(layer, "dsp")) == (c_plain, c_dsp), layer
        key = ("dw_" if depthwise else "conv_") + ("zero" if c_dsp == 0 else ("opt" if depthwise else "im2col"))
        seen[key] += 1
    assert all(v > 20 for v in seen.values()), seen
    for out_w, ch in ((1, 64), (5, 3), (12, 17)):
        pool = _layer("AVERAGE_POOL_2D", (1, 25, 9, ch), (0, 0, 0, 0), (1, 1, out_w, ch), filter=(3, 3))
        assert (lib.shim_avgpool(out_w, ch, 0), lib.shim_avgpool(out_w, ch, 1)) == \
            (kc.scratch_bytes(pool, "c"), kc.scratch_bytes(pool, "dsp"))
    assert lib.shim_fc(64, 12, 0) == lib.shim_fc(64, 12, 1) == 0


def test_scratch_shortfall_is_an_error_not_an_overrun(lib):
    rng = np.random.default_rng(9)
    case = h.random_conv(rng, max_hw=6)
    case.params.update(padding=(1, 1))
    case = h.Case(case.op, case.in_dims, case.filter_dims, case.out_dims, case.params, case.weights, case.bias,
                  case.multiplier, case.shift, case.x)
    if kc.scratch_bytes(case.layer(), "c") == 0:
        pytest.fail("expected an im2col shape")
    assert h.run_kernel(lib, case, kc.BACKEND)[0] == 0
    assert h.run_kernel(lib, case, kc.BACKEND, scratch_delta=-4)[0] == NN_ERR_ARG


SANITIZED_SWEEP = r"""
import ctypes, sys
import numpy as np
import nn_kernel_harness as h
from edgekws.export import kernels, kernels_cmsisnn as kc
if ("CONV_2D", kc.BACKEND) not in kernels.REGISTRY:
    kc.register(kernels.REGISTRY, kernels.KernelSpec)
lib = ctypes.CDLL(sys.argv[1])
rng = np.random.default_rng(int(sys.argv[3]))
n = 0
for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
    for _ in range(int(sys.argv[2])):
        case = h.random_case(rng, op)
        if kc.eligible(case.layer()):
            n += h.compare(lib, case, kc.BACKEND)
print(n)
"""


@pytest.mark.slow
def test_sanitizers(tmp_path, cmsisnn_root, host_cc):
    """Random layers with the wrappers and ref under ASan + UBSan and CMSIS-NN under ASan: the planned scratch
    is enough, nothing reads or writes out of bounds (aborts on any report)."""
    del host_cc
    inc = kc.include_dirs(cmsisnn_root)
    third_party = cbuild.compile_objects(kc.cmsisnn_sources(cmsisnn_root), tmp_path / "cmsisnn", inc,
                                         (*CMSIS_FLAGS, "-g", "-fsanitize=address"))
    archive = tmp_path / "libcmsisnn.a"
    subprocess.run(["ar", "rcs", str(archive), *map(str, third_party)], check=True)
    so = cbuild.compile_shared([*cbuild.nn_sources(), *kc.wrapper_sources(cbuild.FIRMWARE), archive],
                               tmp_path / "libasan_cmsisnn.so", inc,
                               flags=("-std=c11", "-Wall", "-Wextra", "-Werror", *cbuild.SANITIZE_FLAGS,
                                      *(f"-D{d}" for d in kc.compile_definitions(cmsisnn_root))))
    asan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, LD_PRELOAD=asan, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1", PYTHONPATH=str(Path(__file__).parent))
    proc = subprocess.run([sys.executable, "-c", SANITIZED_SWEEP, str(so), "80", "13"], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) > 10000


# ----------------------------------------------------------------------------- models vs TFLite Micro


def _backends_for(tflite: bytes) -> list[str]:
    from edgekws.export.tflite_graph import read_graph

    return [kc.BACKEND if op.op in kc.OPS else "ref" for op in read_graph(tflite).operators]


def ensure_header_included(gen_dir: Path) -> None:
    """Until the exporter's backend_includes() names nn_cmsisnn.h, add it to the generated C."""
    model_c = gen_dir / "edgekws_model.c"
    text = model_c.read_text()
    if INCLUDE_LINE not in text:
        model_c.write_text(text.replace('#include "edgekws_model.h"', f'#include "edgekws_model.h"\n{INCLUDE_LINE}',
                                        1))


def check_cmsisnn_model(tflite: bytes, work: Path, objects: list[Path], n_inputs: int = 12,
                        per_layer: bool = False) -> int:
    """Export with every supported layer on cmsisnn, build for the host, compare with TFLite Micro."""
    from edgekws.export.codegen_c import export_c
    from edgekws.tflm import TflmModel
    from test_nn_ops import check_layers_identical, write_bundle

    tm = TflmModel(tflite)
    n_in, n_out = int(np.prod(tm.input_shape)), int(np.prod(tm.output_shape))
    backends = _backends_for(tflite)
    bundle = write_bundle(work / "bundle", tflite, n_out, layers=[{"backend": b} for b in backends])
    export_c(bundle, work / "gen")
    ensure_header_included(work / "gen")
    lib = cbuild.build_model_lib(work / "gen", work / "build", nn_objects=objects)
    assert [row[2] for row in lib.layer_strings()] == backends
    assert lib.selftest() == 0
    rng = np.random.default_rng(0)
    xs = [rng.integers(-128, 128, n_in).astype(np.int8) for _ in range(n_inputs)]
    xs += [np.full(n_in, -128, np.int8), np.full(n_in, 127, np.int8)]
    for x in xs:
        want = tm.run(x).reshape(-1)
        got = lib.run(x)
        assert np.array_equal(got, want), f"differs at {np.flatnonzero(got != want)[:8]}"
    compared = len(xs) * n_out
    if per_layer:
        compared += check_layers_identical(tflite, lib, xs[:4])
    return compared


def _single_op_cases():
    import test_nn_ops as ops

    cases = [("conv", c) for c in ops.CONV_CASES] + [("dw", c) for c in ops.DW_CASES]
    cases += [("fc", c) for c in ops.FC_CASES]
    cases += [(kind, c) for kind in ("avgpool", "maxpool") for c in ops.POOL_CASES]
    cases += [("add", c) for c in ops.ADD_CASES if not c.get("broadcast")]
    cases += [("softmax", c) for c in ops.SOFTMAX_CASES]
    return cases


SINGLE_OP_CASES = _single_op_cases()


@pytest.mark.parametrize(("kind", "case"), SINGLE_OP_CASES, ids=[f"{k}-{i}" for i, (k, _) in
                                                                  enumerate(SINGLE_OP_CASES)])
def test_single_op_identical_to_tflite_micro(kind, case, tmp_path, objects, registered):
    del registered
    import test_nn_ops as ops

    rng = np.random.default_rng(600 + len(str(case)))
    build = {"conv": lambda: ops.conv_model(rng, **case), "dw": lambda: ops.conv_model(rng, depthwise=True, **case),
             "fc": lambda: ops.fc_model(rng, **case),
             "avgpool": lambda: ops.pool_model(rng, kind="AVERAGE_POOL_2D", **case),
             "maxpool": lambda: ops.pool_model(rng, kind="MAX_POOL_2D", **case),
             "add": lambda: ops.add_model(rng, **case), "softmax": lambda: ops.softmax_model(rng, **case)}[kind]
    assert check_cmsisnn_model(build(), tmp_path, objects, n_inputs=20 if kind == "softmax" else 8) > 0


@pytest.mark.parametrize(("zero_fraction", "residual", "maxpool"), [(0.0, True, False), (0.6, False, True),
                                                                   (0.9, True, False)])
def test_chain_model_identical_to_tflite_micro(zero_fraction, residual, maxpool, tmp_path, objects, registered):
    """conv 10x4/2 -> 2 x (dw 3x3 -> pw 1x1) + residual ADD -> pool -> reshape -> FC -> softmax, every layer
    but the reshape on cmsisnn, compared layer by layer."""
    del registered
    from test_nn_ops import chain_model

    tflite = chain_model(np.random.default_rng(int(zero_fraction * 10) + 41), zero_fraction, residual, maxpool)
    assert check_cmsisnn_model(tflite, tmp_path, objects, n_inputs=16, per_layer=True) > 0


@pytest.mark.slow
def test_ds_cnn_s_recipe_identical_to_tflite_micro(tmp_path, objects, registered):
    """The model zoo's DS-CNN-S as train/compress build and quantize it (Keras -> TFLite int8)."""
    del registered
    from edgekws.compress.quantize import quantize_int8
    from edgekws.train.models import build_model
    from edgekws.train.recipe import load_recipe
    from test_nn_models import _he_init

    model = build_model(load_recipe("ds-cnn-s").model, (49, 10), 12)
    _he_init(model)
    tflite = quantize_int8(model, np.random.default_rng(0).standard_normal((16, 49, 10, 1)).astype(np.float32))
    assert check_cmsisnn_model(tflite, tmp_path, objects, n_inputs=8, per_layer=True) > 0


# ----------------------------------------------------------------------------- firmware build


def test_arm_build_of_the_wrappers_is_warning_free(tmp_path, cmsisnn_root, arm_gcc):
    """The wrappers under the firmware's -Wall -Wextra -Werror for the Cortex-M7; CMSIS-NN there takes its
    DSP paths (SMLAD in its int16 matrix kernel)."""
    inc = kc.include_dirs(cmsisnn_root)
    defines = [f"-D{d}" for d in kc.compile_definitions(cmsisnn_root)]
    for src in kc.wrapper_sources(cbuild.FIRMWARE):
        proc = subprocess.run([arm_gcc, *cbuild.ARM_FLAGS, *defines, f"-I{cbuild.INCLUDE}", f"-I{inc[0]}", "-c",
                               str(src), "-o", str(tmp_path / f"{src.stem}.o")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert len(list(tmp_path.glob("*_cmsisnn.o"))) == len(kc.OPS)
    kernel = next(s for s in kc.cmsisnn_sources(cmsisnn_root) if s.name == "arm_nn_mat_mult_kernel_s8_s16.c")
    obj = tmp_path / "mat_mult.o"
    flags = [f for f in cbuild.ARM_FLAGS if not f.startswith("-W")]
    subprocess.run([arm_gcc, *flags, f"-I{inc[0]}", "-c", str(kernel), "-o", str(obj)], check=True)
    objdump = shutil.which("arm-none-eabi-objdump")
    if objdump is None:
        pytest.skip("arm-none-eabi-objdump is not installed")
    text = subprocess.run([objdump, "-d", str(obj)], capture_output=True, text=True, check=True).stdout
    assert "smlad" in text


CMAKE_MAIN_C = r"""
#include <string.h>
#include "edgekws_model.h"
int main(void)
{
    for (int i = 0; i < EDGEKWS_SELFTEST_COUNT; ++i) {
        memcpy(nn_input(&edgekws_model), edgekws_selftest_input[i], EDGEKWS_INPUT_SIZE);
        if (nn_invoke(&edgekws_model, NULL, NULL) != 0 ||
            memcmp(nn_output(&edgekws_model), edgekws_selftest_expected[i], EDGEKWS_OUTPUT_SIZE) != 0) {
            return 1;
        }
    }
    return 0;
}
"""


def _cmake_project(root: Path, model_dir: Path) -> Path:
    """A host CMake project shaped like firmware/CMakeLists.txt around an edgekws_fw target."""
    nn = [p.as_posix() for p in cbuild.nn_sources()]
    gen = [p.as_posix() for p in sorted(model_dir.glob("*.c"))]
    (root / "main.c").write_text(CMAKE_MAIN_C)
    (root / "CMakeLists.txt").write_text("\n".join([
        "cmake_minimum_required(VERSION 3.20)",
        "project(cmsisnn_cmake_test C)",
        'set(EDGEKWS_C_FLAGS -std=c11 -O2 -Wall -Wextra -Werror)',
        f'set(EDGEKWS_MODEL_DIR "{model_dir.as_posix()}")',
        "add_executable(edgekws_fw main.c " + " ".join(f'"{s}"' for s in [*nn, *gen]) + ")",
        f'target_include_directories(edgekws_fw PRIVATE "{cbuild.INCLUDE.as_posix()}" "{model_dir.as_posix()}")',
        "target_compile_options(edgekws_fw PRIVATE ${EDGEKWS_C_FLAGS})",
        f'include("{(cbuild.FIRMWARE / "cmake" / "cmsisnn.cmake").as_posix()}")',
        ""]))
    return root


def _export(tflite: bytes, out: Path, backend: str) -> Path:
    from edgekws.export.codegen_c import export_c
    from test_nn_ops import write_bundle

    backends = _backends_for(tflite) if backend == kc.BACKEND else None
    extra = {"layers": [{"backend": b} for b in backends]} if backends else {}
    export_c(write_bundle(out / "bundle", tflite, 12, **extra), out / "gen")
    if backend == kc.BACKEND:
        ensure_header_included(out / "gen")
    return out / "gen"


@pytest.mark.slow
def test_cmake_module(tmp_path, cmsisnn_root, host_cc, registered, monkeypatch):
    """firmware/cmake/cmsisnn.cmake: left out with a message for a model that does not use it; a model that
    needs it takes the fetched cache by default, stops the configure with one message when there is none
    or EDGEKWS_CMSISNN_DIR=off; given through the environment, it builds with the definitions the host
    derives from the same header, and the image passes its TFLite Micro self-test vectors."""
    del host_cc, registered
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not installed")
    from test_nn_ops import chain_model

    tflite = chain_model(np.random.default_rng(5), 0.0, True, False)
    ref_gen = _export(tflite, tmp_path / "ref", "ref")
    cms_gen = _export(tflite, tmp_path / "cms", kc.BACKEND)
    no_cache = tmp_path / "no_cache"

    def configure(name: str, model_dir: Path, env_dir: str | Path | None,
                  cache: Path = no_cache) -> subprocess.CompletedProcess[str]:
        if env_dir is None:
            monkeypatch.delenv(kc.ENV_VAR, raising=False)
        else:
            monkeypatch.setenv(kc.ENV_VAR, str(env_dir))
        monkeypatch.setenv(kc.CACHE_ENV, str(cache))
        src = tmp_path / name
        src.mkdir()
        _cmake_project(src, model_dir)
        return subprocess.run([cmake, "-S", str(src), "-B", str(src / "build")], capture_output=True, text=True)

    left_out = configure("p_ref", ref_gen, None, cache=cmsisnn_root)
    assert left_out.returncode == 0, left_out.stderr
    assert "cmsisnn kernel backend left out (CMSIS-NN not available: set EDGEKWS_CMSISNN_DIR" in left_out.stdout
    refused = configure("p_refused", cms_gen, None)
    assert refused.returncode != 0
    assert "uses the cmsisnn kernel backend, but CMSIS-NN not available: set EDGEKWS_CMSISNN_DIR" in \
        " ".join(refused.stderr.split())
    turned_off = configure("p_off", cms_gen, "off", cache=cmsisnn_root)
    assert turned_off.returncode != 0 and "turned off by EDGEKWS_CMSISNN_DIR=off" in " ".join(turned_off.stderr.split())
    from_cache = configure("p_cache", cms_gen, None, cache=cmsisnn_root)
    assert from_cache.returncode == 0, from_cache.stderr
    assert f"sources from {cmsisnn_root}" in " ".join(from_cache.stdout.split())
    ok = configure("p_ok", cms_gen, cmsisnn_root)
    assert ok.returncode == 0, ok.stderr
    line = " ".join(ok.stdout.split())
    assert f"cmsisnn kernel backend on (CMSIS-NN {kc.features(cmsisnn_root).version_text}," in line
    assert line.split("defines: ", 1)[1].split(")")[0].split() == kc.compile_definitions(cmsisnn_root)
    built = subprocess.run([cmake, "--build", str(tmp_path / "p_ok" / "build"), "-j", "2"], capture_output=True,
                           text=True)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    exe = tmp_path / "p_ok" / "build" / "edgekws_fw"
    assert subprocess.run([str(exe)]).returncode == 0


@pytest.mark.slow
@pytest.mark.emulator
def test_cmsisnn_image_passes_tflite_micro_selftest_in_qemu(tmp_path, cmsisnn_root, arm_gcc, qemu_arm, registered):
    """The Cortex-M7 image (CMSIS-NN on its DSP paths) of a small DS-CNN-shaped model with every layer on
    cmsisnn: the boot self-test compares with TFLite Micro's outputs in QEMU."""
    del arm_gcc, qemu_arm, registered
    sys.path.insert(0, str(cbuild.REPO_ROOT / "benchmarks"))
    import cmsisnn_compare as bench
    from edgekws.device.build import build_config
    from edgekws.device.emulator import run_selftest
    from test_nn_ops import chain_model

    tc = bench.Toolchain(shutil.which("arm-none-eabi-gcc") or "", shutil.which("arm-none-eabi-ar") or "")
    flags = build_config().resolve(bench.BOARD, bench._dummy_model(tmp_path), "selftest").c_flags
    archive = bench.cmsisnn_archive(tc, cmsisnn_root, flags, "-Ofast", tmp_path)
    tflite = chain_model(np.random.default_rng(8), 0.5, True, True)
    gen = bench.export_model(tflite, kc.BACKEND, tmp_path)
    report = run_selftest(bench.build_elf(tc, gen, tmp_path, (cmsisnn_root, archive)), timeout=120)
    assert report["passed"], report["output"][-2000:]
    assert {layer["backend"] for layer in report["layers"] if layer["op"] != "RESHAPE"} == {kc.BACKEND}


def test_compare_bench_refuses_a_bad_bundle_in_one_line(tmp_path):
    """benchmarks/cmsisnn_compare.py --bundle DIR without model.tflite/bundle.json: one error line, exit 2."""
    (tmp_path / "model.tflite").write_bytes(b"")
    proc = subprocess.run([sys.executable, str(cbuild.REPO_ROOT / "benchmarks" / "cmsisnn_compare.py"), "--bundle",
                           str(tmp_path), "--out", str(tmp_path / "out.json")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    assert not (tmp_path / "out.json").exists()
    if kc.available() and shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"):
        assert f"{tmp_path} is not a bundle" in lines[0]
