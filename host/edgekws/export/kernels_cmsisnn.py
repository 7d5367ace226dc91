"""The "cmsisnn" kernel backend's side of the exporter: function names, eligibility, scratch sizes,
and where the CMSIS-NN sources come from.

Why the scratch rules are copied into Python: every CMSIS-NN kernel that needs
working memory has a ``*_get_buffer_size`` function, but the exporter plans the
whole arena on the host, before any C is compiled, so it needs the same figure
from the layer's shape alone. :func:`scratch_bytes` restates those rules (for
CMSIS-NN v7.0.0 and later, as read from its sources) per target core, and
:func:`planned_scratch` plans the largest over the cores without Helium (MVE),
so one exported model fits every Cortex-M0..M7/M33 build. The wrappers in
firmware/src/nn/cmsisnn/ ask CMSIS-NN's own function again on the device and
return NN_ERR_ARG if the plan is short (tests/test_nn_cmsisnn.py checks the two
agree on random shapes).

CMSIS-NN weights use TFLite's layouts as they are: no re-layout, no aux data.

CMSIS-NN itself is not shipped with edgekws: tools/setup.sh runs
tools/fetch_cmsisnn.py, which puts CMSIS-NN 12.5.1 (Apache-2.0, from a pinned
PyPI wheel) into a cache outside the repository, ``~/.cache/edgekws/cmsis-nn-12.5.1``
(``EDGEKWS_CMSISNN_CACHE`` moves it). ``EDGEKWS_CMSISNN_DIR`` overrides the cache
with another checkout (CMake: the variable of the same name), and
``EDGEKWS_CMSISNN_DIR=off`` turns the backend off. :func:`cmsisnn_dir` finds it,
or says in one line how to provide it.

Versions differ in what they can do, so nothing here assumes one:
:func:`features` reads the header's revision and declarations
(``arm_fully_connected_per_channel_s8`` arrived in V.16.3.0, groups in
``arm_convolve_s8`` in V.12.6.0, ``arm_vector_sum_s8`` changed its arguments
twice), :func:`eligible` leaves grouped convolution out where the library cannot
do it, and :func:`compile_definitions` hands the same findings to the C build
(firmware/cmake/cmsisnn.cmake reads them the same way) so the wrappers pick
their path at compile time.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edgekws.errors import FirmwareError

BACKEND = "cmsisnn"
SOURCE_DIR = "cmsisnn"  # firmware/src/nn/cmsisnn
ENV_VAR = "EDGEKWS_CMSISNN_DIR"
CACHE_ENV = "EDGEKWS_CMSISNN_CACHE"
CACHE_VERSION = "12.5.1"  # what tools/fetch_cmsisnn.py puts in the cache
OFF_VALUES = ("off", "none")  # EDGEKWS_CMSISNN_DIR=off: build without CMSIS-NN even when the cache is there
UNAVAILABLE = f"CMSIS-NN not available: set {ENV_VAR} or run tools/fetch_cmsisnn.py"
HEADER = "edgekws/nn_cmsisnn.h"

# Cores the exporter plans scratch for. "c": no DSP extension (Cortex-M0/M3, and host builds);
# "dsp": DSP extension built with GCC (Cortex-M4/M7/M33); "dsp_armclang": the same with Arm
# Compiler 6, whose 1x1 fast convolution also takes an int16 buffer. Helium (MVE) is not planned.
TARGETS = ("c", "dsp", "dsp_armclang")

# CMSIS-NN keeps some dimensions in uint16_t (the wrappers check the same bound).
MAX_DIM = 65535

# op -> (nn_layer_t.kernel union member, C function stem)
OPS: dict[str, tuple[str, str]] = {
    "CONV_2D": ("conv", "conv2d"),
    "DEPTHWISE_CONV_2D": ("conv", "depthwise_conv2d"),
    "FULLY_CONNECTED": ("fc", "fully_connected"),
    "AVERAGE_POOL_2D": ("pool", "avgpool"),
    "MAX_POOL_2D": ("pool", "maxpool"),
    "ADD": ("add", "add"),
    "SOFTMAX": ("softmax", "softmax"),
}


class LayerLike(Protocol):
    """What these rules read from a layer (edgekws.export.kernels.LayerLike, codegen_c.LayerC)."""

    op: str
    in1_dims: tuple[int, int, int, int]
    filter_dims: tuple[int, int, int, int]
    out_dims: tuple[int, int, int, int]
    params: dict[str, Any]


def function_name(op: str) -> str:
    """C entry point of the cmsisnn wrapper for ``op`` (e.g. ``nn_conv2d_s8_cmsisnn``)."""
    return f"nn_{OPS[op][1]}_s8_{BACKEND}"


def _round4(n: int) -> int:
    return (int(n) + 3) & ~3


def _hw(params: dict[str, Any], key: str, default: int) -> tuple[int, int]:
    h, w = params.get(key, (default, default))
    return int(h), int(w)


# ----------------------------------------------------------------------------- eligibility


def _dims_ok(*dims: tuple[int, int, int, int]) -> bool:
    return all(1 <= int(v) <= MAX_DIM for d in dims for v in d)


def eligible(layer: LayerLike) -> bool:
    """Whether the cmsisnn wrapper runs this layer bit-exactly (else it stays on another backend)."""
    op = layer.op
    if op not in OPS:
        return False
    if op == "SOFTMAX":  # arm_softmax_s8 multiplies by (1 << shift)
        return 0 <= int(layer.params.get("input_left_shift", 0)) <= 30
    if op == "ADD":  # arm_elementwise_add_s8 does not broadcast
        in2 = getattr(layer, "in2_dims", None)
        return in2 is not None and tuple(in2) == tuple(layer.in1_dims) == tuple(layer.out_dims) \
            and _dims_ok(layer.out_dims)
    if not _dims_ok(layer.in1_dims, layer.out_dims):
        return False
    if op == "CONV_2D":
        in_c, (f_n, _, _, f_c), out_c = layer.in1_dims[3], layer.filter_dims, layer.out_dims[3]
        if in_c != f_c and not configured_features().grouped_conv:
            return False  # arm_convolve_s8 before V.12.6.0 ignores groups: wrong outputs, not an error
        return _dims_ok(layer.filter_dims) and in_c % f_c == 0 and f_n == out_c and out_c % (in_c // f_c) == 0
    if op == "DEPTHWISE_CONV_2D":
        dm = int(layer.params.get("depth_multiplier", 1))
        return _dims_ok(layer.filter_dims) and dm >= 1 and layer.out_dims[3] == layer.in1_dims[3] * dm
    return True


# ----------------------------------------------------------------------------- scratch (CMSIS-NN's rules)


def _im2col_bytes(layer: LayerLike) -> int:
    """arm_convolve_s8: two int16 im2col columns of round4(kh * kw * in_c) (input channels, not the group's)."""
    _, kh, kw, _ = layer.filter_dims
    return 2 * _round4(kh * kw * layer.in1_dims[3]) * 2


def _conv_bytes(layer: LayerLike, target: str) -> int:
    """arm_convolve_wrapper_s8_get_buffer_size without MVE: the kernel the wrapper picks decides."""
    _, in_h, _, in_c = layer.in1_dims
    _, kh, kw, f_c = layer.filter_dims
    stride, padding, dilation = (_hw(layer.params, k, d) for k, d in (("stride", 1), ("padding", 0),
                                                                      ("dilation", 1)))
    if padding == (0, 0) and (kh, kw) == (1, 1) and dilation == (1, 1) and in_c == f_c:
        if stride == (1, 1) and target == "dsp_armclang":
            return 2 * in_c * 2  # arm_convolve_1x1_s8_fast's int16 column (Arm Compiler 6 only)
        return 0
    # 1xN (arm_convolve_1_x_n_s8) takes the same buffer as the generic kernel off MVE
    return _im2col_bytes(layer)


def _depthwise_bytes(layer: LayerLike, target: str) -> int:
    """arm_depthwise_conv_wrapper_s8_get_buffer_size without MVE."""
    n, _, _, in_c = layer.in1_dims
    _, kh, kw, _ = layer.filter_dims
    padding, dilation = _hw(layer.params, "padding", 0), _hw(layer.params, "dilation", 1)
    if not (layer.out_dims[3] == in_c and n == 1 and dilation == (1, 1)):
        return 0  # generic arm_depthwise_conv_s8: no buffer
    if (kh, kw) == (3, 3) and padding[0] <= 1 and padding[1] <= 1:
        return 0  # arm_depthwise_conv_3x3_s8
    return in_c * kh * kw * 2 if target != "c" else 0  # arm_depthwise_conv_s8_opt's int16 columns


def scratch_bytes(layer: LayerLike, target: str) -> int:
    """Bytes CMSIS-NN's ``*_get_buffer_size`` asks for this layer on ``target`` (one of :data:`TARGETS`)."""
    if target not in TARGETS:
        raise ValueError(f"unknown CMSIS-NN target {target!r} (targets: {', '.join(TARGETS)})")
    if layer.op == "CONV_2D":
        return _conv_bytes(layer, target)
    if layer.op == "DEPTHWISE_CONV_2D":
        return _depthwise_bytes(layer, target)
    if layer.op == "AVERAGE_POOL_2D":
        return 4 * int(layer.in1_dims[3]) if target != "c" else 0  # one int32 sum per channel
    return 0  # FC (off MVE), max pool, add, softmax


def planned_scratch(layer: LayerLike) -> int:
    """Arena scratch the exporter plans: the largest over :data:`TARGETS`, rounded up to 4 bytes.

    A grouped convolution also gets out_c int32 after that: CMSIS-NN's grouped kernel cannot take a
    NULL bias, so the wrapper hands it zeros from there when the layer has none.
    """
    planned = _round4(max(scratch_bytes(layer, t) for t in TARGETS))
    if layer.op == "CONV_2D" and layer.in1_dims[3] != layer.filter_dims[3]:
        planned += 4 * int(layer.out_dims[3])
    return planned


# ----------------------------------------------------------------------------- the registry rows


def register(registry: MutableMapping[tuple[str, str], Any], spec_cls: Callable[..., Any]) -> None:
    """Add one ``(op, "cmsisnn")`` row per op to the exporter's registry.

    ``spec_cls`` is edgekws.export.kernels.KernelSpec, passed in so this module does not import the
    registry (which calls this function while it is being built).
    """
    for op, (member, _) in OPS.items():
        registry[(op, BACKEND)] = spec_cls(op, BACKEND, member, function_name(op), scratch=planned_scratch,
                                           eligible=eligible)


# ----------------------------------------------------------------------------- the CMSIS-NN sources


def _is_cmsisnn(root: Path) -> bool:
    return (root / "Include" / "arm_nnfunctions.h").is_file() and (root / "Source").is_dir()


def cache_dir() -> Path:
    """Where tools/fetch_cmsisnn.py keeps CMSIS-NN: ``$EDGEKWS_CMSISNN_CACHE``, else ~/.cache/edgekws/cmsis-nn-12.5.1
    (the same rule as the script's ``default_dir``)."""
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given).expanduser()
    return Path.home() / ".cache" / "edgekws" / f"cmsis-nn-{CACHE_VERSION}"


