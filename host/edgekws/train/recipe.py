"""Model recipes: one YAML file per model of the zoo, loaded into typed dataclasses.

A recipe fixes everything that decides a trained model (architecture, frontend
preset, training and default compression settings), so a bundle can record the
recipe it came from and any stage can be re-run from files alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edgekws.errors import ConfigError

LABELS: tuple[str, ...] = (
    "_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
)
RECIPE_DIR = Path(__file__).resolve().parents[3] / "models" / "recipes"
ARCHS = ("ds_cnn", "cnn")
TIME_PADDINGS = ("same", "valid")


@dataclass(frozen=True)
class ConvSpec:
    """One standard convolution (+BN+ReLU), optionally followed by a max pool."""

    filters: int
    kernel: tuple[int, int] = (3, 3)
    strides: tuple[int, int] = (1, 1)
    pool: tuple[int, int] | None = None


@dataclass(frozen=True)
class BlockSpec:
    """One depthwise-separable block: DW kxk (stride) + BN + ReLU, pointwise 1x1 + BN + ReLU."""

    filters: int
    strides: tuple[int, int] = (1, 1)


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of a chain model (no branches, so structured pruning can follow channels).

    ``ds_cnn``: ``convs[0]`` is the first standard conv, then one depthwise-separable
    block (DW 3x3 + pointwise) per entry of ``blocks``. ``cnn``: only ``convs``.
    Both end in an average pool over the whole remaining map and a dense softmax layer.

    ``time_padding``: ``same`` pads every convolution in both axes (TFLite SAME); ``valid``
    pads only in frequency (SAME's split) and not in time. Why: with no padding in time, each
    output frame depends only on input frames inside the window, so a device can keep each
    layer's last rows between calls and compute only the frames that are new (streaming
    inference, bit-identical to running the whole window); SAME in time would make every
    edge frame change whenever the window moves.
    """

    arch: str
    convs: tuple[ConvSpec, ...]
    blocks: tuple[BlockSpec, ...] = ()
    dw_kernel: tuple[int, int] = (3, 3)
    dropout: float = 0.0
    time_padding: str = "same"

    def __post_init__(self) -> None:
        if self.time_padding not in TIME_PADDINGS:
            raise ConfigError(f"model.time_padding must be one of {', '.join(TIME_PADDINGS)}, "
                              f"got {self.time_padding!r}")


@dataclass(frozen=True)
class TrainSpec:
    """Float training settings; the CLI may override epochs and seed.

    ``augment``: add one time-shifted, background-noise-mixed copy of every training clip
    (seeded by ``seed``) to the clean ones; validation and test stay clean.
    Feature-level augmentation, drawn afresh for every batch (so the model never sees the same
    input twice): ``time_masks`` masks of up to ``time_mask_frames`` frames and ``freq_masks``
    masks of up to ``freq_mask_bins`` coefficients set to the training mean (SpecAugment, Park et
    al. 2019); ``mixup_alpha`` > 0 mixes each example with another one and their labels by a
    Beta(alpha, alpha) weight (Zhang et al. 2018); ``label_smoothing`` softens the targets.
    Why: synthetic voices are few and clean; masks and mixing keep the model from leaning on any
    one frequency band or frame that a synthesiser renders its own way.
    """

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 2e-3
    patience: int = 6
    seed: int = 0
    augment: bool = False
    time_masks: int = 0
    time_mask_frames: int = 0
    freq_masks: int = 0
    freq_mask_bins: int = 0
    mixup_alpha: float = 0.0
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        for name in ("time_masks", "time_mask_frames", "freq_masks", "freq_mask_bins"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must be >= 0, got {getattr(self, name)}")
        if self.mixup_alpha < 0:
            raise ConfigError(f"train.mixup_alpha must be >= 0, got {self.mixup_alpha}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"train.label_smoothing must be in [0, 1), got {self.label_smoothing}")

    @property
    def feature_augment(self) -> bool:
        """True when batches need per-step augmentation (SpecAugment masks or mixup)."""
        return bool((self.time_masks and self.time_mask_frames) or (self.freq_masks and self.freq_mask_bins)
                    or self.mixup_alpha > 0)


@dataclass(frozen=True)
class PruneSpec:
    """Defaults for fine-tuning after pruning (any granularity).

    ``distill``: weight of the dense model's soft outputs in the fine-tuning targets (0 = plain labels);
    on small datasets distillation recovers most of the pruning loss. ``filter_learning_rate``: a
    filter-pruned model is a new, smaller network and recovers faster with a higher rate.
    """

    epochs: int = 20
    learning_rate: float = 2e-3
    filter_learning_rate: float = 5e-3
    skip_first: bool = True
    importance: str = "l1"
    distill: float = 0.5


@dataclass(frozen=True)
class QuantSpec:
    """Int8 quantization settings."""

    calibration_samples: int = 300
    qat: bool = False
    qat_epochs: int = 3


@dataclass(frozen=True)
class Recipe:
    """One entry of the model zoo."""

    name: str
    description: str
    frontend: str
    model: ModelSpec
    train: TrainSpec = field(default_factory=TrainSpec)
    prune: PruneSpec = field(default_factory=PruneSpec)
    quant: QuantSpec = field(default_factory=QuantSpec)
    labels: tuple[str, ...] = LABELS

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists) for bundle.json."""
        return _jsonable(dataclasses.asdict(self))

    def replace_train(self, **changes: Any) -> Recipe:
        """A copy with some training settings changed (CLI overrides)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, train=dataclasses.replace(self.train, **changes))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def _pair(value: Any, what: str) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (int(value[0]), int(value[1]))
    raise ConfigError(f"{what} must be an int or a pair of ints, got {value!r}")


