"""Autotune: pick, per layer, the backend with the fewest measured instructions.

Why measure instead of model: how fast a sparse kernel is depends on the
layer's shape *and* on where its zeros are (a 1x4-block kernel gains nothing on
scattered zeros, skip-zero pays a branch per weight), and a cost model of the
Cortex-M7 pipeline would be a guess. QEMU's ``-icount`` gives exact, repeatable
instruction counts per layer from the self-test image, and layers are
independent (each kernel's count depends only on its own shape, weights and
input, and every backend produces the same bytes), so one firmware build per
backend measures every layer on that backend: N builds for N backends, not
N^layers. The winner per layer is written into bundle.json
(``layers[i].backend``) with an ``autotune`` record of the whole table; the
chosen assignment is built once more and its self-test must pass before the
bundle is touched. "Verified" means the layer-by-layer self-test passed: for
every embedded vector (16 by default, test-set clips and random unsaturated
inputs) the CRC-32 of every layer's output, the pre-softmax logits and the
output equal TFLite Micro's (app/selftest.c, edgekws.export.layer_check); an
image whose self-test compares outputs only never counts as verified.

Measurements are cached on disk by (bundle_hash, board, assignment, kernel sources), so the
pruning study and repeated runs reuse builds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekws.errors import BundleError, FirmwareError

DEFAULT_BOARD = "mps2_an500"
MEASURE_JSON = "measure.json"
# The backend a layer falls back to when the backend being measured cannot run it; its count is
# not used for that layer (only layers that really ran the measured backend are read).
FALLBACKS = ("simd", "ref")

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class LayerInfo:
    """One operator of a bundle and the backends the registry can run it on."""

    index: int
    name: str
    op: str
    eligible: tuple[str, ...]


@dataclass
class Measurement:
    """One firmware image with one backend assignment: per-layer counts, total, memory, verdict."""

    backends: list[str]
    layer_counts: list[int | None]
    total: int | None
    unit: str
    passed: bool
    flash_bytes: int | None
    ram_bytes: int | None
    arena_bytes: int | None
    elf: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"backends": self.backends, "layer_counts": self.layer_counts, "total": self.total,
                "unit": self.unit, "passed": self.passed, "flash_bytes": self.flash_bytes,
                "ram_bytes": self.ram_bytes, "arena_bytes": self.arena_bytes, "elf": self.elf, **self.extra}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        known = ("backends", "layer_counts", "total", "unit", "passed", "flash_bytes", "ram_bytes",
                 "arena_bytes", "elf")
        return cls(*(d.get(k) for k in known), extra={k: v for k, v in d.items() if k not in known})


@dataclass
class AutotuneResult:
    """What :func:`autotune` measured and chose."""

    bundle: Path
    board: str
    layers: list[LayerInfo]
    table: dict[str, Measurement]  # backend measured uniformly -> measurement
    chosen: list[str]
    verified: Measurement
    record: dict[str, Any]


# ----------------------------------------------------------------------------- layers and assignments


def bundle_layers(bundle_dir: str | Path) -> list[LayerInfo]:
    """Every operator of the bundle's int8 model with its eligible backends (registry order)."""
    from edgekws.export import kernels
    from edgekws.export.codegen_c import build_layers
    from edgekws.export.tflite_graph import read_graph

    tflite = (Path(bundle_dir) / "model.tflite").read_bytes()
    graph = read_graph(tflite)
    rows = build_layers(graph, ["ref"] * len(graph.operators))
    out = []
    for row in rows:
        eligible = tuple(kernels.eligible_backends(row)) if row.kernel is not None else ("ref",)
        out.append(LayerInfo(row.index, row.name, row.op, eligible))
    return out


def candidate_backends(layers: Sequence[LayerInfo]) -> list[str]:
    """All backends that can run at least one layer (registry order)."""
    from edgekws.export import kernels

    seen: dict[str, None] = {}
    order = [*kernels.BACKENDS, *(b for (_, b) in kernels.REGISTRY)]
    for b in order:
        if any(b in layer.eligible for layer in layers):
            seen.setdefault(b, None)
    return list(seen)