def cmsisnn_dir(path: str | Path | None = None) -> Path:
    """The CMSIS-NN checkout: ``path``, else ``$EDGEKWS_CMSISNN_DIR``, else the fetched cache; FirmwareError when
    absent, turned off (``EDGEKWS_CMSISNN_DIR=off``) or not CMSIS-NN."""
    given = path if path is not None else os.environ.get(ENV_VAR) or None
    if given is not None and str(given).strip().lower() in OFF_VALUES:
        raise FirmwareError(f"{UNAVAILABLE} (turned off by {ENV_VAR}={given})")
    if given is None:
        cached = cache_dir()
        if not _is_cmsisnn(cached):
            raise FirmwareError(UNAVAILABLE)
        return cached.resolve()
    root = Path(given).expanduser()
    if not _is_cmsisnn(root):
        raise FirmwareError(f"{root} is not a CMSIS-NN checkout (no Include/arm_nnfunctions.h); "
                            f"set {ENV_VAR} to the CMSIS-NN directory")
    return root.resolve()


def available(path: str | Path | None = None) -> bool:
    """Whether a usable CMSIS-NN checkout is configured (tests skip and autotuning leaves cmsisnn out if not)."""
    try:
        cmsisnn_dir(path)
    except FirmwareError:
        return False
    return True


