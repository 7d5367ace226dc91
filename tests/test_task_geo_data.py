"""geo-tagging data: the metadata loader on fixtures written here (and its one-line errors), and the
generator's exact labels and the context that really tells the confusable events apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekws.audio import write_wav
from edgekws.cli import main
from edgekws.errors import DatasetError
from edgekws.tasks.geo_tagging import dataset as ds
from edgekws.tasks.geo_tagging import synth
from edgekws.tasks.geo_tagging.config import CONTEXT_CATEGORIES, SynthConfig, TrainConfig
from edgekws.tasks.geo_tagging.pipeline import split_clips

EVENTS = ("Bark", "Siren", "Bell")


def write_layout(root: Path, n_train: int = 6, n_test: int = 3, val: bool = False) -> Path:
    """A tiny metadata layout: 3 events, POI counts, 16 kHz tones as audio."""
    lines = [",".join(ds.metadata_header(EVENTS))]
    rng = np.random.default_rng(0)
    splits = ["train"] * n_train + ["test"] * n_test + (["val"] * 2 if val else [])
    for i, split in enumerate(splits):
        cid = f"c{i:03d}"
        t = np.arange(8000) / 16000
        write_wav(root / "audio" / f"{cid}.wav", (0.3 * np.sin(2 * np.pi * (300 + 100 * i) * t)).astype(np.float32),
                  16000)
        labels = [str(int(v)) for v in rng.random(3) < 0.5]
        counts = [str(int(v)) for v in rng.integers(0, 5, len(CONTEXT_CATEGORIES))]
        lines.append(",".join([cid, split, "52.5", "13.4", *labels, *counts]))
    (root / ds.METADATA).write_text("\n".join(lines) + "\n")
    return root


def test_loader_reads_the_layout(tmp_path: Path) -> None:
    root = write_layout(tmp_path / "geo")
    idx = ds.read_metadata(root)
    assert idx.events == EVENTS and len(idx.split("train")) == 6 and len(idx.split("test")) == 3
    rows = (root / ds.METADATA).read_text().splitlines()[1:]
    for clip, row in zip(idx.clips, rows, strict=True):
        fields = row.split(",")
        assert clip.labels == tuple(int(v) for v in fields[4:7])
        counts = np.array([float(v) for v in fields[7:]])
        # counts become a distribution over the 11 categories (a place without POIs stays all zero)
        np.testing.assert_allclose(clip.context, counts / counts.sum() if counts.sum() else counts, rtol=1e-6)
    y, c = ds.labels_of(idx.clips), ds.contexts_of(idx.clips)
    assert y.shape == (9, 3) and c.shape == (9, 11)
    audio = ds.load_clips(idx, idx.split("test"), 16000, 1.0)
    assert audio.shape == (3, 16000) and not audio[:, 8000:].any()  # 0.5 s of tone padded to the 1 s clip
    # without val rows, validation is a seeded share of train, disjoint from it; with them, they are used
    sp = split_clips(idx, TrainConfig(val_fraction=0.34))
    assert len(sp["val"]) == 2 and len(sp["train"]) == 4
    assert not {c.clip_id for c in sp["val"]} & {c.clip_id for c in sp["train"]}
    idx2 = ds.read_metadata(write_layout(tmp_path / "geo2", val=True))
    assert [c.clip_id for c in split_clips(idx2, TrainConfig())["val"]] == ["c009", "c010"]


def _replace(root: Path, column: str, value: str) -> None:
    lines = (root / ds.METADATA).read_text().splitlines()
    k = lines[0].split(",").index(column)
    fields = lines[2].split(",")
    fields[k] = value
    lines[2] = ",".join(fields)
    (root / ds.METADATA).write_text("\n".join(lines) + "\n")


BREAKAGES = {
    "label not 0/1": (lambda r: _replace(r, "event_Siren", "yes"), "event_Siren must be 0 or 1"),
    "latitude out of range": (lambda r: _replace(r, "latitude", "123"), "out of range"),
    "negative count": (lambda r: _replace(r, "poi_park", "-2"), "negative POI value in poi_park"),
    "count not a number": (lambda r: _replace(r, "poi_road", "many"), "poi_road 'many' is not a number"),
    "unknown split": (lambda r: _replace(r, "split", "dev"), "split 'dev' is not one of"),
    "missing wav": (lambda r: (r / "audio" / "c003.wav").unlink(), "c003.wav: listed in metadata.csv but missing"),
    "missing poi column": (lambda r: (r / ds.METADATA).write_text(
        (r / ds.METADATA).read_text().replace("poi_worship", "poi_church")), "missing column(s) poi_worship"),
    "duplicate clip": (lambda r: _replace(r, "clip_id", "c000"), "clip_id c000 is listed twice"),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_bad_metadata_is_one_error_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_layout(tmp_path / "geo")
    breakage, message = BREAKAGES[case]
    breakage(root)
    with pytest.raises(DatasetError, match="metadata.csv|c003.wav"):
        ds.read_metadata(root)
    with pytest.raises(SystemExit) as info:
        main(["task", "geo-tagging", "train", "--data", str(root), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert info.value.code != 0
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert message in err, err


def test_generator_labels_are_exact(tmp_path: Path) -> None:
    cfg = SynthConfig(n_train=12, n_test=4, clip_seconds=1.0, max_event_s=0.4)
    summary = synth.generate(tmp_path, cfg)
    assert summary["train_clips"] == 12 and len(summary["confusable_pairs"]) == 4
    idx = ds.read_metadata(tmp_path)
    assert idx.events == synth.LABELS
    truth = json.loads((tmp_path / synth.TRUTH).read_text())
    audio = ds.load_clips(idx, list(idx.clips), 16000, 1.0)
    noise_rms = 10 ** (cfg.noise_dbfs / 20)
    for clip, x in zip(idx.clips, audio, strict=True):
        t = truth[clip.clip_id]
        names = {e["event"] for e in t["events"]}
        assert {e for e, v in zip(idx.events, clip.labels, strict=True) if v} == names
        assert cfg.min_events <= len(names) <= cfg.max_events
        np.testing.assert_allclose(np.array(clip.context) * sum(t["poi_counts"]), t["poi_counts"], atol=1e-4)
        quiet = np.ones(len(x), bool)
        for e in t["events"]:
            quiet[e["onset"]: e["offset"]] = False
            assert np.sqrt(np.mean(x[e["onset"]: e["offset"]] ** 2)) > 10 * noise_rms  # the event is there
        if quiet.sum() > 1000:  # outside the events only the background noise (16-bit rounding aside)
            assert np.sqrt(np.mean(x[quiet] ** 2)) < 2 * noise_rms


def test_context_disambiguates_events_that_sound_the_same() -> None:
    """Each pair shares one renderer (audio cannot separate it); a linear model on the noisy context
    vector tells the pair members apart, for the places the generator draws."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    by_label = {e.label: e for e in synth.CATALOGUE}
    cfg = SynthConfig()
    rng = np.random.default_rng(0)
    places = [synth.draw_place(cfg, rng) for _ in range(1500)]
    ctx = np.array([np.array(p["poi_counts"]) / sum(p["poi_counts"]) for p in places])
    hot = np.zeros((len(places), len(synth.LABELS)))
    for i, p in enumerate(places):
        hot[i, synth.draw_events(p, cfg, rng)] = 1
    for a, b in synth.confusable_pairs():
        assert by_label[a].render is by_label[b].render  # the same sound, by construction
        ia, ib = synth.LABELS.index(a), synth.LABELS.index(b)
        either = (hot[:, ia] + hot[:, ib]) == 1  # clips with exactly one member of the pair
        x, y = ctx[either], hot[either, ia]
        half = len(y) // 2
        assert half > 50 and 0 < y[:half].sum() < half  # enough of both members to fit and to score
        lr = LogisticRegression().fit(x[:half], y[:half])
        auc = roc_auc_score(y[half:], lr.predict_proba(x[half:])[:, 1])
        assert auc > 0.85, (a, b, auc)