def uniform_assignment(layers: Sequence[LayerInfo], backend: str) -> list[str]:
    """``backend`` on every layer that can take it, else the first eligible fallback (simd, then ref)."""
    out = []
    for layer in layers:
        if backend in layer.eligible:
            out.append(backend)
        else:
            out.append(next((f for f in FALLBACKS if f in layer.eligible), layer.eligible[0]))
    return out


def fastest(layers: Sequence[LayerInfo], table: dict[str, Measurement]) -> tuple[list[str], list[dict[str, Any]]]:
    """Per layer, the measured backend with the fewest instructions (ties: registry order, i.e. the simpler
    kernel); returns the assignment and the per-layer table {index, name, op, counts, chosen}.

    A count is credited to the backend that layer really ran in that image (a fallback's count belongs to
    the fallback, never to the backend the image was built for); the first image that ran it wins.
    """
    chosen, rows = [], []
    for i, layer in enumerate(layers):
        counts: dict[str, int] = {}
        for m in table.values():
            ran = m.backends[i]
            if m.layer_counts[i] is not None and ran not in counts:
                counts[ran] = int(m.layer_counts[i])  # type: ignore[arg-type]
        # a layer no measurement covered (should not happen) stays portable on ref
        best = min(counts, key=lambda b: (counts[b], list(counts).index(b))) if counts else "ref"
        chosen.append(best)
        rows.append({"index": layer.index, "name": layer.name, "op": layer.op, "counts": counts, "chosen": best})
    return chosen, rows


# ----------------------------------------------------------------------------- one measurement


# Part of every cache key: measurements from before the layer-by-layer self-test (outputs only) must
# not be reused as verified.
CHECK_VERSION = "layer-crc-1"


def _assignment_key(bundle_hash: str, board: str, backends: Sequence[str], defines: Sequence[str] = (),
                    sources: str = "") -> str:
    doc = [bundle_hash, board, list(backends), CHECK_VERSION] + ([list(defines)] if defines else []) \
        + ([sources] if sources else [])
    digest = hashlib.sha256(json.dumps(doc).encode()).hexdigest()
    return digest[:16]


