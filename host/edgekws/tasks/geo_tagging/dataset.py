"""A Geo-ATBench-like metadata layout -> clips with multi-hot event labels and a geospatial context vector.

Geo-ATBench (as described: 28 sound event classes, 11 geospatial context categories
derived from the map points of interest, POIs, around each recording's location)
pairs every clip with its location and that POI-derived context. Its release files
are not available offline, so this loader reads the layout below, which carries
exactly the fields the benchmark describes; a real release would be converted into
it by a column rename. On disk::

    metadata.csv      clip_id,split,latitude,longitude,event_<name>...,poi_<category>...
                      train_00001,train,52.51234,13.40012,0,1,...,3,0,...
    audio/<clip_id>.wav

* ``split``: ``train``, ``val`` or ``test`` (without ``val`` rows, the training code
  draws its validation clips from ``train``);
* ``latitude`` / ``longitude``: degrees (WGS84), checked for range; the models use the
  context derived from them, not the coordinates;
* ``event_<name>``: one 0/1 column per event class, in the order of the header (the
  multi-hot labels; a clip may have none);
* ``poi_<category>``: one non-negative number per context category: POI counts or a
  distribution, normalised here to a distribution over the categories (a place with
  no POI at all gets the zero vector). All 11 categories of
  :data:`~.config.CONTEXT_CATEGORIES` must be present.

Every problem (missing column, a label that is not 0/1, a coordinate out of range, a
negative count, an unknown split, a missing WAV, a clip listed twice) is one
:class:`~edgekws.errors.DatasetError` line naming the file, the data row and its clip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.errors import DatasetError
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.datasets import load_event_audio, read_csv_rows, require_dir
from edgekws.tasks.geo_tagging.config import CONTEXT_CATEGORIES

METADATA = "metadata.csv"
AUDIO_DIR = "audio"
SPLITS = ("train", "val", "test")
EVENT_PREFIX = "event_"
POI_PREFIX = "poi_"
BASE_COLUMNS = ("clip_id", "split", "latitude", "longitude")


def metadata_header(events: Sequence[str]) -> list[str]:
    """The CSV header for these event classes (the generator writes it; the loader requires it)."""
    return [*BASE_COLUMNS, *(EVENT_PREFIX + e for e in events), *(POI_PREFIX + c for c in CONTEXT_CATEGORIES)]


@dataclass(frozen=True)
class GeoClip:
    clip_id: str
    split: str
    latitude: float
    longitude: float
    labels: tuple[int, ...]  # 0/1 per event class
    context: tuple[float, ...]  # distribution over CONTEXT_CATEGORIES (or all zero)

    @property
    def rel(self) -> str:
        return f"{AUDIO_DIR}/{self.clip_id}.wav"


@dataclass(frozen=True)
class GeoIndex:
    root: Path
    events: tuple[str, ...]
    clips: tuple[GeoClip, ...]

    def split(self, name: str) -> list[GeoClip]:
        return [c for c in self.clips if c.split == name]


def _number(value: str, where: str, column: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise DatasetError(f"{where}: {column} {value!r} is not a number") from None
    if not math.isfinite(v):
        raise DatasetError(f"{where}: {column} {value!r} is not finite")
    return v


def read_metadata(root: str | Path) -> GeoIndex:
    """Read and check ``metadata.csv`` of the layout; every listed WAV must exist."""
    root = require_dir(root, "dataset folder")
    path = root / METADATA
    poi_cols = [POI_PREFIX + c for c in CONTEXT_CATEGORIES]
    rows = read_csv_rows(path, [*BASE_COLUMNS, *poi_cols])
    events = tuple(h[len(EVENT_PREFIX):] for h in rows[0] if h.startswith(EVENT_PREFIX))
    if len(events) < 2:
        raise DatasetError(f"{path}: need at least 2 {EVENT_PREFIX}<name> label columns, found {len(events)}")
    seen: set[str] = set()
    clips = []
    for row_no, r in enumerate(rows, start=1):
        cid = r["clip_id"]
        where = f"{path}: data row {row_no} (clip_id {cid})"
        if "/" in cid or "\\" in cid or cid in (".", ".."):
            raise DatasetError(f"{where}: clip_id {cid!r} must be a bare name (audio/<clip_id>.wav)")
        if cid in seen:
            raise DatasetError(f"{where}: clip_id {cid} is listed twice")
        seen.add(cid)
        if r["split"] not in SPLITS:
            raise DatasetError(f"{where}: split {r['split']!r} is not one of {', '.join(SPLITS)}")
        lat, lon = _number(r["latitude"], where, "latitude"), _number(r["longitude"], where, "longitude")
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise DatasetError(f"{where}: latitude/longitude {lat}, {lon} out of range")
        labels = []
        for e in events:
            v = r[EVENT_PREFIX + e]
            if v not in ("0", "1"):
                raise DatasetError(f"{where}: {EVENT_PREFIX}{e} must be 0 or 1, got {v!r}")
            labels.append(int(v))
        ctx = np.array([_number(r[c], where, c) for c in poi_cols])
        if (ctx < 0).any():
            raise DatasetError(f"{where}: negative POI value in {poi_cols[int(np.argmax(ctx < 0))]}")
        total = float(ctx.sum())
        ctx = ctx / total if total > 0 else ctx
        clip = GeoClip(cid, r["split"], lat, lon, tuple(labels), tuple(float(v) for v in ctx))
        if not (root / clip.rel).is_file():
            raise DatasetError(f"{root / clip.rel}: listed in {METADATA} but missing")
        clips.append(clip)
    index = GeoIndex(root, events, tuple(clips))
    for split in ("train", "test"):
        if not index.split(split):
            raise DatasetError(f"{path}: no {split} clips")
    return index


def labels_of(clips: Sequence[GeoClip]) -> np.ndarray:
    """Multi-hot truth ``[N, events]`` (float32)."""
    return np.array([c.labels for c in clips], dtype=np.float32).reshape(len(clips), -1)


def contexts_of(clips: Sequence[GeoClip]) -> np.ndarray:
    """Context vectors ``[N, 11]`` (float32)."""
    return np.array([c.context for c in clips], dtype=np.float32).reshape(len(clips), len(CONTEXT_CATEGORIES))


def load_clips(index: GeoIndex, clips: Sequence[GeoClip], sample_rate: int, clip_seconds: float,
               progress: ProgressFn = no_progress, what: str = "loading clips") -> np.ndarray:
    """Audio ``[N, samples]`` at ``sample_rate``, each clip zero-padded or cut to ``clip_seconds``."""
    n = int(round(clip_seconds * sample_rate))
    out = np.zeros((len(clips), n), dtype=np.float32)
    for i, c in enumerate(clips):
        x = load_event_audio(index.root / c.rel, sample_rate)[:n]
        out[i, : len(x)] = x
        progress(what, i + 1, len(clips))
    return out
