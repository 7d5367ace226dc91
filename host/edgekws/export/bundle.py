"""The model bundle: the one contract between host stages and the firmware.

A bundle is a directory (see docs/ARCHITECTURE.md, schema_version 1)::

    bundle.json  model.tflite  model_float.tflite  model.onnx  report.json  testset.npz
    [model_keras.h5]   the float Keras model, so prune/quantize can start again from the bundle

``bundle_hash`` is the sha256 of ``model.tflite`` followed by the canonical JSON of
bundle.json without the hash, so a changed model or a hand-edited bundle.json is
detected. :func:`load_bundle` validates everything a consumer relies on and turns
each problem into one line (:class:`BundleError`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import BundleError
from edgekws.fsutil import write_atomic

SCHEMA_VERSION = 1
BUNDLE_JSON = "bundle.json"
MODEL_TFLITE = "model.tflite"
MODEL_FLOAT = "model_float.tflite"
MODEL_ONNX = "model.onnx"
REPORT_JSON = "report.json"
TESTSET = "testset.npz"
KERAS_MODEL = "model_keras.h5"
REQUIRED_FILES = (BUNDLE_JSON, MODEL_TFLITE, MODEL_FLOAT, REPORT_JSON)
REQUIRED_KEYS = ("schema_version", "name", "labels", "frontend", "frontend_hash", "input_norm", "input", "output",
                 "layers", "compression", "recipe", "bundle_hash")


def canonical_json(obj: Any) -> str:
    """Key-sorted, compact, ASCII JSON: the form that is hashed (stable across Python versions)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def compute_bundle_hash(tflite: bytes, meta: dict[str, Any]) -> str:
    """sha256 over the int8 model bytes and the canonical bundle.json without ``bundle_hash``."""
    body = {k: v for k, v in meta.items() if k != "bundle_hash"}
    h = hashlib.sha256()
    h.update(tflite)
    h.update(canonical_json(body).encode())
    return h.hexdigest()


