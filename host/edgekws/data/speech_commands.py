"""Google Speech Commands (v1/v2) on-disk layout: scanning, splits and the 12-class task.

The layout is one folder per spoken word holding 1 s, 16 kHz WAV clips named
``<speaker>_nohash_<n>.wav``, plus ``validation_list.txt`` / ``testing_list.txt``
(paths relative to the root) and ``_background_noise_/`` with long noise
recordings. ``edgekws data synth`` writes the same layout, so everything below
works on both the real dataset and the synthetic one.

Split rule. When the two list files are present they decide (everything not
listed is training), exactly as the dataset's README asks. Without them the
dataset's own ``which_set`` rule is used: hash the file name with everything
from ``_nohash_`` on removed, so all clips of one speaker land in the same
split and the assignment never changes when files are added.

The official *test-set archive* (``speech_commands_test_set_v0.0X.tar.gz``) has
another layout: the ten keyword folders plus ready-made ``_silence_/`` and
``_unknown_/`` folders, and no list files, because every clip in it is a test
clip. Ready-made filler folders exist only in test-set archives (the full
dataset has ``_background_noise_/`` instead), so their clips are test clips
unless a list file names them; without list files such a folder marks the
whole folder as a test set. ``_silence_/`` clips are labelled silence and
``_unknown_/`` clips unknown, and the balancing below leaves them as they are.

The 12-class task follows the TensorFlow ``speech_commands`` example: ten
keywords, every other word folded into ``_unknown_``, and ``_silence_`` clips
added. Unlike the TF example (which sizes silence/unknown relative to the
keyword count), the percentages here are shares of the *final* split, so
``silence_percentage=10`` really means 10 % of the split's examples.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekws.errors import DatasetError

SILENCE_LABEL = "_silence_"
UNKNOWN_LABEL = "_unknown_"
KEYWORDS: tuple[str, ...] = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
LABELS: tuple[str, ...] = (SILENCE_LABEL, UNKNOWN_LABEL, *KEYWORDS)
BACKGROUND_NOISE_DIR = "_background_noise_"
#: Folders of ready-made filler clips, as the official test-set archive ships them.
READY_MADE_DIRS: tuple[str, ...] = (SILENCE_LABEL, UNKNOWN_LABEL)
#: ``split`` value of :func:`list_clips` that takes every clip, whatever its split.
ALL_SPLITS = "all"
VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
SPLITS: tuple[str, ...] = ("training", "validation", "testing")
# The dataset's hash rule works modulo this (about 134M), so the percentage is
# stable even if the dataset grows to many more clips per word.
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1
_SPLIT_ALIASES = {
    "train": "training", "training": "training",
    "val": "validation", "valid": "validation", "validation": "validation",
    "test": "testing", "testing": "testing",
}
_AUDIO_SUFFIXES = (".wav", ".flac")


@dataclass(frozen=True)
class DatasetConfig:
    """How a Speech Commands-style folder becomes labelled splits.

    ``split_source``: ``"auto"`` uses the list files when both exist and the hash
    rule otherwise; ``"lists"`` requires the list files; ``"hash"`` ignores them.
    ``seed`` only picks *which* unknown clips are kept and the silence clips'
    noise segments, so two runs with the same config see the same examples.
    """

    wanted_words: tuple[str, ...] = KEYWORDS
    silence_percentage: float = 10.0
    unknown_percentage: float = 10.0
    validation_percentage: float = 10.0
    testing_percentage: float = 10.0
    split_source: str = "auto"
    sample_rate: int = 16000
    clip_duration_ms: int = 1000
    silence_max_volume: float = 1.0
    seed: int = 59185

    def __post_init__(self) -> None:
        # Frozen dataclass: JSON round trips hand lists; keep tuples for hashing.
        object.__setattr__(self, "wanted_words", tuple(self.wanted_words))
        for name in ("silence_percentage", "unknown_percentage", "validation_percentage", "testing_percentage"):
            value = getattr(self, name)
            if not 0.0 <= value < 100.0:
                raise DatasetError(f"{name} must be in [0, 100), got {value}")
        if self.silence_percentage + self.unknown_percentage >= 100.0:
            raise DatasetError("silence_percentage + unknown_percentage must be below 100")
        if self.validation_percentage + self.testing_percentage >= 100.0:
            raise DatasetError("validation_percentage + testing_percentage must be below 100")
        if self.split_source not in ("auto", "lists", "hash"):
            raise DatasetError(f"split_source must be auto, lists or hash, got {self.split_source!r}")
        if not self.wanted_words:
            raise DatasetError("wanted_words must not be empty")
        if len(set(self.wanted_words)) != len(self.wanted_words):
            raise DatasetError("wanted_words contains duplicates")
        if self.sample_rate <= 0 or self.clip_duration_ms <= 0:
            raise DatasetError("sample_rate and clip_duration_ms must be positive")

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names in model output order: silence, unknown, then the wanted words."""
        return (SILENCE_LABEL, UNKNOWN_LABEL, *self.wanted_words)

    @property
    def clip_samples(self) -> int:
        """Samples per example (16000 for the standard 1 s at 16 kHz)."""
        return self.sample_rate * self.clip_duration_ms // 1000

    def to_dict(self) -> dict:
        """Plain JSON-able dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["wanted_words"] = list(self.wanted_words)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DatasetConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error, not silently dropped."""
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(d) - names
        if extra:
            raise DatasetError(f"unknown DatasetConfig keys: {', '.join(sorted(extra))}")
        return cls(**d)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) so equal configs serialise identically."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DatasetConfig:
        """Parse :meth:`to_json` output."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"invalid DatasetConfig JSON: {exc.msg}") from None
        if not isinstance(d, dict):
            raise DatasetError("DatasetConfig JSON must be an object")
        return cls.from_dict(d)


@dataclass(frozen=True)
class Example:
    """One example of a split: a clip file, or a silence slot (``path is None``).

    ``path`` is relative to the dataset root with forward slashes, the form the
    list files use. ``word`` is the folder name (``_silence_`` for silence).
    """

    path: str | None
    word: str
    label: int


@dataclass
class DatasetIndex:
    """What is on disk: clip files per word folder, noise files and the list files."""

    root: Path
    words: dict[str, list[str]] = field(default_factory=dict)
    noise_files: list[str] = field(default_factory=list)
    validation_list: set[str] | None = None
    testing_list: set[str] | None = None

    @property
    def num_clips(self) -> int:
        """Total clip files over all word folders."""
        return sum(len(v) for v in self.words.values())

    @property
    def ready_made(self) -> tuple[str, ...]:
        """The ready-made filler folders (``_silence_``, ``_unknown_``) this dataset has clips in."""
        return tuple(d for d in READY_MADE_DIRS if d in self.words)

    @property
    def is_test_archive(self) -> bool:
        """True for the official test-set archive's layout: ready-made fillers and no list files."""
        return bool(self.ready_made) and self.validation_list is None

    def file_list(self) -> list[str]:
        """Every clip and noise file, sorted: the dataset's identity for cache keys."""
        files = [p for paths in self.words.values() for p in paths]
        return sorted(files) + sorted(self.noise_files)