def _build(cls: type, data: Any, what: str, converters: dict[str, Any] | None = None) -> Any:
    """Construct a dataclass from a mapping, rejecting unknown keys with a one-line error."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} must be a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{what}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(names))})")
    kwargs = dict(data)
    for key, conv in (converters or {}).items():
        if key in kwargs:
            kwargs[key] = conv(kwargs[key])
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{what}: {exc}") from exc


def _conv(d: Any) -> ConvSpec:
    spec = _build(ConvSpec, d, "model.convs[]", {
        "kernel": lambda v: _pair(v, "kernel"),
        "strides": lambda v: _pair(v, "strides"),
        "pool": lambda v: None if v is None else _pair(v, "pool"),
    })
    if spec.filters <= 0:
        raise ConfigError(f"model.convs[]: filters must be positive, got {spec.filters}")
    return spec


def _block(d: Any) -> BlockSpec:
    if isinstance(d, int):
        d = {"filters": d}
    spec = _build(BlockSpec, d, "model.blocks[]", {"strides": lambda v: _pair(v, "strides")})
    if spec.filters <= 0:
        raise ConfigError(f"model.blocks[]: filters must be positive, got {spec.filters}")
    return spec


def recipe_from_dict(data: dict[str, Any], default_name: str = "recipe") -> Recipe:
    """Validate and convert a parsed YAML mapping into a :class:`Recipe`."""
    if not isinstance(data, dict):
        raise ConfigError("a recipe must be a YAML mapping")
    data = dict(data)
    model = data.get("model")
    if not isinstance(model, dict) or "arch" not in model:
        raise ConfigError("recipe needs a 'model' mapping with an 'arch'")
    if model["arch"] not in ARCHS:
        raise ConfigError(f"unknown model.arch {model['arch']!r} (known: {', '.join(ARCHS)})")
    model_spec = _build(ModelSpec, model, "model", {
        "convs": lambda v: tuple(_conv(c) for c in v),
        "blocks": lambda v: tuple(_block(b) for b in v),
        "dw_kernel": lambda v: _pair(v, "dw_kernel"),
    })
    if not model_spec.convs:
        raise ConfigError("model.convs needs at least one convolution")
    labels = tuple(data.get("labels", LABELS))
    known = {"name", "description", "frontend", "model", "train", "prune", "quant", "labels"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"recipe: unknown key(s) {', '.join(unknown)}")
    return Recipe(
        name=str(data.get("name", default_name)),
        description=str(data.get("description", "")).strip(),
        frontend=str(data.get("frontend", "kws-mfcc-49x10")),
        model=model_spec,
        train=_build(TrainSpec, data.get("train"), "train"),
        prune=_build(PruneSpec, data.get("prune"), "prune"),
        quant=_build(QuantSpec, data.get("quant"), "quant"),
        labels=labels,
    )


def available_recipes() -> list[str]:
    """Names of the recipes shipped under models/recipes/."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Load a recipe by zoo name (``ds-cnn-s``) or from a YAML file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RECIPE_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"no recipe {str(name_or_path)!r} (known: {', '.join(available_recipes()) or 'none'})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"recipe {path.name} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    return recipe_from_dict(data, default_name=path.stem)