@dataclass(frozen=True)
class Features:
    """What one CMSIS-NN tree offers, read from its public header (never assumed from where it came from)."""

    version: tuple[int, int, int]  # the header's $Revision (V.12.5.1 -> (12, 5, 1))
    fc_per_channel: bool  # arm_fully_connected_per_channel_s8 is declared
    grouped_conv: bool  # arm_convolve_s8 takes groups (C_IN = groups * filter C): V.12.6.0 and later
    vector_sum_args: int  # parameters of arm_vector_sum_s8 (4, 6 or 7; the Helium FC path calls it)

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


GROUPED_CONV_SINCE = (12, 6, 0)
_REVISION = re.compile(r"\$Revision:\s*V\.?(\d+)\.(\d+)\.(\d+)")
_VECTOR_SUM = re.compile(r"\barm_vector_sum_s8\s*\(([^;{]*)\)\s*;")


@functools.lru_cache(maxsize=8)
def _features_of(header: str) -> Features:
    text = Path(header).read_text(errors="replace")
    m = _REVISION.search(text)
    if m is None:
        raise FirmwareError(f"{header} names no $Revision: V.x.y.z; cannot tell the CMSIS-NN version")
    version = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    vs = _VECTOR_SUM.search(text)
    if vs is None:
        raise FirmwareError(f"{header} declares no arm_vector_sum_s8; not a CMSIS-NN this backend knows")
    return Features(version=version,
                    fc_per_channel=re.search(r"\barm_fully_connected_per_channel_s8\s*\(", text) is not None,
                    grouped_conv=version >= GROUPED_CONV_SINCE,
                    vector_sum_args=vs.group(1).count(",") + 1)


