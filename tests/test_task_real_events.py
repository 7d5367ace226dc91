"""Real one-shots for tagging-ctc / sed-ctc: the layout writer's output is what the tasks' loader reads,
no source recording (file, or drum velocity pair) is on both sides of the train/test split, and the
pinned Sonic Pi cache refuses what it does not pin. A fixture written here always runs; the checks on
the fetched samples skip (saying why) when tools/fetch_sonic_pi.py has not run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from edgekws.audio import write_wav
from edgekws.data import sonic_pi_samples as spi
from edgekws.errors import DatasetError
from edgekws.tasks.tagging_ctc import dataset as ds
from edgekws.tasks.tagging_ctc.config import ComposeConfig
from edgekws.tasks.tagging_ctc.real import (
    SOURCES,
    RealLayoutConfig,
    source_group,
    split_sources,
    write_layout,
)

RATE = 44100


def _one_shot(freq: float, seconds: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.4 * np.sin(2 * np.pi * freq * t) * np.exp(-4 * t)).astype(np.float32)


def write_sources(root: Path) -> dict[str, list[Path]]:
    """3 classes of 44.1 kHz one-shots named like Sonic Pi's; ``tom`` holds two velocity pairs."""
    names = {"kick": ["bd_a", "bd_b", "bd_c", "bd_d"],
             "tom": ["tom_hi_hard", "tom_hi_soft", "tom_lo_hard", "tom_lo_soft", "tom_mid"],
             "blip": ["elec_a", "elec_b", "elec_c", "elec_d", "elec_e"]}
    out: dict[str, list[Path]] = {}
    for c, (label, stems) in enumerate(names.items()):
        for i, stem in enumerate(stems):
            p = root / f"{stem}.flac"
            write_wav(p, _one_shot(100 + 400 * c + 20 * i), RATE)  # write_wav is format-agnostic via soundfile
            out.setdefault(label, []).append(p)
    return out


def _check_layout(root: Path, sources: dict[str, list[Path]]) -> ds.DatasetIndex:
    """The loader reads the written layout; no source file or group is heard on both sides."""
    idx = ds.index_dataset(root, ComposeConfig())
    assert list(idx.classes) == sorted(sources) and idx.test_from == "test_csv"
    info = json.loads((root / SOURCES).read_text())["files"]
    assert set(info) == {f.rel for f in idx.files}  # every written file is indexed, none more
    side = {f.rel: "test" if f.split == "test" else "train" for f in idx.files}
    assert all(info[rel]["split"] == side[rel] for rel in info)
    for key in ("source", "group"):
        test = {info[f.rel][key] for f in idx.files if f.split == "test"}
        train = {info[f.rel][key] for f in idx.files if f.split != "test"}
        assert not test & train, f"{key}(s) on both sides: {sorted(test & train)}"
    for f in idx.files:  # the label is the source's class
        assert Path(info[f.rel]["source"]) in sources[f.label]
    return idx


def test_fixture_layout_is_read_by_the_loader_and_split_by_source(tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "src")
    root = tmp_path / "layout"
    summary = write_layout(root, sources, RealLayoutConfig())
    assert summary["train_files"] + summary["test_files"] == 14
    idx = _check_layout(root, sources)
    # the tasks' composer builds test sequences from test sources alone, with exact labels
    events = ds.load_events(idx, list(idx.files), 16000, 0.7)
    clips = ds.compose(idx.split("test"), events, idx.classes, 20, ComposeConfig(), 16000, seed=3)
    test_rels = {f.rel for f in idx.split("test")}
    label_of = {f.rel: idx.classes.index(f.label) for f in idx.files}
    for clip in clips:
        assert all(p.rel in test_rels and p.label == label_of[p.rel] for p in clip)
        assert all(p.offset - p.onset == len(events[p.rel]) for p in clip)


def test_velocity_pairs_never_straddle_the_split(tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "src")
    assert source_group(Path("drum_tom_hi_soft.flac")) == source_group(Path("drum_tom_hi_hard.flac"))
    for seed in range(12):  # per-file splitting would separate a pair for some of these seeds
        split = split_sources(sources, RealLayoutConfig(seed=seed))
        for label, sides in split.items():
            test = {source_group(p) for p in sides["test"]}
            train = {source_group(p) for p in sides["train"]}
            assert not test & train, (seed, label, sorted(test & train))
            assert sides["test"] and len(sides["train"]) >= 2


