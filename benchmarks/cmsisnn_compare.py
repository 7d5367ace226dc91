"""Per-layer instructions on the emulated Cortex-M7: ref vs simd vs cmsisnn (Arm CMSIS-NN), with arena sizes.

Why a whole-model run: CMSIS-NN is the baseline the project's own kernels are
judged against, and the fair place to compare is the real firmware. The
model (a bundle's model.tflite with ``--bundle``, else the model zoo's DS-CNN-S
recipe with random He-init weights) is exported three times - every layer on
ref; every layer simd can run on simd; every layer CMSIS-NN can run on cmsisnn
(eligibility from the exporter's registry, which reads the CMSIS-NN version's
abilities) - and each image runs its boot self-test in QEMU mps2-an500, which
checks every layer against TFLite Micro and prints every layer's counter delta.
With -icount those are executed instructions (not cycles), exact and repeatable.

Everything is compiled with arm-none-eabi-gcc for -mcpu=cortex-m7 with the
sources and flags firmware/build_config.py gives the mps2_an500 board, so
CMSIS-NN takes its DSP-extension paths; CMSIS-NN's own sources are built with
the image's CPU flags and its own optimisation level (-Ofast by default, as
its CMake build does), without -Werror. The JSON records the CMSIS-NN version
and where it came from, the flags, per-layer and total instructions, and each
image's planned arena (EDGEKWS_ARENA_SIZE: activations + kernel scratch) and RAM.

CMSIS-NN: the cache tools/fetch_cmsisnn.py fills (tools/setup.sh runs it), or
EDGEKWS_CMSISNN_DIR. Without it: one error line, exit 2.

    .venv/bin/python benchmarks/cmsisnn_compare.py --bundle models/default [--out PATH] [--cmsisnn-opt=-O2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from edgekws.errors import EdgeKwsError, FirmwareError  # noqa: E402
from edgekws.export import kernels_cmsisnn as kc  # noqa: E402

BOARD = "mps2_an500"
BACKENDS = ("ref", "simd", "cmsisnn")
SIMD_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
INCLUDE_LINE = f'#include "{kc.HEADER}"'


@dataclass(frozen=True)
class Toolchain:
    cc: str
    ar: str


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FirmwareError(f"{name} is not installed")
    return path


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["?"])[0][:300]
        raise FirmwareError(f"{what} failed: {first}")


# ----------------------------------------------------------------------------- model


def ds_cnn_s_tflite(seed: int = 0) -> bytes:
    """The ds-cnn-s recipe as train/compress build it, He-normal weights, int8 with random calibration."""
    from edgekws.compress.quantize import quantize_int8
    from edgekws.train.models import build_model
    from edgekws.train.recipe import load_recipe

    model = build_model(load_recipe("ds-cnn-s").model, (49, 10), 12)
    rng = np.random.default_rng(seed)
    for layer in model.layers:  # keep activations alive through the untrained stack
        ws = layer.get_weights()
        if ws and ws[0].ndim == 4:
            k = ws[0]
            fan_in = k.shape[0] * k.shape[1] * (1 if "depthwise" in type(layer).__name__.lower() else k.shape[2])
            layer.set_weights([rng.standard_normal(k.shape).astype(np.float32) * np.sqrt(2.0 / fan_in), *ws[1:]])
    calib = rng.standard_normal((32, 49, 10, 1)).astype(np.float32)
    return quantize_int8(model, calib)


def bundle_tflite(bundle: Path) -> tuple[bytes, int]:
    """model.tflite and the label count of a bundle directory; FirmwareError naming what is missing."""
    model = bundle / "model.tflite"
    meta = bundle / "bundle.json"
    if not model.is_file() or not meta.is_file():
        raise FirmwareError(f"{bundle} is not a bundle (needs model.tflite and bundle.json)")
    try:
        labels = json.loads(meta.read_text()).get("labels") or []
    except ValueError as exc:
        raise FirmwareError(f"{meta}: not JSON ({exc})") from exc
    return model.read_bytes(), len(labels)


def layer_backends(tflite: bytes, backend: str) -> list[str]:
    """One backend per layer: ``backend`` where the registry says its kernel runs the layer bit-exactly, ref
    elsewhere (ops without a kernel, RESHAPE, and e.g. grouped convolution on a CMSIS-NN without groups)."""
    from edgekws.export import kernels
    from edgekws.export.codegen_c import build_layers
    from edgekws.export.tflite_graph import read_graph

    graph = read_graph(tflite)
    rows = build_layers(graph, ["ref"] * len(graph.operators))
    return [backend if row.kernel is not None and backend in kernels.eligible_backends(row) else "ref"
            for row in rows]


def register_cmsisnn() -> None:
    """The cmsisnn rows in the exporter's registry (a no-op once kernels.py registers them itself)."""
    from edgekws.export import kernels

    if ("CONV_2D", kc.BACKEND) not in kernels.REGISTRY:
        kc.register(kernels.REGISTRY, kernels.KernelSpec)