def features(root: str | Path) -> Features:
    """The :class:`Features` of the CMSIS-NN tree at ``root`` (Include/arm_nnfunctions.h); FirmwareError if unreadable."""
    return _features_of(str(Path(root).resolve() / "Include" / "arm_nnfunctions.h"))


def configured_features() -> Features:
    """Features of the configured CMSIS-NN (:func:`cmsisnn_dir`); the least capable set when there is none."""
    try:
        return features(cmsisnn_dir())
    except FirmwareError:
        return Features((0, 0, 0), fc_per_channel=False, grouped_conv=False, vector_sum_args=0)


def compile_definitions(root: str | Path) -> list[str]:
    """The -D definitions (without -D) the wrappers need for the CMSIS-NN at ``root``; the CMake module derives
    the same ones from the same header (tests/test_nn_cmsisnn.py compares them)."""
    f = features(root)
    major, minor, patch = f.version
    return ["EDGEKWS_HAS_CMSISNN=1", f"EDGEKWS_CMSISNN_VERSION={major * 10000 + minor * 100 + patch}",
            f"EDGEKWS_CMSISNN_HAS_FC_PER_CHANNEL={int(f.fc_per_channel)}",
            f"EDGEKWS_CMSISNN_HAS_GROUPED_CONV={int(f.grouped_conv)}",
            f"EDGEKWS_CMSISNN_VECTOR_SUM_ARGS={f.vector_sum_args}"]


def cmsisnn_sources(root: Path) -> list[Path]:
    """The int8 part of CMSIS-NN: every ``Source/*/*.c`` named for s8 or q7, plus the shared tables.

    A superset of what the wrappers call (unused objects are left out at link time); the same rule
    as firmware/cmake/cmsisnn.cmake, so the host tests compile what the firmware does.
    """
    out = []
    for src in sorted(Path(root).glob("Source/*/*.c")):
        if src.parent.name == "Bindings":
            continue
        if "_s8" in src.stem or "q7" in src.stem or src.name == "arm_nntables.c":
            out.append(src)
    return out


def include_dirs(root: Path) -> list[Path]:
    """Include directories CMSIS-NN's sources and the wrappers need."""
    return [Path(root) / "Include"]


def wrapper_sources(firmware: Path) -> list[Path]:
    """The edgekws wrappers (firmware/src/nn/cmsisnn/*.c) under the firmware tree ``firmware``."""
    return sorted((Path(firmware) / "src" / "nn" / SOURCE_DIR).glob("*.c"))
