"""A trained asc scene CNN through the project's one int8 path: bundle -> C -> firmware self-test in the emulator.

Why through :func:`edgekws.compress.finalize.finalize_bundle` and not a task-specific
exporter: the bundle (int8 TFLite, frontend config, input normalisation, int8 accuracy
with TFLite Micro, embedded test vectors) is what ``edgekws export c`` and
``edgekws firmware selftest`` read, so the scene model gets the same checks as a KWS
model (layer-by-layer equality with TFLite Micro in QEMU, instruction counts, flash
and RAM). The network is built from ops the firmware runs (see :mod:`.models`); a
softmax is appended for the bundle's classifier output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import ConfigError, DatasetError
from edgekws.frontend import FrontendConfig
from edgekws.tasks.asc import dataset as ds
from edgekws.tasks.asc import models
from edgekws.tasks.asc.config import TrainConfig
from edgekws.tasks.asc.pipeline import FRONTEND, TRAIN, clip_features
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.configs import from_dict
from edgekws.tasks.runner import RUN_INFO, read_json


def export_bundle(run: Path, out: Path, subset: int, method: str, data: Path | None = None,
                  progress: ProgressFn = no_progress) -> Any:
    """Write an edgekws bundle of the run's ``method`` model trained on ``subset`` % into ``out``; returns it.

    Calibration uses that subset's training clips only (the challenge's data rule);
    the bundle's int8 accuracy is measured with TFLite Micro on the whole test split.
    """
    import tf_keras as keras

    from edgekws.compress.finalize import finalize_bundle
    from edgekws.train.data import FeatureData

    info = read_json(Path(run) / RUN_INFO, "run info")
    cfg = from_dict(TrainConfig, info["config"])
    trained = read_json(Path(run) / TRAIN, "training summary")
    sub = trained["subsets"].get(str(subset))
    if sub is None:
        raise ConfigError(f"{run}: no models for split{subset} (trained: {', '.join(trained['subsets'])})")
    if method not in sub["methods"]:
        raise ConfigError(f"{run}: no {method!r} model for split{subset} (trained: {', '.join(sub['methods'])})")
    weights = Path(run) / "models" / f"{method}-{subset}.weights.h5"
    if not weights.is_file():
        raise DatasetError(f"{weights}: missing (rerun train)")
    frontend = FrontendConfig.from_dict(read_json(Path(run) / FRONTEND, "frontend config"))
    index = ds.index_dataset(Path(data) if data is not None else Path(info["data"]))
    scenes = trained["scenes"]
    train_clips, test_clips = index.subset(subset), index.test_clips()
    x_tr = clip_features(index.root, train_clips, frontend, "calibration", progress)
    x_te = clip_features(index.root, test_clips, frontend, "test", progress)
    norm = sub["norm"]
    fd = FeatureData(x_train=x_tr, y_train=np.array([scenes.index(c.scene) for c in train_clips]),
                     x_val=x_tr[:0], y_val=np.zeros(0, np.int64), x_test=x_te,
                     y_test=np.array([scenes.index(c.scene) for c in test_clips]), labels=list(scenes),
                     frontend=frontend.to_dict(), frontend_hash=frontend.hash(), root=None,
                     mean=np.asarray(norm["mean"], np.float32), std=np.asarray(norm["std"], np.float32))
    net = models.build_cnn(x_te.shape[1], x_te.shape[2], len(scenes), cfg.model.channels, cfg.model.convs_per_block,
                           cfg.model.dropout, name=f"asc_{method}")
    net.load_weights(str(weights))
    model = keras.Model(net.input, keras.layers.Softmax(name="softmax")(net.output), name=f"asc_{method}_{subset}")
    cx = models.complexity(net)
    recipe = {"name": f"asc-{method}", "task": "asc", "method": method, "subset": int(subset),
              "run": str(Path(run).resolve()), "params": cx.params, "macs": cx.macs}
    return finalize_bundle(model, fd, out, name=f"asc-{method}-split{subset}", recipe=recipe, onnx=False,
                           seed=cfg.seed, progress=False)