def export_model(tflite: bytes, backend: str, work: Path, n_labels: int = 12) -> Path:
    """bundle (model.tflite + bundle.json with per-layer backends) -> generated C; returns the C directory."""
    from edgekws.export.codegen_c import export_c

    bundle = work / f"bundle_{backend}"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "model.tflite").write_bytes(tflite)
    meta = {"schema_version": 1, "name": f"compare_{backend}", "labels": [f"l{i}" for i in range(n_labels)],
            "layers": [{"backend": b} for b in layer_backends(tflite, backend)]}
    (bundle / "bundle.json").write_text(json.dumps(meta))
    gen = work / f"gen_{backend}"
    export_c(bundle, gen)
    model_c = gen / "edgekws_model.c"
    text = model_c.read_text()
    if backend == kc.BACKEND and INCLUDE_LINE not in text:  # until the exporter names the header itself
        model_c.write_text(text.replace('#include "edgekws_model.h"', f'#include "edgekws_model.h"\n{INCLUDE_LINE}',
                                        1))
    return gen


# ----------------------------------------------------------------------------- build


def cmsisnn_archive(tc: Toolchain, root: Path, c_flags: list[str], opt: str, work: Path) -> Path:
    """CMSIS-NN's int8 sources for the Cortex-M7 as a static library (its own flags: no -W, its -O)."""
    flags = [f for f in c_flags if not f.startswith(("-W", "-O"))] + [opt]
    out = work / "cmsisnn_obj"
    out.mkdir(parents=True, exist_ok=True)
    objs = []
    for i, src in enumerate(kc.cmsisnn_sources(root)):
        obj = out / f"{i:03d}_{src.stem}.o"
        _run([tc.cc, *flags, *(f"-I{d}" for d in kc.include_dirs(root)), "-c", str(src), "-o", str(obj)],
             f"CMSIS-NN build of {src.name}")
        objs.append(obj)
    lib = work / "libcmsisnn.a"
    lib.unlink(missing_ok=True)
    _run([tc.ar, "rcs", str(lib), *map(str, objs)], "archiving CMSIS-NN")
    return lib


def build_elf(tc: Toolchain, gen: Path, work: Path, cmsisnn: tuple[Path, Path] | None) -> Path:
    """The self-test image of ``gen`` with build_config.py's sources and flags (+ the cmsisnn backend)."""
    from edgekws.device.build import build_config

    cfg = build_config().resolve(BOARD, gen, "selftest")
    sources = list(cfg.sources)
    includes = list(cfg.include_dirs)
    defines = [*cfg.defines, *(f'{k}="{v}"' for k, v in cfg.string_defines.items())]
    libs: list[str] = []
    if cmsisnn is not None:
        root, archive = cmsisnn
        sources += [str(p) for p in kc.wrapper_sources(REPO / "firmware")]
        includes += [str(d) for d in kc.include_dirs(root)]
        defines += kc.compile_definitions(root)
        libs.append(str(archive))
    elf = work / f"{gen.name}.elf"
    cmd = [tc.cc, *cfg.c_flags, *(f"-D{d}" for d in defines), *(f"-I{d}" for d in includes), *sources,
           f"-T{cfg.linker_script}", *cfg.link_flags, "-Wl,--no-warn-rwx-segments", "-o", str(elf), *libs,
           *cfg.link_libs]
    _run(cmd, f"firmware build of {gen.name}")
    return elf


# ----------------------------------------------------------------------------- run and compare