def normalize_split(split: str) -> str:
    """Canonical split name (``training``/``validation``/``testing``); accepts train/val/test."""
    try:
        return _SPLIT_ALIASES[split.lower()]
    except KeyError:
        raise DatasetError(f"unknown split {split!r}; use training, validation or testing") from None


def which_set(filename: str, validation_percentage: float = 10.0, testing_percentage: float = 10.0) -> str:
    """Split of a clip by the Speech Commands hash rule (stable, speaker-grouped).

    The name with ``_nohash_...`` removed is the speaker id; its SHA-1 taken
    modulo ``2**27 - 1`` maps to a percentage in [0, 100], compared with the
    validation and testing shares.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    speaker = re.sub(r"_nohash_.*$", "", base)
    digest = int(hashlib.sha1(speaker.encode("utf-8")).hexdigest(), 16)
    percentage = (digest % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < validation_percentage + testing_percentage:
        return "testing"
    return "training"


def _read_list(path: Path) -> set[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc.__class__.__name__}") from None
    return {line.strip().replace("\\", "/") for line in text.splitlines() if line.strip()}


def scan_dataset(root: str | Path) -> DatasetIndex:
    """Index a Speech Commands-style folder without reading any audio.

    Hidden folders (``.cache`` etc.) and files at the top level are ignored;
    every other folder is a word. Raises :class:`DatasetError` for a missing
    root or one without any clip.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"dataset directory {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"dataset path {root} is not a directory")
    index = DatasetIndex(root=root)
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(
            f"{sub.name}/{f.name}" for f in sub.iterdir()
            if f.is_file() and f.suffix.lower() in _AUDIO_SUFFIXES and not f.name.startswith(".")
        )
        if sub.name == BACKGROUND_NOISE_DIR:
            index.noise_files = files
        elif files:
            index.words[sub.name] = files
    if not index.words:
        raise DatasetError(f"dataset directory {root} has no word folders with .wav clips")
    val, test = root / VALIDATION_LIST, root / TESTING_LIST
    if val.is_file() and test.is_file():
        index.validation_list = _read_list(val)
        index.testing_list = _read_list(test)
    return index


def split_rule(index: DatasetIndex, cfg: DatasetConfig) -> str:
    """How clips get their split: ``"lists"``, ``"hash"`` or ``"test-archive"`` (every clip a test clip)."""
    if cfg.split_source == "lists" and index.validation_list is None:
        raise DatasetError(
            f"{index.root} has no {VALIDATION_LIST} and {TESTING_LIST} (split_source='lists' needs both)"
        )
    if cfg.split_source == "hash":
        return "hash"
    if index.validation_list is not None:
        return "lists"
    return "test-archive" if index.is_test_archive else "hash"


