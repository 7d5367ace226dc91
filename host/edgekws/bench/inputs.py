"""What the harness sends: the bundle's test split, and what TFLite Micro says about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekws.errors import BundleError
from edgekws.export.layer_check import LayerCheck


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
    """TFLite Micro's answer for the bundle's int8 model, computed once per item on demand: the output,
    and (preserve-all-tensors) the logits and every firmware layer's CRC-32 for the layer-by-layer
    comparison of accuracy mode (edgekws.export.layer_check)."""

    def __init__(self, tflite_path: Path) -> None:
        from edgekws.export.layer_check import LayerReference

        self._ref = LayerReference(tflite_path)
        self._cache: dict[int, LayerCheck] = {}

    @property
    def num_layers(self) -> int:
        return self._ref.num_layers

    def check(self, index: int, x: np.ndarray) -> LayerCheck:
        if index not in self._cache:
            self._cache[index] = self._ref.check(x)
        return self._cache[index]

    def output(self, index: int, x: np.ndarray) -> np.ndarray:
        return self.check(index, x).output
