"""Build portable firmware C with the host compiler for tests (shared library via ctypes, or executable).

Why: the portable modules (nn runner and kernels, protocol, frontend) must be
bit-exact with host references; compiling them for x86 makes that a
seconds-long pytest instead of an emulator run. Other test modules may reuse
:func:`compile_shared` / :func:`compile_executable`.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = REPO_ROOT / "firmware"
INCLUDE = FIRMWARE / "include"
STRICT_FLAGS = ("-std=c11", "-Wall", "-Wextra", "-Werror", "-O2")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1")
ARM_FLAGS = ("-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-std=c11", "-Wall", "-Wextra",
             "-Werror", "-O2")


def nn_sources(backends: tuple[str, ...] = ("ref",)) -> list[Path]:
    """runner.c, stream_runner.c plus every kernel file of the given backends (backend names or firmware/src/nn/ dirs)."""
    try:
        from edgekws.export.kernels import SOURCE_DIRS
    except ImportError:  # registry not present: backend name == directory name
        SOURCE_DIRS = {}
    dirs = sorted({SOURCE_DIRS.get(b, b) for b in ("ref", *backends)})
    srcs = [FIRMWARE / "src" / "nn" / "runner.c", FIRMWARE / "src" / "nn" / "stream_runner.c"]
    for d in dirs:
        srcs += sorted((FIRMWARE / "src" / "nn" / d).glob("*.c"))
    return srcs


def model_backends(gen_dir: Path) -> tuple[str, ...]:
    """Backends a generated model uses (EDGEKWS_BACKENDS in its header)."""
    for line in (gen_dir / "edgekws_model.h").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[:2] == ["#define", "EDGEKWS_BACKENDS"]:
            return tuple(b for b in parts[2].strip('"').split(",") if b)
    return ("ref",)


def _cc(args: list[str]) -> None:
    cc = shutil.which("gcc") or "cc"
    proc = subprocess.run([cc, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"C build failed: {' '.join(args[-6:])}\n{proc.stderr}")


def compile_shared(sources: list[Path], out: Path, include_dirs: list[Path] | None = None,
                   flags: tuple[str, ...] = STRICT_FLAGS) -> Path:
    """Compile ``sources`` into a shared library at ``out`` (-fPIC)."""
    incs = [f"-I{p}" for p in [INCLUDE, *(include_dirs or [])]]
    _cc([*flags, "-fPIC", "-shared", *incs, *map(str, sources), "-o", str(out)])
    return out


def compile_executable(sources: list[Path], out: Path, include_dirs: list[Path] | None = None,
                       flags: tuple[str, ...] = STRICT_FLAGS) -> Path:
    """Compile and link ``sources`` into an executable at ``out`` (with libm: the frontend's sqrtf)."""
    incs = [f"-I{p}" for p in [INCLUDE, *(include_dirs or [])]]
    _cc([*flags, *incs, *map(str, sources), "-o", str(out), "-lm"])
    return out


def compile_arm_objects(sources: list[Path], out_dir: Path, include_dirs: list[Path] | None = None) -> list[Path]:
    """``arm-none-eabi-gcc -c`` every source for the Cortex-M7 (the firmware's flags); returns objects."""
    cc = shutil.which("arm-none-eabi-gcc")
    if cc is None:
        raise RuntimeError("arm-none-eabi-gcc not installed")
    incs = [f"-I{p}" for p in [INCLUDE, *(include_dirs or [])]]
    objs = []
    for i, src in enumerate(sources):
        obj = out_dir / f"{i:03d}_{src.stem}.o"
        proc = subprocess.run([cc, *ARM_FLAGS, *incs, "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"arm build of {src.name} failed:\n{proc.stderr}")
        objs.append(obj)
    return objs


def compile_objects(sources: list[Path], out_dir: Path, include_dirs: list[Path] | None = None,
                    flags: tuple[str, ...] = STRICT_FLAGS) -> list[Path]:
    """Compile each source to a position-independent object (build the kernels once, link many models)."""
    incs = [f"-I{p}" for p in [INCLUDE, *(include_dirs or [])]]
    out_dir.mkdir(parents=True, exist_ok=True)
    objs = []
    for i, src in enumerate(sources):
        obj = out_dir / f"{i:03d}_{src.stem}.o"
        _cc([*flags, "-fPIC", *incs, "-c", str(src), "-o", str(obj)])
        objs.append(obj)
    return objs


# ---- a generated model (edgekws_model.{h,c} + edgekws_selftest.c) as a host library ----

HARNESS_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edgekws_model.h"

int harness_run(const int8_t *in, int8_t *out, uint32_t *ticks)
{
    memcpy(nn_input(&edgekws_model), in, nn_input_size(&edgekws_model));
    const int rc = nn_invoke(&edgekws_model, NULL, ticks);
    memcpy(out, nn_output(&edgekws_model), nn_output_size(&edgekws_model));
    return rc;
}

/* run layers 0..last only, copy that layer's output tensor (n bytes) out of the arena */
int harness_run_prefix(const int8_t *in, uint32_t last, int8_t *out, uint32_t n)
{
    nn_model_t m = edgekws_model;
    if (last >= m.num_layers) {
        return -1;
    }
    m.num_layers = last + 1;
    memcpy(nn_input(&m), in, nn_input_size(&m));
    const int rc = nn_invoke(&m, NULL, NULL);
    memcpy(out, m.arena + m.layers[last].out_offset, n);
    return rc;
}

/* number of self-test vectors whose output differs from TFLite Micro's (negative: runner error) */
int harness_selftest(void)
{
    int bad = 0;
    for (int i = 0; i < EDGEKWS_SELFTEST_COUNT; ++i) {
        int8_t out[EDGEKWS_OUTPUT_SIZE];
        if (harness_run(edgekws_selftest_input[i], out, NULL) != 0) {
            return -1;
        }
        bad += memcmp(out, edgekws_selftest_expected[i], EDGEKWS_OUTPUT_SIZE) != 0;
    }
    return bad;
}

#ifdef HARNESS_MAIN
/* usage: harness IN.bin OUT.bin - runs every input record, writes the outputs; exit 1 on self-test failure */
int main(int argc, char **argv)
{
    if (harness_selftest() != 0) {
        return 1;
    }
    if (argc < 3) {
        return 0;
    }
    FILE *fi = fopen(argv[1], "rb");
    FILE *fo = fopen(argv[2], "wb");
    if (!fi || !fo) {
        return 2;
    }
    int8_t in[EDGEKWS_INPUT_SIZE], out[EDGEKWS_OUTPUT_SIZE];
    while (fread(in, 1, sizeof in, fi) == sizeof in) {
        if (harness_run(in, out, NULL) != 0) {
            return 3;
        }
        fwrite(out, 1, sizeof out, fo);
    }
    fclose(fi);
    fclose(fo);
    return 0;
}
#endif
"""


@dataclass
class ModelLib:
    """A generated model compiled for the host, called through ctypes."""

    lib: ctypes.CDLL
    input_size: int
    output_size: int
    num_layers: int

    def run(self, x: np.ndarray) -> np.ndarray:
        xin = np.ascontiguousarray(np.asarray(x, dtype=np.int8).reshape(-1))
        if xin.size != self.input_size:
            raise ValueError(f"input has {xin.size} values, model needs {self.input_size}")
        out = np.zeros(self.output_size, dtype=np.int8)
        rc = self.lib.harness_run(xin.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p), None)
        if rc != 0:
            raise RuntimeError(f"nn_invoke returned {rc}")
        return out

    def run_prefix(self, x: np.ndarray, last: int, n: int) -> np.ndarray:
        """Run layers 0..last and return the first ``n`` bytes of layer ``last``'s output."""
        xin = np.ascontiguousarray(np.asarray(x, dtype=np.int8).reshape(-1))
        out = np.zeros(n, dtype=np.int8)
        rc = self.lib.harness_run_prefix(xin.ctypes.data_as(ctypes.c_void_p), ctypes.c_uint32(last),
                                         out.ctypes.data_as(ctypes.c_void_p), ctypes.c_uint32(n))
        if rc != 0:
            raise RuntimeError(f"nn_invoke returned {rc}")
        return out

    def selftest(self) -> int:
        return int(self.lib.harness_selftest())

    def layer_strings(self) -> list[tuple[str, str, str]]:
        model = ctypes.c_void_p.in_dll(self.lib, "edgekws_model")
        addr = ctypes.addressof(model)
        out = []
        for name in ("nn_layer_name", "nn_layer_op", "nn_layer_backend"):
            getattr(self.lib, name).restype = ctypes.c_char_p
        for i in range(self.num_layers):
            out.append(tuple(getattr(self.lib, f)(ctypes.c_void_p(addr), ctypes.c_uint32(i)).decode()
                             for f in ("nn_layer_name", "nn_layer_op", "nn_layer_backend")))
        return out


def _macro(header: Path, name: str) -> int:
    for line in header.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "#define" and parts[1] == name:
            return int(parts[2].rstrip("u").strip("()"))
    raise KeyError(name)


def build_model_lib(gen_dir: Path, work: Path, backends: tuple[str, ...] | None = None,
                    nn_objects: list[Path] | None = None) -> ModelLib:
    """Compile runner + kernels + the generated model C in ``gen_dir`` into a shared library.

    ``backends``: kernel sets to compile (default: those the model uses). ``nn_objects``: runner/kernel
    objects from :func:`compile_objects`, to skip recompiling them.
    """
    backends = backends if backends is not None else model_backends(gen_dir)
    work.mkdir(parents=True, exist_ok=True)
    harness = work / "harness.c"
    harness.write_text(HARNESS_C)
    srcs = [*(nn_objects if nn_objects is not None else nn_sources(backends)), *sorted(gen_dir.glob("*.c")), harness]
    so = compile_shared(srcs, work / "libmodel.so", [gen_dir])
    lib = ctypes.CDLL(str(so))
    header = gen_dir / "edgekws_model.h"
    return ModelLib(lib, _macro(header, "EDGEKWS_INPUT_SIZE"), _macro(header, "EDGEKWS_OUTPUT_SIZE"),
                    _macro(header, "EDGEKWS_NUM_LAYERS"))


def build_model_exe(gen_dir: Path, work: Path, flags: tuple[str, ...] = STRICT_FLAGS,
                    backends: tuple[str, ...] | None = None) -> Path:
    """Same as :func:`build_model_lib` but an executable (``harness IN.bin OUT.bin``), e.g. with sanitizers."""
    backends = backends if backends is not None else model_backends(gen_dir)
    work.mkdir(parents=True, exist_ok=True)
    harness = work / "harness.c"
    harness.write_text(HARNESS_C)
    srcs = [*nn_sources(backends), *sorted(gen_dir.glob("*.c")), harness]
    return compile_executable(srcs, work / "harness", [gen_dir], (*flags, "-DHARNESS_MAIN"))