def kernel_sources_digest(firmware_dir: str | Path | None = None) -> str:
    """SHA-256 over what a measurement depends on besides the bundle: the firmware's kernels and headers
    (src/nn, include) and the exporter's weight layouts (export/kernels.py, codegen_c.py).

    Why in the cache key: a count measured with other kernels (an older checkout, or a kernel mid-edit) must
    not be reused as if it described these ones; it happened once, and the autotune table kept the stale
    figure with no sign of it.
    """
    from edgekws.device.build import firmware_dir as default_firmware_dir

    fw = Path(firmware_dir) if firmware_dir is not None else default_firmware_dir()
    here = Path(__file__).resolve().parent
    files = sorted(p for sub in ("src/nn", "include") for p in (fw / sub).rglob("*") if p.is_file())
    h = hashlib.sha256()
    for p in [*files, here / "kernels.py", here / "codegen_c.py"]:
        rel = p.relative_to(fw).as_posix() if p.is_relative_to(fw) else p.name
        h.update(rel.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def write_variant_bundle(bundle_dir: str | Path, backends: Sequence[str], out_dir: str | Path) -> Path:
    """A view of the bundle with ``backends`` per layer (bundle.json rewritten and re-hashed; model and test
    set linked), for the exporter. The source bundle is not modified."""
    from edgekws.export.bundle import compute_bundle_hash

    src = Path(bundle_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = json.loads((src / "bundle.json").read_text())
    tflite = (src / "model.tflite").read_bytes()
    layers = meta.get("layers") or []
    if len(layers) != len(backends):
        raise BundleError(f"bundle {src} lists {len(layers)} layers, the assignment has {len(backends)}")
    for row, backend in zip(layers, backends, strict=True):
        row["backend"] = backend
    meta["bundle_hash"] = compute_bundle_hash(tflite, meta)
    for name in ("model.tflite", "testset.npz"):
        target = out / name
        if (src / name).is_file() and not target.exists():
            try:
                os.symlink((src / name).resolve(), target)
            except OSError:
                shutil.copyfile(src / name, target)
    _write_json_atomic(out / "bundle.json", meta)
    return out


def measure(bundle_dir: str | Path, backends: Sequence[str], work_dir: str | Path, *,
            board: str = DEFAULT_BOARD, timeout: float = 600.0, reuse: bool = True,
            defines: Sequence[str] = ()) -> Measurement:
    """Build the self-test image of the bundle with ``backends`` per layer, run it in QEMU and read the
    per-layer instruction counts, the layer-by-layer verdict and the image's memory. Cached in
    ``work_dir`` by bundle hash and assignment (``reuse=False`` rebuilds). ``defines``: extra compile
    definitions (the tests plant an error with EDGEKWS_MUTATE_LAYER this way); part of the cache key."""
    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import run_selftest
    from edgekws.device.memory import elf_memory
    from edgekws.export.codegen_c import export_c

    meta = json.loads((Path(bundle_dir) / "bundle.json").read_text())
    key = _assignment_key(str(meta.get("bundle_hash")), board, backends, defines, kernel_sources_digest())
    out = Path(work_dir) / key
    cached = out / MEASURE_JSON
    if reuse and cached.is_file():
        return Measurement.from_dict(json.loads(cached.read_text()))
    view = write_variant_bundle(bundle_dir, backends, out / "bundle")
    model_c = out / "model_c"
    export_c(view, model_c)
    elf = build_firmware(board, model_c, out / "fw", selftest_only=True, defines=list(defines))
    rep = run_selftest(elf, timeout=timeout)
    if rep.get("fault"):
        raise FirmwareError(f"self-test faulted with backends {','.join(sorted(set(backends)))}: {rep['fault']}")
    counts: list[int | None] = [None] * len(backends)
    for row in rep["layers"]:
        if 0 <= row["index"] < len(counts):
            counts[row["index"]] = row["count"]
    mem = elf_memory(elf, board, check=False)
    m = Measurement(list(backends), counts, rep["count"], rep["unit"] or "instructions", bool(rep["passed"]),
                    mem.get("flash_bytes"), mem.get("ram_bytes"), mem.get("arena_bytes"), str(elf),
                    extra={"board": board, "vectors": len(rep["vectors"]), "icount_shift": rep.get("icount_shift"),
                           "check": rep.get("check"), "layers_checked": rep.get("n_layers"),
                           "layer_mismatches": rep.get("layer_mismatches"),
                           "first_mismatch": next(({k: v[k] for k in ("index", "layer", "name", "op", "backend")
                                                    if k in v} for v in rep["vectors"] if v["status"] != "pass"),
                                                  None)})
    _write_json_atomic(cached, m.to_dict())
    return m


# ----------------------------------------------------------------------------- the tuner


def default_work_dir() -> Path:
    """``$EDGEKWS_AUTOTUNE_DIR``, else ``$XDG_CACHE_HOME/edgekws/autotune`` (``~/.cache/...``), like the
    feature cache. Shared across bundles: entries are keyed by bundle hash, board and assignment, so they
    never collide and an unchanged bundle is never rebuilt."""
    env = os.environ.get("EDGEKWS_AUTOTUNE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgekws" / "autotune"


def autotune(bundle_dir: str | Path, *, board: str = DEFAULT_BOARD, work_dir: str | Path | None = None,
             backends: Sequence[str] | None = None, write: bool = True,
             progress: ProgressFn | None = None) -> AutotuneResult:
    """Measure every candidate backend, choose the fastest per layer, verify it, record it in the bundle.

    ``backends`` limits the candidates (default: every backend the registry offers for some layer).
    Raises FirmwareError when the chosen assignment's self-test does not match TFLite Micro; the bundle
    is then left as it was.
    """
    from edgekws.export.bundle import load_bundle

    bundle = load_bundle(bundle_dir)  # validates the hash first: never tune a corrupt bundle
    layers = bundle_layers(bundle.path)
    cands = candidate_backends(layers)
    if backends is not None:
        unknown = [b for b in backends if b not in cands]
        if unknown:
            raise BundleError(f"backend(s) {', '.join(unknown)} cannot run any layer of {bundle.name} "
                              f"(candidates: {', '.join(cands)})")
        cands = list(dict.fromkeys(backends))
    work = Path(work_dir) if work_dir is not None else default_work_dir()
    say = progress or (lambda _msg: None)
    table: dict[str, Measurement] = {}
    t0 = time.perf_counter()
    for i, backend in enumerate(cands):
        say(f"[{i + 1}/{len(cands) + 1}] measuring {backend}")
        m = measure(bundle.path, uniform_assignment(layers, backend), work, board=board)
        if not m.passed:
            raise FirmwareError(f"backend {backend} does not match TFLite Micro on {bundle.name}'s layer-by-layer "
                                f"self-test{_where(m)}")
        table[backend] = m
    chosen, rows = fastest(layers, table)
    say(f"[{len(cands) + 1}/{len(cands) + 1}] verifying the chosen assignment")
    verified = measure(bundle.path, chosen, work, board=board)
    if not verified.passed:
        raise FirmwareError(f"the autotuned assignment of {bundle.name} fails its layer-by-layer self-test "
                            f"(not bit-exact{_where(verified)})")
    record = {
        "board": board,
        "unit": verified.unit,
        "candidates": cands,
        "layers": rows,
        "totals": {b: m.total for b, m in table.items()},
        "total": verified.total,
        "flash_bytes": verified.flash_bytes,
        "ram_bytes": verified.ram_bytes,
        "verified": True,
        # what "verified" means: every vector identical to TFLite Micro at every layer, logits and output
        "verification": {"check": verified.extra.get("check"), "vectors": verified.extra.get("vectors"),
                         "layers": verified.extra.get("layers_checked"), "version": CHECK_VERSION},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if write:
        write_choice(bundle.path, chosen, record)
    return AutotuneResult(bundle.path, board, layers, table, chosen, verified, record)


def _where(m: Measurement) -> str:
    """', first at layer 5 conv2d_2 (simd) in vector 3' from a failed measurement, or ''."""
    fm = m.extra.get("first_mismatch")
    if m.extra.get("check") != "layers":
        return ", the image does not check layer by layer: re-export its C"
    if isinstance(fm, dict) and "layer" in fm:
        return (f", first at layer {fm['layer']} {fm.get('name', '')} ({fm.get('backend', '?')}) "
                f"in vector {fm.get('index')}")
    return ""


def write_choice(bundle_dir: str | Path, chosen: Sequence[str], record: dict[str, Any]) -> None:
    """Set layers[i].backend and the ``autotune`` record in bundle.json, re-hash, write atomically."""
    from edgekws.export.bundle import canonical_json, compute_bundle_hash, load_bundle

    p = Path(bundle_dir)
    meta = load_bundle(p).meta
    if len(meta["layers"]) != len(chosen):
        raise BundleError(f"bundle {p} lists {len(meta['layers'])} layers, the choice has {len(chosen)}")
    for row, backend in zip(meta["layers"], chosen, strict=True):
        row["backend"] = backend
    meta["autotune"] = record
    meta = json.loads(canonical_json(meta))
    meta["bundle_hash"] = compute_bundle_hash((p / "model.tflite").read_bytes(), meta)
    _write_json_atomic(p / "bundle.json", meta)
    load_bundle(p)  # what we wrote must load


def _write_json_atomic(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