def arena_bytes(gen: Path) -> int:
    """EDGEKWS_ARENA_SIZE of a generated model: the planned activations plus the kernels' scratch."""
    for line in (gen / "edgekws_model.h").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[:2] == ["#define", "EDGEKWS_ARENA_SIZE"]:
            return int(parts[2].rstrip("uUlL"))
    raise FirmwareError(f"{gen}/edgekws_model.h defines no EDGEKWS_ARENA_SIZE")


def run_backend(tflite: bytes, backend: str, tc: Toolchain, work: Path,
                cmsisnn: tuple[Path, Path] | None, n_labels: int = 12) -> dict[str, Any]:
    from edgekws.device.emulator import run_selftest
    from edgekws.device.memory import elf_memory

    gen = export_model(tflite, backend, work, n_labels)
    elf = build_elf(tc, gen, work, cmsisnn if backend == kc.BACKEND else None)
    report = run_selftest(elf, timeout=600)
    if not report["passed"]:
        raise FirmwareError(f"{backend}: the self-test differs from TFLite Micro or failed "
                            f"(exit {report['exit_code']}): {report['output'][-300:]}")
    mem = elf_memory(elf, BOARD)
    return {"unit": report["unit"], "total": report["count"], "passed": report["passed"],
            "vectors": len(report["vectors"]), "check": report.get("check"), "layers": report["layers"],
            "arena_bytes": arena_bytes(gen), "ram_bytes": mem["ram_bytes"], "flash_bytes": mem["flash_bytes"]}


