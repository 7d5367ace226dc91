"""What the harness sends: the bundle's test split, and what TFLite Micro says about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekws.errors import BundleError


@dataclass
class BenchData:
    """Test items of one bundle. x_int8 [N, n_in] (flattened NHWC), y [N], audio [N, samples] or None."""

    name: str
    bundle_hash: str
    labels: list[str]
    tflite_path: Path
    report_path: Path
    x_int8: np.ndarray
    y: np.ndarray
    audio: np.ndarray | None
    layers: list[dict] = field(default_factory=list)  # bundle.json layers (macs, sparsity, backend)

    def __len__(self) -> int:
        return int(self.x_int8.shape[0])


def load_bench_data(bundle_dir: Path) -> BenchData:
    """Read the bundle (validated by edgekws.export.bundle) and its testset.npz."""
    from edgekws.export.bundle import load_bundle

    b = load_bundle(bundle_dir)
    ts = b.testset()
    if "x_int8" not in ts or "y" not in ts:
        raise BundleError(f"{bundle_dir}/testset.npz lacks x_int8 or y")
    x = np.asarray(ts["x_int8"], dtype=np.int8)
    x = x.reshape(x.shape[0], -1)
    y = np.asarray(ts["y"]).astype(np.int64).reshape(-1)
    if len(y) != x.shape[0]:
        raise BundleError(f"{bundle_dir}/testset.npz: {x.shape[0]} inputs but {len(y)} labels")
    audio = ts.get("audio_int16")
    if audio is not None:
        audio = np.asarray(audio, dtype=np.int16).reshape(len(y), -1)
    layers = [row for row in b.meta.get("layers", []) if isinstance(row, dict)]
    return BenchData(b.name, b.bundle_hash, b.labels, b.tflite_path, b.path / "report.json", x, y, audio, layers)


class TflmReference:
    """TFLite Micro outputs of the bundle's int8 model, computed once per item on demand."""

    def __init__(self, tflite_path: Path) -> None:
        from edgekws.tflm import TflmModel

        self._model = TflmModel(tflite_path)
        self._cache: dict[int, np.ndarray] = {}

    def output(self, index: int, x: np.ndarray) -> np.ndarray:
        if index not in self._cache:
            self._cache[index] = self._model.run(x).reshape(-1).astype(np.int8)
        return self._cache[index]
