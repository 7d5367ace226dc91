"""Structured pruning: remove whole filters/channels and rebuild a smaller *dense* model.

tfmot cannot do this. The models of the zoo are chains, so channel dependencies
can be followed by walking the layers in order: a Conv2D's output channels
("group") flow through its BatchNorm, any DepthwiseConv2D + BatchNorm (channel-wise:
the same channels disappear), pools, and end at the next Conv2D's input channels
or, through Flatten, at the Dense layer's input rows. Removing channel ``c`` of a
group removes it from every member consistently. The smaller model is rebuilt
from the Keras config with new ``filters`` and the surviving weights copied in,
then fine-tuned. The result is faster on any backend (fewer MACs, smaller
arena), which is the study's point against unstructured sparsity on an MCU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import ConfigError, ModelError
from edgekws.train.data import FeatureData

IMPORTANCE = ("l1", "l2", "bn")
_PASSTHROUGH = ("ReLU", "Activation", "MaxPooling2D", "AveragePooling2D", "Dropout", "InputLayer", "Softmax")


@dataclass
class ChannelGroup:
    """Output channels of one producing Conv2D and every layer that follows them."""

    producer: str
    channels: int
    members: list[str] = field(default_factory=list)  # BN / depthwise layers sliced along channels
    consumer: str | None = None  # the Conv2D or Dense that reads these channels
    spatial: int = 1  # Flatten: h*w positions per channel before a Dense consumer


def channel_groups(model: Any) -> list[ChannelGroup]:
    """Follow channels through the chain; ModelError for layers the walk does not understand."""
    groups: list[ChannelGroup] = []
    current: ChannelGroup | None = None
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            if current is not None:
                current.consumer = layer.name
            current = ChannelGroup(layer.name, int(layer.filters))
            groups.append(current)
        elif kind in ("BatchNormalization", "DepthwiseConv2D"):
            if current is None:
                raise ModelError(f"{kind} {layer.name} before any convolution: cannot prune structurally")
            if kind == "DepthwiseConv2D" and int(layer.depth_multiplier) != 1:
                raise ModelError(f"depthwise layer {layer.name} has depth_multiplier != 1")
            current.members.append(layer.name)
        elif kind == "Flatten":
            if current is not None:
                shape = layer.input_shape
                current.spatial = int(np.prod(shape[1:-1]))
        elif kind == "Dense":
            if current is not None and current.consumer is None:
                current.consumer = layer.name
                current = None
        elif kind not in _PASSTHROUGH:
            raise ModelError(f"structured pruning does not handle layer type {kind} ({layer.name})")
    return groups


def _bn_scale(layer: Any) -> np.ndarray:
    gamma, _beta, _mean, var = layer.get_weights()
    return np.abs(gamma) / np.sqrt(var + layer.epsilon)


def filter_importance(model: Any, group: ChannelGroup, method: str = "l1") -> np.ndarray:
    """Score per output channel; l1/l2 use the BN-folded filter (what the deployed model multiplies by)."""
    if method not in IMPORTANCE:
        raise ConfigError(f"unknown importance {method!r} (use {', '.join(IMPORTANCE)})")
    conv = model.get_layer(group.producer)
    kernel = conv.get_weights()[0]  # [kh, kw, cin, cout]
    bn_names = [n for n in group.members if type(model.get_layer(n)).__name__ == "BatchNormalization"]
    scale = _bn_scale(model.get_layer(bn_names[0])) if bn_names else np.ones(kernel.shape[-1])
    if method == "bn":
        return scale
    folded = kernel * scale
    if method == "l1":
        return np.abs(folded).sum(axis=(0, 1, 2))
    return np.sqrt((folded ** 2).sum(axis=(0, 1, 2)))


def keep_count(channels: int, sparsity: float, multiple: int = 4) -> int:
    """Channels kept at ``sparsity``, rounded to a multiple (SIMD-friendly), at least ``multiple``."""
    keep = channels * (1.0 - float(sparsity))
    if multiple > 1:
        keep = multiple * round(keep / multiple)
    return int(min(channels, max(min(multiple, channels), round(keep))))


def shrink_model(model: Any, keep: dict[str, np.ndarray]) -> Any:
    """Rebuild ``model`` with only the kept output channels of each producer (``keep[name]`` = sorted indices)."""
    import tf_keras as keras

    channel_groups(model)  # validates that the walk understands every layer
    config = model.get_config()
    for layer_cfg in config["layers"]:
        name = layer_cfg["config"]["name"]
        if name in keep:
            layer_cfg["config"]["filters"] = int(len(keep[name]))
    small = keras.Model.from_config(config)

    in_keep: np.ndarray | None = None  # kept input channels of the layer being copied
    spatial = 1
    for layer in model.layers:
        kind = type(layer).__name__
        w = layer.get_weights()
        if not w:
            if kind == "Flatten":
                spatial = int(np.prod(layer.input_shape[1:-1]))
            continue
        target = small.get_layer(layer.name)
        if kind == "Conv2D":
            out_keep = keep.get(layer.name, np.arange(w[0].shape[-1]))
            k = w[0] if in_keep is None else w[0][:, :, in_keep, :]
            new = [k[..., out_keep]] + [b[out_keep] for b in w[1:]]
            in_keep = out_keep
        elif kind == "DepthwiseConv2D":
            assert in_keep is not None
            new = [w[0][:, :, in_keep, :]] + [b[in_keep] for b in w[1:]]
        elif kind == "BatchNormalization":
            assert in_keep is not None
            new = [v[in_keep] for v in w]
        elif kind == "Dense":
            if in_keep is not None:
                c = int(w[0].shape[0] // spatial)
                rows = (np.arange(spatial)[:, None] * c + in_keep[None, :]).reshape(-1)
                new = [w[0][rows, :], w[1]] if len(w) > 1 else [w[0][rows, :]]
                in_keep = None
            else:
                new = w
        else:
            new = w
        target.set_weights(new)
    return small


def select_channels(model: Any, sparsity: float, importance: str = "l1", multiple: int = 4) -> dict[str, np.ndarray]:
    """Channels to keep per producer conv: the highest-scoring ``keep_count`` ones, in original order."""
    keep = {}
    for g in channel_groups(model):
        scores = filter_importance(model, g, importance)
        n = keep_count(g.channels, sparsity, multiple)
        keep[g.producer] = np.sort(np.argsort(-scores, kind="stable")[:n])
    return keep


def prune_filters(model: Any, data: FeatureData, *, sparsity: float, epochs: int, learning_rate: float,
                  batch_size: int = 64, importance: str = "l1", multiple: int = 4, seed: int = 0,
                  progress: bool = True, teacher: Any = None, distill_weight: float = 0.5) -> tuple[Any, dict[str, list[float]], dict[str, Any]]:
    """Remove ``sparsity`` of the filters of every conv, rebuild, fine-tune; returns (model, history, info)."""
    from edgekws.train.trainer import fit

    if not 0.0 <= sparsity < 1.0:
        raise ConfigError(f"filter sparsity must be in [0, 1), got {sparsity}")
    keep = select_channels(model, sparsity, importance, multiple)
    small = shrink_model(model, keep)
    history = fit(small, data, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                  patience=max(2, epochs // 2), seed=seed, title=f"prune filter {sparsity:.0%}", progress=progress,
                  teacher=teacher, distill_weight=distill_weight)
    info = {
        "channels_before": {g.producer: g.channels for g in channel_groups(model)},
        "channels_after": {name: int(len(idx)) for name, idx in keep.items()},
        "importance": importance,
        "multiple": multiple,
    }
    return small, history, info