def compare(results: dict[str, dict[str, Any]], summary_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-layer table and the figures the issue's targets are stated in."""
    rows = []
    for i, info in enumerate(summary_rows):
        row: dict[str, Any] = {"index": i, "name": info["name"], "op": info["op"], "macs": int(info["macs"])}
        for backend, res in results.items():
            layer = res["layers"][i]
            row[backend] = layer["count"]
            row[f"{backend}_backend"] = layer["backend"]
        rows.append(row)
    totals = {b: r["total"] for b, r in results.items()}
    memory = {b: {k: r[k] for k in ("arena_bytes", "ram_bytes", "flash_bytes")} for b, r in results.items()}
    out: dict[str, Any] = {"layers": rows, "totals": totals, "memory": memory,
                           "selftest": {b: {"passed": r["passed"], "vectors": r["vectors"], "check": r["check"]}
                                        for b, r in results.items()}}
    if "ref" in totals and "simd" in totals:
        out["speedup_simd_vs_ref"] = round(totals["ref"] / max(totals["simd"], 1), 2)
    if "ref" in totals and "cmsisnn" in totals:
        out["speedup_cmsisnn_vs_ref"] = round(totals["ref"] / max(totals["cmsisnn"], 1), 2)
    if "simd" in totals and "cmsisnn" in totals:
        out["cmsisnn_vs_simd_total"] = round(totals["cmsisnn"] / max(totals["simd"], 1), 2)
        kernels_rows = [r for r in rows if r["op"] in SIMD_OPS]
        slower = [r["name"] for r in kernels_rows if r["simd"] > r["cmsisnn"]]
        out["simd_at_most_cmsisnn_on_every_weight_layer"] = not slower
        out["layers_where_simd_exceeds_cmsisnn"] = slower
        out["simd_vs_cmsisnn_weight_layers"] = round(sum(r["simd"] for r in kernels_rows) /
                                                     max(sum(r["cmsisnn"] for r in kernels_rows), 1), 3)
    return out


def print_table(cmp: dict[str, Any]) -> None:
    cols = [b for b in BACKENDS if b in cmp["totals"]]
    print(f"{'layer':<22}{'op':<20}{'MACs':>9}" + "".join(f"{c:>12}" for c in cols) + "   MAC/instr (" +
          "/".join(cols) + ")")
    for r in cmp["layers"]:
        per = "/".join(f"{r['macs'] / r[c]:.2f}" if r["macs"] and r[c] else "-" for c in cols)
        print(f"{r['name']:<22}{r['op']:<20}{r['macs']:>9}" + "".join(f"{r[c]:>12}" for c in cols) + f"   {per}")
    print(f"{'total':<51}" + "".join(f"{cmp['totals'][c]:>12}" for c in cols))
    print(f"{'arena bytes (activations + scratch)':<51}" +
          "".join(f"{cmp['memory'][c]['arena_bytes']:>12}" for c in cols))
    print(f"{'RAM bytes (image)':<51}" + "".join(f"{cmp['memory'][c]['ram_bytes']:>12}" for c in cols))


def cmsisnn_record(root: Path) -> dict[str, Any]:
    """Which CMSIS-NN was measured: version and abilities from its header, provenance from the fetch manifest
    when it is the cache (else the directory named by EDGEKWS_CMSISNN_DIR)."""
    f = kc.features(root)
    rec: dict[str, Any] = {"version": f.version_text, "source": "cache" if root == kc.cache_dir().resolve()
                           else kc.ENV_VAR, "defines": kc.compile_definitions(root),
                           "fc_per_channel": f.fc_per_channel, "grouped_conv": f.grouped_conv}
    manifest = root / "manifest.json"
    if manifest.is_file():
        m = json.loads(manifest.read_text())
        rec.update({k: m[k] for k in ("upstream", "upstream_commit", "upstream_describe", "license",
                                      "source_package", "wheel_sha256") if k in m})
    return rec


def _cc_version(cc: str) -> str:
    proc = subprocess.run([cc, "--version"], capture_output=True, text=True)
    return (proc.stdout.splitlines() or ["?"])[0]


def benchmark(seed: int = 0, cmsisnn_opt: str = "-Ofast", work: Path | None = None,
              backends: tuple[str, ...] = BACKENDS, bundle: Path | None = None) -> dict[str, Any]:
    """Build and run every backend; returns the JSON-ready result."""
    from edgekws.device.build import build_config, icount_shift
    from edgekws.export.tflite_graph import layer_summary

    root = kc.cmsisnn_dir() if kc.BACKEND in backends else None
    tc = Toolchain(_tool("arm-none-eabi-gcc"), _tool("arm-none-eabi-ar"))
    _tool("qemu-system-arm")
    register_cmsisnn()
    if bundle is not None:
        tflite, n_labels = bundle_tflite(bundle)
        model = f"bundle {bundle} (model.tflite sha256 {hashlib.sha256(tflite).hexdigest()[:16]})"
    else:
        tflite, n_labels = ds_cnn_s_tflite(seed), 12
        model = f"ds-cnn-s recipe, random He-normal weights (seed {seed}), int8 (per-channel weights)"
    with tempfile.TemporaryDirectory() as tmp:
        wdir = work or Path(tmp)
        wdir.mkdir(parents=True, exist_ok=True)
        c_flags = list(build_config().resolve(BOARD, _dummy_model(wdir), "selftest").c_flags)
        cmsisnn = None
        if root is not None:
            cmsisnn = (root, cmsisnn_archive(tc, root, c_flags, cmsisnn_opt, wdir))
        results = {b: run_backend(tflite, b, tc, wdir, cmsisnn, n_labels) for b in backends}
    cmp = compare(results, layer_summary(tflite))
    return {"unit": "instructions", "emulator": f"qemu-system-arm {BOARD} -icount shift={icount_shift(BOARD)}",
            "model": model, "command": "benchmarks/cmsisnn_compare.py" + (f" --bundle {bundle}" if bundle else ""),
            "compiler": {"cc": _cc_version(tc.cc), "c_flags": c_flags,
                         "cmsisnn_flags": [f for f in c_flags if not f.startswith(("-W", "-O"))] + [cmsisnn_opt]},
            "cmsisnn": cmsisnn_record(root) if root is not None else None, **cmp}


def _dummy_model(work: Path) -> Path:
    """build_config.resolve() wants a model directory; the flags do not depend on it."""
    d = work / "flags_model"
    d.mkdir(exist_ok=True)
    (d / "edgekws_model.h").write_text("#define EDGEKWS_ARENA_SIZE 4096u\n")
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "cmsisnn" / "results.json")
    ap.add_argument("--bundle", type=Path, default=None,
                    help="bundle directory whose model.tflite to measure (default: random-weight DS-CNN-S)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cmsisnn-opt", default="-Ofast", help="optimisation flag for CMSIS-NN's sources")
    args = ap.parse_args()
    try:
        result = benchmark(args.seed, args.cmsisnn_opt, bundle=args.bundle)
    except EdgeKwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_table(result)
    keys = [k for k in result if k.startswith(("speedup", "simd_", "cmsisnn_vs", "layers_where"))]
    print(json.dumps({k: result[k] for k in keys}, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, args.out)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