def test_too_few_sources_is_one_clear_error(tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "src")
    sources["kick"] = sources["kick"][:1]
    with pytest.raises(DatasetError, match="class 'kick'"):
        write_layout(tmp_path / "layout", sources, RealLayoutConfig())


def test_cache_refuses_an_unpinned_deb(tmp_path: Path) -> None:
    fake = tmp_path / spi.DEB
    fake.write_bytes(b"!<arch>\nnot the pinned package")
    with pytest.raises(spi.SonicPiCacheError, match="refusing to use it"):
        spi.install_from_deb(fake, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_cc0_check_reads_each_files_own_paragraph() -> None:
    """A file is CC0 only by its own paragraph: not by the next one, not by the package-wide ``Files: *``."""
    text = (b"Files: *\nCopyright: 2016 A\nLicense: MIT\n\n"
            b"Files: etc/samples/a.flac\nCopyright: 2013 B\nLicense: CC-BY-3.0\n\n"
            b"Files: etc/samples/b.flac\nCopyright: 2013 C\nLicense: CC0\n")
    assert spi.cc0_listed(text, "b.flac")
    assert not spi.cc0_listed(text, "a.flac") and not spi.cc0_listed(text, "c.flac")


def test_classes_table_is_disjoint() -> None:
    stems = [s for v in spi.CLASSES.values() for s in v]
    assert len(stems) == len(set(stems)) == 103


needs_cache = pytest.mark.skipif(not spi.is_installed(), reason="Sonic Pi samples not fetched "
                                 "(python tools/fetch_sonic_pi.py; needs apt-get and the Debian archive)")


@needs_cache
def test_fetched_samples_layout(tmp_path: Path) -> None:
    found = spi.verify()
    root = tmp_path / "real"
    summary = write_layout(root, found.files, RealLayoutConfig(), licence=spi.LICENCE_NOTE)
    assert summary["train_files"] + summary["test_files"] == 103 and len(summary["classes"]) == 8
    _check_layout(root, {c: list(p) for c, p in found.files.items()})


@needs_cache
def test_every_used_file_is_listed_cc0() -> None:
    """The cached debian/copyright lists each used file as CC0; files it does not list are refused."""
    text = (spi.verify().directory / "copyright").read_bytes()
    assert all(spi.cc0_listed(text, name) for name in spi.wanted())
    assert not spi.cc0_listed(text, "mehackit_robot1.flac") and not spi.cc0_listed(text, "glitch_perc1.flac")


@needs_cache
def test_corrupted_cache_file_is_refused(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(spi.verify().directory, copy)
    victim = copy / spi.wanted()[0]
    victim.write_bytes(victim.read_bytes()[:-1] + b"\0")
    with pytest.raises(spi.SonicPiCacheError, match=r"is corrupted \(sha256"):
        spi.verify(copy)
    # a manifest rewritten to match the changed file is caught by the pinned digest
    manifest = json.loads((copy / spi.MANIFEST).read_text())
    manifest["files"][victim.name] = hashlib.sha256(victim.read_bytes()).hexdigest()
    (copy / spi.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(spi.SonicPiCacheError, match="digest differs from the pinned one"):
        spi.verify(copy)


def test_tools_fail_in_one_line(tmp_path: Path) -> None:
    """Both tools: a missing cache is one ``error:`` line and exit status 1 (no traceback)."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    for tool, args in (("fetch_sonic_pi.py", ["--check", "--dir", str(tmp_path / "none")]),
                       ("real_events_layout.py", ["--cache", str(tmp_path / "none"), "--out", str(tmp_path / "o")])):
        proc = subprocess.run([sys.executable, str(repo / "tools" / tool), *args], capture_output=True, text=True)
        assert proc.returncode == 1, (tool, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, (tool, proc.stderr)
        assert "not installed" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_reports_name_real_one_shots_as_composed() -> None:
    """A report on the written layout says the events are real and the mixtures composed; the others unchanged."""
    from edgekws.tasks.tagging_ctc.real import data_name

    real = data_name({"data": "/d", "generated": False, "real_one_shots": True})
    assert "real one-shot recordings" in real and "the mixtures are composed here" in real
    assert data_name({"data": "/d", "generated": True, "real_one_shots": False}).startswith("generated data")
    assert data_name({"data": "/d", "generated": False}) == "the dataset at /d (FSDKaggle2018 layout)"