def assign_splits(index: DatasetIndex, cfg: DatasetConfig) -> dict[str, list[str]]:
    """Every clip file of the index, grouped by split (sorted within each split).

    Ready-made ``_silence_/`` / ``_unknown_/`` clips that no list file names are
    test clips (those folders only come with test sets, see the module doc).
    """
    rule = split_rule(index, cfg)
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    for word, paths in index.words.items():
        for p in paths:
            if rule == "test-archive":
                out["testing"].append(p)
            elif rule == "lists":
                assert index.validation_list is not None and index.testing_list is not None
                if p in index.validation_list:
                    out["validation"].append(p)
                elif p in index.testing_list or word in READY_MADE_DIRS:
                    out["testing"].append(p)
                else:
                    out["training"].append(p)
            else:
                out[which_set(p, cfg.validation_percentage, cfg.testing_percentage)].append(p)
    for s in SPLITS:
        out[s].sort()
    return out


def _split_seed(cfg: DatasetConfig, split: str) -> list[int]:
    return [cfg.seed, SPLITS.index(split)]


def filler_counts(num_keywords: int, cfg: DatasetConfig) -> tuple[int, int]:
    """(silence, unknown) counts so they make up their percentages of the final split."""
    keyword_share = 100.0 - cfg.silence_percentage - cfg.unknown_percentage
    total = num_keywords * 100.0 / keyword_share
    return (
        int(math.ceil(total * cfg.silence_percentage / 100.0 - 1e-9)),
        int(math.ceil(total * cfg.unknown_percentage / 100.0 - 1e-9)),
    )


def list_split(
    root: str | Path | DatasetIndex, split: str, cfg: DatasetConfig | None = None
) -> list[Example]:
    """The examples of one split of the 12-class task, in a deterministic order.

    Keyword clips come first (sorted by path), then the chosen unknown clips
    (a seeded random subset of the other words), then silence slots. Training
    code shuffles; evaluation code wants a fixed order.
    """
    cfg = cfg or DatasetConfig()
    split = normalize_split(split)
    index = root if isinstance(root, DatasetIndex) else scan_dataset(root)
    files = assign_splits(index, cfg)[split]
    label_of = {w: i for i, w in enumerate(cfg.labels)}
    keyword_examples: list[Example] = []
    unknown_pool: list[str] = []
    ready_silence: list[str] = []
    has_ready_unknown = False
    for p in files:
        word = p.split("/", 1)[0]
        if word == SILENCE_LABEL:
            ready_silence.append(p)
        elif word in label_of and word != UNKNOWN_LABEL:
            keyword_examples.append(Example(p, word, label_of[word]))
        else:
            has_ready_unknown |= word == UNKNOWN_LABEL
            unknown_pool.append(p)
    if not keyword_examples:
        raise DatasetError(
            f"split {split} of {index.root} has no clips of the wanted words ({', '.join(cfg.wanted_words)})"
        )
    n_silence, n_unknown = filler_counts(len(keyword_examples), cfg)
    if has_ready_unknown:
        unknown = list(unknown_pool)  # a test set's own balance: keep every clip
    else:
        rng = np.random.default_rng(_split_seed(cfg, split))
        order = rng.permutation(len(unknown_pool))[: min(n_unknown, len(unknown_pool))]
        unknown = sorted(unknown_pool[i] for i in order)
    examples = keyword_examples + [Example(p, p.split("/", 1)[0], 1) for p in unknown]
    if ready_silence:
        examples += [Example(p, SILENCE_LABEL, 0) for p in ready_silence]
    else:
        examples += [Example(None, SILENCE_LABEL, 0) for _ in range(n_silence)]
    return examples


def list_clips(
    root: str | Path | DatasetIndex, split: str = "testing", cfg: DatasetConfig | None = None
) -> list[Example]:
    """Every clip file of ``split`` (or of all splits with ``split="all"``), labelled as it is.

    Unlike :func:`list_split` nothing is balanced, sampled or synthesised: each
    clip is one example, labelled by its folder (a wanted word, ``_silence_``,
    or ``_unknown_`` for every other folder). This is what an evaluation on a
    fixed set of real clips needs: the figure counts the clips that are there.
    Sorted by path. Raises :class:`DatasetError` when the selection is empty.
    """
    cfg = cfg or DatasetConfig()
    index = root if isinstance(root, DatasetIndex) else scan_dataset(root)
    if split == ALL_SPLITS:
        files = sorted(p for paths in index.words.values() for p in paths)
    else:
        split = normalize_split(split)
        files = assign_splits(index, cfg)[split]
    if not files:
        rule = split_rule(index, cfg)
        raise DatasetError(f"split {split} of {index.root} has no clips (splits from {rule}; "
                           f"try --split all or another split)")
    label_of = {w: i for i, w in enumerate(cfg.labels)}
    out = []
    for p in files:
        word = p.split("/", 1)[0]
        out.append(Example(p, word, label_of.get(word, label_of[UNKNOWN_LABEL])))
    return out


def class_counts(examples: list[Example], labels: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Examples per class name, in label order (zeros included)."""
    counts = dict.fromkeys(labels, 0)
    for e in examples:
        counts[labels[e.label]] += 1
    return counts