@dataclass
class Bundle:
    """A validated bundle on disk; ``meta`` is bundle.json as a dict."""

    path: Path
    meta: dict[str, Any]
    _report: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    @property
    def bundle_hash(self) -> str:
        return str(self.meta["bundle_hash"])

    @property
    def tflite_path(self) -> Path:
        return self.path / MODEL_TFLITE

    @property
    def float_tflite_path(self) -> Path:
        return self.path / MODEL_FLOAT

    @property
    def onnx_path(self) -> Path:
        return self.path / MODEL_ONNX

    @property
    def keras_path(self) -> Path:
        return self.path / KERAS_MODEL

    def tflite_bytes(self) -> bytes:
        return self.tflite_path.read_bytes()

    @property
    def report(self) -> dict[str, Any]:
        """report.json (read once)."""
        if self._report is None:
            self._report = _read_json(self.path / REPORT_JSON)
        return self._report

    def testset(self) -> dict[str, np.ndarray]:
        """testset.npz as a dict (x_int8, y and, when the audio was available, audio_int16)."""
        p = self.path / TESTSET
        if not p.is_file():
            raise BundleError(f"bundle {self.path} has no {TESTSET}")
        try:
            with np.load(p) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise BundleError(f"{p} is not a readable npz file ({exc})") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BundleError(f"bundle file {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise BundleError(f"{path} must hold a JSON object")
    return data


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _check_int8_model(tflite: bytes, where: str, n_labels: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Input/output quantization of ``tflite``; BundleError unless it is a full-integer int8 classifier."""
    from edgekws.compress.quantize import io_quant

    try:
        inp, out = io_quant(tflite)
    except Exception as exc:  # noqa: BLE001 - the flatbuffer reader raises many kinds on garbage
        raise BundleError(f"{where} is not a readable TFLite model ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if inp["dtype"] != "int8" or out["dtype"] != "int8":
        raise BundleError(f"{where} is not an int8 model (input {inp['dtype']}, output {out['dtype']})")
    if not out["shape"] or out["shape"][-1] != n_labels:
        raise BundleError(f"{where} has {out['shape'][-1] if out['shape'] else 0} outputs but bundle.json lists "
                          f"{n_labels} labels")
    return inp, out


def write_bundle(out_dir: str | Path, *, name: str, labels: list[str], frontend: dict[str, Any], frontend_hash: str,
                 input_norm: dict[str, list[float]], tflite_int8: bytes, tflite_float: bytes,
                 report: dict[str, Any], compression: dict[str, Any], recipe: dict[str, Any],
                 onnx: bytes | None = None, testset: dict[str, np.ndarray] | None = None,
                 keras_model: Any = None, layers: list[dict[str, Any]] | None = None,
                 backend: str = "ref") -> Bundle:
    """Write a complete bundle directory and return it (loaded back and validated).

    ``layers`` defaults to the TFLite graph's layer table with ``backend`` set on every layer;
    the C exporter may later pick another backend per layer.
    """
    from edgekws.export.tflite_graph import layer_summary

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inp, outp = _check_int8_model(tflite_int8, "the int8 model", len(labels))
    if layers is None:
        layers = layer_summary(tflite_int8)
        for row in layers:
            row.setdefault("backend", backend)
    meta: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "labels": list(labels),
        "frontend": frontend,
        "frontend_hash": frontend_hash,
        "input_norm": input_norm,
        "input": inp,
        "output": outp,
        "layers": layers,
        "compression": compression,
        "recipe": recipe,
    }
    meta = json.loads(canonical_json(meta))  # plain JSON types only (numpy scalars would fail here)
    meta["bundle_hash"] = compute_bundle_hash(tflite_int8, meta)
    if keras_model is not None:
        tmp = out / f".{KERAS_MODEL}.tmp{os.getpid()}.h5"
        keras_model.save(str(tmp), include_optimizer=False)
        os.replace(tmp, out / KERAS_MODEL)
    write_atomic(out / MODEL_TFLITE, tflite_int8)
    write_atomic(out / MODEL_FLOAT, tflite_float)
    if onnx is not None:
        write_atomic(out / MODEL_ONNX, onnx)
    if testset is not None:
        write_atomic(out / TESTSET, _npz_bytes(testset))
    write_atomic(out / REPORT_JSON, (json.dumps(report, indent=2, sort_keys=True) + "\n").encode())
    # bundle.json last: a directory with a bundle.json is a complete bundle
    write_atomic(out / BUNDLE_JSON, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    return load_bundle(out)


def load_bundle(path: str | Path, *, check_hash: bool = True) -> Bundle:
    """Read and validate a bundle directory; any problem is one :class:`BundleError` line."""
    p = Path(path)
    if not p.is_dir():
        raise BundleError(f"bundle {p} is not a directory")
    meta = _read_json(p / BUNDLE_JSON)
    version = meta.get("schema_version")
    if version is None:
        raise BundleError(f"{p / BUNDLE_JSON} has no schema_version")
    if version != SCHEMA_VERSION:
        raise BundleError(f"{p / BUNDLE_JSON} has schema_version {version!r}; this edgekws reads {SCHEMA_VERSION}")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise BundleError(f"{p / BUNDLE_JSON} lacks key(s): {', '.join(missing)}")
    labels = meta["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(s, str) for s in labels):
        raise BundleError(f"{p / BUNDLE_JSON}: labels must be a non-empty list of strings")
    for fname in REQUIRED_FILES:
        if not (p / fname).is_file():
            raise BundleError(f"bundle {p} is missing {fname}")
    tflite = (p / MODEL_TFLITE).read_bytes()
    _check_int8_model(tflite, str(p / MODEL_TFLITE), len(labels))
    norm = meta["input_norm"]
    if not isinstance(norm, dict) or len(norm.get("mean", [])) != len(norm.get("std", [])):
        raise BundleError(f"{p / BUNDLE_JSON}: input_norm needs mean and std of equal length")
    if check_hash and compute_bundle_hash(tflite, meta) != meta["bundle_hash"]:
        raise BundleError(f"bundle {p}: bundle_hash does not match model.tflite and bundle.json (modified by hand?)")
    return Bundle(p, meta)
