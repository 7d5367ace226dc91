"""The DCASE 2024 Task 1 layout (TAU Urban Acoustic Scenes 2022 Mobile, development set) -> an index of clips.

On disk (all CSVs tab-separated, with a header)::

    meta.csv                  filename  scene_label  identifier  source_label
                              audio/airport-lisbon-1000-40000-0-a.wav  airport  lisbon-1000  a
    audio/*.wav               one-second mono clips (44.1 kHz in the real set)
    split_setup/split5.csv    filename [scene_label]   the training subsets: 5, 10, 25, 50, 100 %
    split_setup/split10.csv   ...                      (the challenge's baseline keeps them in split_setup/;
    ...                                                 the root folder is accepted too)
    split_setup/test.csv      filename [scene_label]   the development test split

``identifier`` is ``<city>-<location>``; ``source_label`` the recording device
(``a``, ``b``, ``c`` real; ``s1``-``s6`` simulated). Labels come from meta.csv; a
split CSV that also carries ``scene_label`` must agree with it (a mismatch means the
files come from different releases). Every listed file must exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekws.errors import DatasetError
from edgekws.tasks.asc.config import SUBSETS
from edgekws.tasks.datasets import read_csv_rows, require_dir

META = "meta.csv"
SPLIT_DIR = "split_setup"
TEST_CSV = "test.csv"


def split_csv(percent: int) -> str:
    return f"split{percent}.csv"


@dataclass(frozen=True)
class Clip:
    """One row of meta.csv; ``filename`` is relative to the dataset root (``audio/...wav``)."""

    filename: str
    scene: str
    city: str
    location: str
    device: str


@dataclass(frozen=True)
class AscIndex:
    root: Path
    scenes: tuple[str, ...]
    cities: tuple[str, ...]
    devices: tuple[str, ...]
    clips: dict[str, Clip]
    subsets: dict[int, tuple[str, ...]]  # percent -> filenames (training subsets present on disk)
    test: tuple[str, ...]

    def subset(self, percent: int) -> list[Clip]:
        if percent not in self.subsets:
            raise DatasetError(f"{self.root}: no {split_csv(percent)} (found: "
                               f"{', '.join(split_csv(p) for p in sorted(self.subsets)) or 'none'})")
        return [self.clips[f] for f in self.subsets[percent]]

    def test_clips(self) -> list[Clip]:
        return [self.clips[f] for f in self.test]


def _delimiter(path: Path) -> str:
    """Tab for the DCASE files; a comma-separated copy (re-saved in a spreadsheet) is read too."""
    try:
        first = path.read_text(encoding="utf-8-sig").split("\n", 1)[0]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    return "\t" if "\t" in first else ","


def _csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise DatasetError(f"{path}: index file not found")
    return read_csv_rows(path, required, delimiter=_delimiter(path))


def _parse_identifier(path: Path, ident: str, filename: str) -> tuple[str, str]:
    city, sep, location = ident.rpartition("-")
    if not sep or not city or not location:
        raise DatasetError(f"{path}: identifier {ident!r} of {filename} is not <city>-<location>")
    return city, ident


def _find_split_dir(root: Path) -> Path:
    d = root / SPLIT_DIR
    return d if d.is_dir() else root


def _split_files(path: Path, clips: dict[str, Clip]) -> tuple[str, ...]:
    rows = _csv(path, ("filename",))
    out: list[str] = []
    seen: set[str] = set()
    for r in rows:
        f = r["filename"]
        if f not in clips:
            raise DatasetError(f"{path}: {f} is not in {META}")
        if "scene_label" in r and r["scene_label"] and r["scene_label"] != clips[f].scene:
            raise DatasetError(f"{path}: {f} is labelled {r['scene_label']!r} here but {clips[f].scene!r} in {META}")
        if f in seen:
            raise DatasetError(f"{path}: {f} is listed twice")
        seen.add(f)
        out.append(f)
    return tuple(out)


def index_dataset(root: str | Path, check_audio: bool = True) -> AscIndex:
    """Read meta.csv, the training-subset CSVs present and test.csv; check that every listed WAV exists."""
    root = require_dir(root, "dataset folder")
    meta_path = root / META
    rows = _csv(meta_path, ("filename", "scene_label", "identifier", "source_label"))
    clips: dict[str, Clip] = {}
    for r in rows:
        f = r["filename"]
        if f.startswith("/") or ".." in Path(f).parts:
            raise DatasetError(f"{meta_path}: filename {f!r} must be relative to the dataset folder")
        if f in clips:
            raise DatasetError(f"{meta_path}: {f} is listed twice")
        city, location = _parse_identifier(meta_path, r["identifier"], f)
        clips[f] = Clip(f, r["scene_label"], city, location, r["source_label"].lower())
    split_dir = _find_split_dir(root)
    subsets = {p: _split_files(split_dir / split_csv(p), clips) for p in SUBSETS
               if (split_dir / split_csv(p)).is_file()}
    if not subsets:
        raise DatasetError(f"{split_dir}: no training split CSV ({', '.join(split_csv(p) for p in SUBSETS)})")
    test = _split_files(split_dir / TEST_CSV, clips)
    overlap = sorted(set(test) & {f for fs in subsets.values() for f in fs})
    if overlap:
        raise DatasetError(f"{split_dir}: {len(overlap)} file(s) are in a training split and in {TEST_CSV} "
                           f"(first: {overlap[0]})")
    used = set(test) | {f for fs in subsets.values() for f in fs}
    if check_audio:
        missing = sorted(f for f in used if not (root / f).is_file())
        if missing:
            raise DatasetError(f"{root}: {len(missing)} listed audio file(s) missing (first: {missing[0]})")
    scenes = tuple(sorted({clips[f].scene for fs in subsets.values() for f in fs}))
    if len(scenes) < 2:
        raise DatasetError(f"{split_dir}: the training splits hold {len(scenes)} scene(s); need at least 2")
    unknown = sorted({clips[f].scene for f in test} - set(scenes))
    if unknown:
        raise DatasetError(f"{split_dir / TEST_CSV}: scene(s) {', '.join(unknown)} never occur in training")
    cities = tuple(sorted({c.city for c in clips.values() if c.filename in used}))
    devices = tuple(sorted({c.device for c in clips.values() if c.filename in used}))
    return AscIndex(root, scenes, cities, devices, clips, subsets, test)
